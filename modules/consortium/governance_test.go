package consortium

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
)

// gov is a consortium of n validator members (power 10 each) driven block
// by block like the app does: messages through the routes, then EndBlock
// and ValidatorUpdates.
type gov struct {
	t      *testing.T
	m      *Module
	ps     *params.Keeper
	store  *module.MemStore
	height int64
	keys   []chain.PrivKey
	// updates collects what ValidatorUpdates returned, by height.
	updates map[int64][]module.ValidatorUpdate
}

func consensusKey(i int) []byte {
	k := make([]byte, 32)
	k[0], k[31] = byte(i), 0xee
	return k
}

func newGov(t *testing.T, n int) *gov {
	g := &gov{t: t, ps: params.New(), store: module.NewMemStore(), height: 1, updates: map[int64][]module.ValidatorUpdate{}}
	g.m = New(g.ps)
	var members []Member
	for i := 0; i < n; i++ {
		seed := make([]byte, 32)
		seed[0] = byte(i + 1)
		k, _ := chain.PrivKeyFromBytes(chain.KeyEd25519, seed)
		g.keys = append(g.keys, k)
		members = append(members, Member{Name: fmt.Sprintf("m%d", i), Address: k.PubKey().Address(),
			Roles:     []string{RoleValidator},
			Validator: &Validator{PubKey: base64.StdEncoding.EncodeToString(consensusKey(i)), Power: 10},
			NodeID:    fmt.Sprintf("%040x", i+1)})
	}
	raw, _ := json.Marshal(Genesis{Members: members})
	if err := g.m.InitGenesis(g.ctx(), raw); err != nil {
		t.Fatal(err)
	}
	return g
}

func (g *gov) ctx(signers ...chain.PrivKey) *module.Context {
	var pks []chain.PubKey
	for _, s := range signers {
		pks = append(pks, s.PubKey())
	}
	return module.NewContext("test", g.height, time.Unix(g.height, 0), g.store, pks, nil)
}

func (g *gov) deliver(signer chain.PrivKey, msg any) error {
	for _, r := range g.m.Routes() {
		var raw []byte
		switch m := msg.(type) {
		case *pb.MsgSubmitProposal:
			if r.Type != chain.MsgType(m) {
				continue
			}
			raw, _ = chain.Marshal(m)
		case *pb.MsgVote:
			if r.Type != chain.MsgType(m) {
				continue
			}
			raw, _ = chain.Marshal(m)
		}
		decoded, err := r.Decode(raw)
		if err != nil {
			return err
		}
		return r.Handle(g.ctx(signer), decoded)
	}
	g.t.Fatalf("no route for %T", msg)
	return nil
}

// endBlock finishes the current block and starts the next.
func (g *gov) endBlock() {
	ctx := g.ctx()
	if err := g.m.EndBlock(ctx); err != nil {
		g.t.Fatal(err)
	}
	vus, err := g.m.ValidatorUpdates(ctx)
	if err != nil {
		g.t.Fatal(err)
	}
	if len(vus) > 0 {
		g.updates[g.height] = vus
	}
	g.height++
}

func (g *gov) addr(i int) []byte { a := g.keys[i].PubKey().Address(); return a[:] }

func (g *gov) propose(i int, a *pb.Action) (uint64, error) {
	next := uint64(1)
	if ps, _ := g.m.Proposals(g.ctx()); len(ps) > 0 {
		next = ps[len(ps)-1].ID + 1
	}
	err := g.deliver(g.keys[i], &pb.MsgSubmitProposal{Proposer: g.addr(i), Title: "t", Action: a})
	return next, err
}

func (g *gov) vote(i int, id uint64, yes bool) error {
	return g.deliver(g.keys[i], &pb.MsgVote{Voter: g.addr(i), ProposalId: id, Yes: yes})
}

func (g *gov) status(id uint64) string {
	p, err := g.m.Proposal(g.ctx(), id)
	if err != nil {
		g.t.Fatal(err)
	}
	return p.Status
}

func newMemberAction(i int, power int64) *pb.Action {
	seed := make([]byte, 32)
	seed[0] = byte(100 + i)
	k, _ := chain.PrivKeyFromBytes(chain.KeyEd25519, seed)
	a := k.PubKey().Address()
	return &pb.Action{Action: &pb.Action_AddMember{AddMember: &pb.AddMember{Member: &pb.MemberSpec{
		Name: fmt.Sprintf("new%d", i), Address: a[:], Roles: []string{RoleValidator},
		ConsensusPubKey: consensusKey(100 + i), Power: power, NodeId: fmt.Sprintf("%040x", 100+i)}}}}
}

func TestAddValidatorByTwoThirdsVote(t *testing.T) {
	g := newGov(t, 4)
	id, err := g.propose(0, newMemberAction(1, 10))
	if err != nil {
		t.Fatal(err)
	}
	// 1 (proposer) and 2 of 4 yes is not more than two thirds.
	if err := g.vote(1, id, true); err != nil {
		t.Fatal(err)
	}
	if s := g.status(id); s != StatusVoting {
		t.Fatalf("status %s after 2 of 4 yes", s)
	}
	if err := g.vote(2, id, true); err != nil {
		t.Fatal(err)
	}
	if s := g.status(id); s != StatusQueued {
		t.Fatalf("status %s after 3 of 4 yes, want queued", s)
	}
	g.endBlock()
	if s := g.status(id); s != StatusExecuted {
		t.Fatalf("status %s after end of block, want executed", s)
	}
	vus := g.updates[g.height-1]
	if len(vus) != 1 || vus[0].Power != 10 || string(vus[0].PubKey) != string(consensusKey(101)) {
		t.Fatalf("validator updates %+v", vus)
	}
	vals, _ := g.m.Validators(g.ctx())
	if len(vals) != 5 {
		t.Errorf("%d validators, want 5", len(vals))
	}
	if !g.m.AllowsPeer(g.ctx(), fmt.Sprintf("%040x", 101)) {
		t.Error("the new member's node is not accepted as a peer")
	}
	// A late vote on a decided proposal is refused.
	if err := g.vote(3, id, true); !errors.Is(err, ErrProposalClosed) {
		t.Errorf("vote on decided proposal: %v", err)
	}
}

func TestRemoveMemberStopsCountingAndPeering(t *testing.T) {
	g := newGov(t, 4)
	victim := g.addr(3)
	id, _ := g.propose(0, &pb.Action{Action: &pb.Action_RemoveMember{RemoveMember: &pb.RemoveMember{Address: victim}}})
	g.vote(1, id, true)
	g.vote(2, id, true)
	g.endBlock()
	if s := g.status(id); s != StatusExecuted {
		t.Fatalf("status %s", s)
	}
	vus := g.updates[g.height-1]
	if len(vus) != 1 || vus[0].Power != 0 {
		t.Fatalf("want one power-0 update, got %+v", vus)
	}
	// The removed validator still signs until CometBFT applies its
	// removal (H+2), so its node stays a peer until then.
	removedAt := g.height - 1
	if !g.m.AllowsPeer(g.ctx(), fmt.Sprintf("%040x", 4)) {
		t.Error("removed validator's node cut off before its removal takes effect")
	}
	for g.height <= removedAt+2 {
		g.endBlock()
	}
	if g.m.AllowsPeer(g.ctx(), fmt.Sprintf("%040x", 4)) {
		t.Error("removed member's node still accepted after its removal took effect")
	}
	// With 3 members, 2 yes votes are not enough (2*3 = 6 is not > 6)...
	id2, _ := g.propose(0, &pb.Action{Action: &pb.Action_SetParam{SetParam: &pb.SetParam{Key: ParamVotingPeriod, Value: "50"}}})
	if s := g.status(id2); s != StatusVoting {
		t.Fatalf("1 of 3: %s", s)
	}
	g.vote(1, id2, true)
	if s := g.status(id2); s != StatusVoting {
		t.Fatalf("2 of 3 passed: %s", s)
	}
	// ...and the removed member can no longer vote.
	if err := g.deliver(g.keys[3], &pb.MsgVote{Voter: victim, ProposalId: id2, Yes: true}); !errors.Is(err, ErrNotMember) {
		t.Errorf("vote by removed member: %v", err)
	}
	g.vote(2, id2, true)
	g.endBlock()
	var period int64
	g.ps.Get(g.ctx(), ParamVotingPeriod, &period)
	if period != 50 {
		t.Errorf("voting period %d after the param change, want 50", period)
	}
}

func TestRejectionExpiryAndBadInput(t *testing.T) {
	g := newGov(t, 4)
	outsider, _ := chain.PrivKeyFromBytes(chain.KeyEd25519, make([]byte, 32))
	oa := outsider.PubKey().Address()
	id, _ := g.propose(0, newMemberAction(1, 1))

	cases := []struct {
		name   string
		signer chain.PrivKey
		msg    any
		want   error
	}{
		{"duplicate vote", g.keys[0], &pb.MsgVote{Voter: g.addr(0), ProposalId: id, Yes: true}, ErrDuplicateVote},
		{"unknown proposal", g.keys[1], &pb.MsgVote{Voter: g.addr(1), ProposalId: 99, Yes: true}, ErrUnknownProposal},
		{"proposal id 0", g.keys[1], &pb.MsgVote{Voter: g.addr(1), ProposalId: 0, Yes: true}, ErrUnknownProposal},
		{"non-member votes", outsider, &pb.MsgVote{Voter: oa[:], ProposalId: id, Yes: true}, ErrNotMember},
		{"vote for someone else", g.keys[1], &pb.MsgVote{Voter: g.addr(2), ProposalId: id, Yes: true}, chain.ErrUnauthorized},
		{"non-member proposes", outsider, &pb.MsgSubmitProposal{Proposer: oa[:], Action: newMemberAction(2, 1)}, ErrNotMember},
		{"no action", g.keys[0], &pb.MsgSubmitProposal{Proposer: g.addr(0)}, ErrInvalidProposal},
		{"malformed consensus key", g.keys[0], &pb.MsgSubmitProposal{Proposer: g.addr(0), Action: &pb.Action{Action: &pb.Action_AddMember{AddMember: &pb.AddMember{Member: &pb.MemberSpec{
			Name: "x", Address: oa[:], Roles: []string{RoleValidator}, ConsensusPubKey: []byte{1, 2, 3}, Power: 1}}}}}, ErrInvalidMember},
		{"unknown member removed", g.keys[0], &pb.MsgSubmitProposal{Proposer: g.addr(0), Action: &pb.Action{Action: &pb.Action_RemoveMember{RemoveMember: &pb.RemoveMember{Address: oa[:]}}}}, ErrNotMember},
		{"existing member added", g.keys[0], &pb.MsgSubmitProposal{Proposer: g.addr(0), Action: &pb.Action{Action: &pb.Action_AddMember{AddMember: &pb.AddMember{Member: &pb.MemberSpec{
			Name: "dup", Address: g.addr(1), Roles: []string{RoleAcquirer}}}}}}, ErrMemberExists},
		{"validator too strong to add", g.keys[0], &pb.MsgSubmitProposal{Proposer: g.addr(0), Action: newMemberAction(3, 20)}, ErrUnsafeValidatorChange},
		{"unknown param", g.keys[0], &pb.MsgSubmitProposal{Proposer: g.addr(0), Action: &pb.Action{Action: &pb.Action_SetParam{SetParam: &pb.SetParam{Key: "nope.x", Value: "1"}}}}, params.ErrInvalidParam},
		{"param out of range", g.keys[0], &pb.MsgSubmitProposal{Proposer: g.addr(0), Action: &pb.Action{Action: &pb.Action_SetParam{SetParam: &pb.SetParam{Key: ParamVotingPeriod, Value: "0"}}}}, params.ErrInvalidParam},
		{"consensus key for an existing validator", g.keys[0], &pb.MsgSubmitProposal{Proposer: g.addr(0), Action: &pb.Action{Action: &pb.Action_SetRoles{SetRoles: &pb.SetRoles{
			Address: g.addr(1), Roles: []string{RoleValidator, RoleAcquirer}, ConsensusPubKey: consensusKey(50), Power: 5}}}}, ErrInvalidProposal},
		{"zero power", g.keys[0], &pb.MsgSubmitProposal{Proposer: g.addr(0), Action: &pb.Action{Action: &pb.Action_SetPower{SetPower: &pb.SetPower{Address: g.addr(1), Power: 0}}}}, ErrInvalidProposal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshotStore(g.store)
			err := g.deliver(tc.signer, tc.msg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			// The handlers fail before writing; the app also discards a
			// failed tx's writes, but the module should not rely on it.
			if snapshotStore(g.store) != before {
				t.Error("rejected message changed state")
			}
		})
	}

	// Two no votes of four make passing impossible: rejected at once.
	g.vote(1, id, false)
	if s := g.status(id); s != StatusVoting {
		t.Fatalf("one no: %s", s)
	}
	g.vote(2, id, false)
	if s := g.status(id); s != StatusRejected {
		t.Fatalf("two no of four: %s, want rejected", s)
	}

	// A proposal nobody else votes on expires after the voting period.
	id2, _ := g.propose(0, newMemberAction(4, 1))
	for i := 0; i <= 600; i++ {
		g.endBlock()
	}
	if s := g.status(id2); s != StatusExpired {
		t.Fatalf("after the period: %s, want expired", s)
	}
	if err := g.vote(1, id2, true); !errors.Is(err, ErrProposalClosed) {
		t.Errorf("vote after the period: %v", err)
	}
}

func snapshotStore(s *module.MemStore) string {
	out := ""
	s.Iterate(nil, func(k, v []byte) bool { out += string(k) + "=" + string(v) + ";"; return true })
	return out
}

func TestLastValidatorCannotBeRemoved(t *testing.T) {
	g := newGov(t, 1)
	// A second, non-validator member so that removal is not "last member".
	id, _ := g.propose(0, &pb.Action{Action: &pb.Action_AddMember{AddMember: &pb.AddMember{Member: &pb.MemberSpec{
		Name: "acq", Address: func() []byte { a := chain.Address{9}; return a[:] }(), Roles: []string{RoleAcquirer}}}}})
	g.endBlock()
	if s := g.status(id); s != StatusExecuted {
		t.Fatalf("add acquirer: %s", s)
	}
	_, err := g.propose(0, &pb.Action{Action: &pb.Action_RemoveMember{RemoveMember: &pb.RemoveMember{Address: g.addr(0)}}})
	if !errors.Is(err, ErrUnsafeValidatorChange) {
		t.Fatalf("removing the only validator: %v", err)
	}
	_, err = g.propose(0, &pb.Action{Action: &pb.Action_SetRoles{SetRoles: &pb.SetRoles{Address: g.addr(0), Roles: []string{RoleAcquirer}}}})
	if !errors.Is(err, ErrUnsafeValidatorChange) {
		t.Fatalf("dropping the only validator's role: %v", err)
	}
}

// TestValidatorChangesArePaced: two validator changes passed in one block
// apply two blocks apart, each checked against the set CometBFT runs.
func TestValidatorChangesArePaced(t *testing.T) {
	g := newGov(t, 4)
	a, _ := g.propose(0, newMemberAction(1, 10))
	b, _ := g.propose(0, newMemberAction(2, 10))
	for _, id := range []uint64{a, b} {
		g.vote(1, id, true)
		g.vote(2, id, true)
	}
	start := g.height
	g.endBlock()
	if g.status(a) != StatusExecuted || g.status(b) != StatusQueued {
		t.Fatalf("after one block: %s, %s", g.status(a), g.status(b))
	}
	g.endBlock()
	if g.status(b) != StatusQueued {
		t.Fatalf("second change applied one block after the first")
	}
	g.endBlock()
	if g.status(b) != StatusExecuted {
		t.Fatalf("second change not applied two blocks later: %s", g.status(b))
	}
	if len(g.updates[start]) != 1 || len(g.updates[start+2]) != 1 || len(g.updates[start+1]) != 0 {
		t.Errorf("updates by height: %v", g.updates)
	}
}

func TestCheckValidatorChange(t *testing.T) {
	four := func() []Member {
		var ms []Member
		for i := 0; i < 4; i++ {
			ms = append(ms, Member{Validator: &Validator{PubKey: fmt.Sprint(i), Power: 10}})
		}
		return ms
	}
	cases := []struct {
		name     string
		old, key string
		power    int64
		ok       bool
	}{
		{"add 19 to 40", "", "new", 19, true},
		{"add 20 to 40", "", "new", 20, false},
		{"remove one of four", "0", "0", 0, true},
		{"raise one by 19", "0", "0", 29, true},
		{"raise one by 20", "0", "0", 30, false},
		{"lower one", "0", "0", 1, true},
	}
	for _, tc := range cases {
		err := checkValidatorChange(four(), tc.old, tc.key, tc.power)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if err := checkValidatorChange(four()[:1], "0", "0", 0); !errors.Is(err, ErrUnsafeValidatorChange) {
		t.Errorf("removing the last: %v", err)
	}
}

// TestRemovalRetalliesOpenProposals: removing a member who had not voted
// passes a proposal that now has more than two thirds of the members.
func TestRemovalRetalliesOpenProposals(t *testing.T) {
	g := newGov(t, 5)
	p1, _ := g.propose(0, &pb.Action{Action: &pb.Action_SetParam{SetParam: &pb.SetParam{Key: ParamVotingPeriod, Value: "77"}}})
	g.vote(1, p1, true)
	g.vote(2, p1, true) // 3 of 5: not enough
	p2, _ := g.propose(0, &pb.Action{Action: &pb.Action_RemoveMember{RemoveMember: &pb.RemoveMember{Address: g.addr(4)}}})
	for i := 1; i <= 3; i++ {
		g.vote(i, p2, true)
	}
	g.endBlock() // removes member 4: now 3 of 4 voted yes on p1
	if s := g.status(p1); s != StatusQueued {
		t.Fatalf("p1 after the removal: %s, want queued", s)
	}
	g.endBlock()
	var period int64
	g.ps.Get(g.ctx(), ParamVotingPeriod, &period)
	if g.status(p1) != StatusExecuted || period != 77 {
		t.Fatalf("p1 %s, period %d", g.status(p1), period)
	}
}
