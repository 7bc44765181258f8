package consortium

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
)

// Governance errors.
var (
	ErrUnknownProposal       = chain.RegisterError(205, "unknown_proposal", "no proposal has that id")
	ErrProposalClosed        = chain.RegisterError(206, "proposal_closed", "the proposal is no longer open for votes (decided or past its voting period)")
	ErrDuplicateVote         = chain.RegisterError(207, "duplicate_vote", "the member already voted on this proposal")
	ErrUnsafeValidatorChange = chain.RegisterError(208, "unsafe_validator_change", "the change would empty the validator set or leave the validators already signing with two thirds of the power or less")
	ErrMemberExists          = chain.RegisterError(209, "member_exists", "a member with that address, name, consensus key or node id exists")
	ErrInvalidProposal       = chain.RegisterError(210, "invalid_proposal", "the proposal's action is missing or malformed")
	ErrLastMember            = chain.RegisterError(211, "last_member", "the consortium cannot remove its last member")
)

// ParamVotingPeriod is the number of blocks a proposal stays open.
const ParamVotingPeriod = "consortium.voting_period_blocks"

func declareParams(ps *params.Keeper) {
	ps.Declare(params.Def{
		Key: ParamVotingPeriod, Default: 600,
		Doc: "blocks a proposal stays open for votes (600 ≈ 10 minutes at 1 s blocks)",
		Validate: func(raw json.RawMessage) error {
			var n int64
			if err := json.Unmarshal(raw, &n); err != nil || n < 1 || n > 1_000_000 {
				return fmt.Errorf("want a whole number of blocks from 1 to 1000000")
			}
			return nil
		},
	})
}

// Proposal statuses.
const (
	StatusVoting   = "voting"   // open for votes
	StatusQueued   = "queued"   // passed; a validator change waiting for its block
	StatusExecuted = "executed" // passed and applied
	StatusFailed   = "failed"   // passed, but no longer applicable when executed
	StatusRejected = "rejected" // enough no votes that it can never pass
	StatusExpired  = "expired"  // voting period ended without a decision
)

// Proposal is a governance proposal with its tally.
type Proposal struct {
	ID            uint64          `json:"id"`
	Proposer      chain.Address   `json:"proposer"`
	Title         string          `json:"title"`
	Action        []byte          `json:"action"` // canonical pb.Action
	SubmitHeight  int64           `json:"submit_height"`
	VotingEndsAt  int64           `json:"voting_ends_at"`
	Status        string          `json:"status"`
	Yes           []chain.Address `json:"yes"`
	No            []chain.Address `json:"no"`
	DecidedHeight int64           `json:"decided_height,omitempty"`
	Result        string          `json:"result,omitempty"`
}

// ProposalView is a proposal as queries show it, the action in JSON.
type ProposalView struct {
	Proposal
	Action json.RawMessage `json:"action"`
}

func (p *Proposal) view() ProposalView {
	var a pb.Action
	v := ProposalView{Proposal: *p}
	if proto.Unmarshal(p.Action, &a) == nil {
		if b, err := protojson.Marshal(&a); err == nil {
			v.Action = b
		}
	}
	return v
}

// Store layout under "consortium/" for governance:
//
//	p/<be64 id>               proposal (JSON)
//	e/<be64 end><be64 id>     open proposals by the height their voting ends
//	x/<be64 id>               passed proposals waiting to be executed
//	next                      next proposal id
//	vc                        height of the last validator-set change
//	vu/<32-byte key>          validator updates of this block (be64 power)
func be64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func proposalKey(id uint64) []byte { return append([]byte("p/"), be64(id)...) }
func endKey(end int64, id uint64) []byte {
	return append(append([]byte("e/"), be64(uint64(end))...), be64(id)...)
}
func execKey(id uint64) []byte { return append([]byte("x/"), be64(id)...) }

func (c *Module) st(ctx *module.Context) module.Store { return ctx.Store(Name + "/") }

// Proposal loads one proposal.
func (c *Module) Proposal(ctx *module.Context, id uint64) (*Proposal, error) {
	b := c.st(ctx).Get(proposalKey(id))
	if b == nil {
		return nil, chain.Wrapf(ErrUnknownProposal, "proposal %d", id)
	}
	var p Proposal
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "stored proposal %d: %v", id, err)
	}
	return &p, nil
}

// Proposals lists every proposal, oldest first.
func (c *Module) Proposals(ctx *module.Context) ([]ProposalView, error) {
	out := []ProposalView{}
	var err error
	c.st(ctx).Iterate([]byte("p/"), func(_, v []byte) bool {
		var p Proposal
		if err = json.Unmarshal(v, &p); err != nil {
			return false
		}
		out = append(out, p.view())
		return true
	})
	return out, err
}

func (c *Module) putProposal(ctx *module.Context, p *Proposal) {
	b, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("consortium: encode proposal: %v", err))
	}
	c.st(ctx).Set(proposalKey(p.ID), b)
}

// Routes are the governance messages.
func (c *Module) Routes() []module.Route {
	return []module.Route{
		module.NewRoute(validateSubmit, c.handleSubmit),
		module.NewRoute(validateVote, c.handleVote),
	}
}

const maxTitle = 200

func validateSubmit(m *pb.MsgSubmitProposal) error {
	if _, err := chain.AddressFromBytes(m.Proposer); err != nil {
		return err
	}
	if len(m.Title) > maxTitle {
		return chain.Wrapf(ErrInvalidProposal, "title has %d bytes, at most %d", len(m.Title), maxTitle)
	}
	return validateAction(m.Action)
}

// validateAction checks an action without state.
func validateAction(a *pb.Action) error {
	if a == nil || a.Action == nil {
		return chain.Wrapf(ErrInvalidProposal, "the proposal has no action")
	}
	switch x := a.Action.(type) {
	case *pb.Action_AddMember:
		if x.AddMember.GetMember() == nil {
			return chain.Wrapf(ErrInvalidProposal, "add_member without a member")
		}
		_, err := memberFromSpec(x.AddMember.Member)
		return err
	case *pb.Action_RemoveMember:
		_, err := chain.AddressFromBytes(x.RemoveMember.Address)
		return err
	case *pb.Action_SetRoles:
		if _, err := chain.AddressFromBytes(x.SetRoles.Address); err != nil {
			return err
		}
		probe := &Member{Name: "probe", Address: chain.Address{1}, Roles: x.SetRoles.Roles}
		if len(x.SetRoles.ConsensusPubKey) > 0 {
			probe.Validator = &Validator{PubKey: base64.StdEncoding.EncodeToString(x.SetRoles.ConsensusPubKey), Power: x.SetRoles.Power}
		} else if probe.HasRole(RoleValidator) {
			probe.Validator = &Validator{PubKey: base64.StdEncoding.EncodeToString(make([]byte, 32)), Power: 1}
		}
		return ValidateMember(probe)
	case *pb.Action_SetPower:
		if _, err := chain.AddressFromBytes(x.SetPower.Address); err != nil {
			return err
		}
		if x.SetPower.Power <= 0 || x.SetPower.Power > maxPower {
			return chain.Wrapf(ErrInvalidProposal, "power must be from 1 to %d (remove the validator role to remove a validator)", maxPower)
		}
	case *pb.Action_SetParam:
		if x.SetParam.Key == "" || !json.Valid([]byte(x.SetParam.Value)) {
			return chain.Wrapf(ErrInvalidProposal, "set_param needs a key and a JSON value")
		}
	case *pb.Action_SetNodeId:
		if _, err := chain.AddressFromBytes(x.SetNodeId.Address); err != nil {
			return err
		}
		if !validNodeID(x.SetNodeId.NodeId) {
			return chain.Wrapf(ErrInvalidProposal, "node id must be 40 lower-case hex characters")
		}
	default:
		return chain.Wrapf(ErrInvalidProposal, "unknown action")
	}
	return nil
}

// maxPower keeps total power far from CometBFT's limit (MaxInt64/8).
const maxPower = 1 << 40

func memberFromSpec(s *pb.MemberSpec) (*Member, error) {
	a, err := chain.AddressFromBytes(s.Address)
	if err != nil {
		return nil, err
	}
	m := &Member{Name: s.Name, Address: a, Roles: append([]string(nil), s.Roles...), NodeID: s.NodeId}
	if len(s.ConsensusPubKey) > 0 || s.Power != 0 {
		if len(s.ConsensusPubKey) != 32 {
			return nil, chain.Wrapf(ErrInvalidMember, "consensus key must be 32 bytes of ed25519, got %d", len(s.ConsensusPubKey))
		}
		if s.Power > maxPower {
			return nil, chain.Wrapf(ErrInvalidMember, "power above %d", maxPower)
		}
		m.Validator = &Validator{PubKey: base64.StdEncoding.EncodeToString(s.ConsensusPubKey), Power: s.Power}
	}
	if err := ValidateMember(m); err != nil {
		return nil, err
	}
	return m, nil
}

func (c *Module) handleSubmit(ctx *module.Context, m *pb.MsgSubmitProposal) error {
	proposer, _ := chain.AddressFromBytes(m.Proposer)
	if !ctx.SignedBy(proposer) {
		return chain.Wrapf(chain.ErrUnauthorized, "proposal must be signed by the proposer %s", proposer)
	}
	if _, err := c.Member(ctx, proposer); err != nil {
		return err
	}
	// Check now what can be checked against today's state, so that a
	// proposal that could not apply is refused with its reason up front.
	if _, _, err := c.plan(ctx, m.Action); err != nil {
		return err
	}
	var period int64
	if err := c.params.Get(ctx, ParamVotingPeriod, &period); err != nil {
		return err
	}
	st := c.st(ctx)
	id := uint64(1)
	if b := st.Get([]byte("next")); len(b) == 8 {
		id = binary.BigEndian.Uint64(b)
	}
	st.Set([]byte("next"), be64(id+1))
	action, err := chain.Marshal(m.Action)
	if err != nil {
		return chain.Wrapf(chain.ErrInternal, "encode action: %v", err)
	}
	p := &Proposal{ID: id, Proposer: proposer, Title: m.Title, Action: action,
		SubmitHeight: ctx.Height, VotingEndsAt: ctx.Height + period, Status: StatusVoting}
	st.Set(endKey(p.VotingEndsAt, id), nil)
	ctx.Emit("proposal_submitted",
		module.Attr{Key: "id", Value: fmt.Sprint(id)},
		module.Attr{Key: "proposer", Value: proposer.String()},
		module.Attr{Key: "voting_ends_at", Value: fmt.Sprint(p.VotingEndsAt)})
	ctx.Emit("created", module.Attr{Key: "id", Value: fmt.Sprint(id)})
	return c.castVote(ctx, p, proposer, true)
}

func validateVote(m *pb.MsgVote) error {
	if _, err := chain.AddressFromBytes(m.Voter); err != nil {
		return err
	}
	if m.ProposalId == 0 {
		return chain.Wrapf(ErrUnknownProposal, "proposal ids start at 1")
	}
	return nil
}

func (c *Module) handleVote(ctx *module.Context, m *pb.MsgVote) error {
	voter, _ := chain.AddressFromBytes(m.Voter)
	if !ctx.SignedBy(voter) {
		return chain.Wrapf(chain.ErrUnauthorized, "vote must be signed by the voter %s", voter)
	}
	if _, err := c.Member(ctx, voter); err != nil {
		return err
	}
	p, err := c.Proposal(ctx, m.ProposalId)
	if err != nil {
		return err
	}
	if p.Status != StatusVoting || ctx.Height > p.VotingEndsAt {
		return chain.Wrapf(ErrProposalClosed, "proposal %d is %s (voting ended at height %d)", p.ID, p.Status, p.VotingEndsAt)
	}
	for _, v := range append(append([]chain.Address(nil), p.Yes...), p.No...) {
		if v == voter {
			return chain.Wrapf(ErrDuplicateVote, "%s already voted on proposal %d", voter, p.ID)
		}
	}
	return c.castVote(ctx, p, voter, m.Yes)
}

// castVote records a vote and decides the proposal when the tally allows.
func (c *Module) castVote(ctx *module.Context, p *Proposal, voter chain.Address, yes bool) error {
	if yes {
		p.Yes = append(p.Yes, voter)
	} else {
		p.No = append(p.No, voter)
	}
	ctx.Emit("vote",
		module.Attr{Key: "proposal", Value: fmt.Sprint(p.ID)},
		module.Attr{Key: "voter", Value: voter.String()},
		module.Attr{Key: "yes", Value: fmt.Sprint(yes)})
	members, err := c.Members(ctx)
	if err != nil {
		return err
	}
	c.decide(ctx, p, members)
	c.putProposal(ctx, p)
	return nil
}

// decide closes a proposal if its tally allows: more than two thirds of the
// current members by count pass it; once the no votes make that impossible
// it is rejected. Votes of members removed since they voted no longer count.
func (c *Module) decide(ctx *module.Context, p *Proposal, members []Member) {
	n := len(members)
	yesCount, noCount := countMembers(p.Yes, members), countMembers(p.No, members)
	switch {
	case 3*yesCount > 2*n:
		p.Status, p.DecidedHeight = StatusQueued, ctx.Height
		c.st(ctx).Delete(endKey(p.VotingEndsAt, p.ID))
		c.st(ctx).Set(execKey(p.ID), nil)
		ctx.Emit("proposal_passed", module.Attr{Key: "id", Value: fmt.Sprint(p.ID)})
	case 3*noCount >= n:
		p.Status, p.DecidedHeight = StatusRejected, ctx.Height
		c.st(ctx).Delete(endKey(p.VotingEndsAt, p.ID))
		ctx.Emit("proposal_rejected", module.Attr{Key: "id", Value: fmt.Sprint(p.ID)})
	}
}

func changesMembership(a *pb.Action) bool {
	switch a.Action.(type) {
	case *pb.Action_AddMember, *pb.Action_RemoveMember:
		return true
	}
	return false
}

// retally decides again every open proposal after the member count changed:
// removing a member who had not voted can make a proposal pass (or fail)
// without any new vote. Newly passed proposals execute from the next block.
func (c *Module) retally(ctx *module.Context) error {
	var open []uint64
	c.st(ctx).Iterate([]byte("e/"), func(k, _ []byte) bool {
		open = append(open, binary.BigEndian.Uint64(k[10:]))
		return true
	})
	members, err := c.Members(ctx)
	if err != nil {
		return err
	}
	for _, id := range open {
		p, err := c.Proposal(ctx, id)
		if err != nil {
			return err
		}
		c.decide(ctx, p, members)
		c.putProposal(ctx, p)
	}
	return nil
}

func countMembers(votes []chain.Address, members []Member) int {
	n := 0
	for _, v := range votes {
		for _, m := range members {
			if m.Address == v {
				n++
				break
			}
		}
	}
	return n
}

// EndBlock expires proposals whose voting period ended and executes passed
// ones. At most one validator-set change is applied per two blocks, so that
// each is checked against the set CometBFT actually runs (updates take
// effect at H+2); the others stay queued, in order.
func (c *Module) EndBlock(ctx *module.Context) error {
	st := c.st(ctx)
	var expired []uint64
	st.Iterate([]byte("e/"), func(k, _ []byte) bool {
		if int64(binary.BigEndian.Uint64(k[2:10])) > ctx.Height {
			return false
		}
		expired = append(expired, binary.BigEndian.Uint64(k[10:]))
		return true
	})
	for _, id := range expired {
		p, err := c.Proposal(ctx, id)
		if err != nil {
			return err
		}
		st.Delete(endKey(p.VotingEndsAt, id))
		p.Status, p.DecidedHeight = StatusExpired, ctx.Height
		c.putProposal(ctx, p)
		ctx.Emit("proposal_expired", module.Attr{Key: "id", Value: fmt.Sprint(id)})
	}

	var queued []uint64
	st.Iterate([]byte("x/"), func(k, _ []byte) bool {
		queued = append(queued, binary.BigEndian.Uint64(k[2:]))
		return true
	})
	for _, id := range queued {
		p, err := c.Proposal(ctx, id)
		if err != nil {
			return err
		}
		var a pb.Action
		if err := chain.UnmarshalCanonical(p.Action, &a); err != nil {
			return fmt.Errorf("stored action of proposal %d: %w", id, err)
		}
		apply, changesValidators, err := c.plan(ctx, &a)
		if err == nil && changesValidators && !c.validatorChangeAllowed(ctx) {
			continue // wait for the previous change to take effect
		}
		st.Delete(execKey(id))
		if err == nil {
			err = apply()
		}
		if err != nil {
			p.Status, p.Result = StatusFailed, err.Error()
		} else {
			p.Status, p.Result = StatusExecuted, "applied"
			if changesValidators {
				st.Set([]byte("vc"), be64(uint64(ctx.Height)))
			}
		}
		p.DecidedHeight = ctx.Height
		c.putProposal(ctx, p)
		if err == nil && changesMembership(&a) {
			if err := c.retally(ctx); err != nil {
				return err
			}
		}
		ctx.Emit("proposal_executed",
			module.Attr{Key: "id", Value: fmt.Sprint(id)},
			module.Attr{Key: "status", Value: p.Status},
			module.Attr{Key: "result", Value: p.Result})
	}
	return nil
}

func (c *Module) validatorChangeAllowed(ctx *module.Context) bool {
	b := c.st(ctx).Get([]byte("vc"))
	if len(b) != 8 {
		return true
	}
	return ctx.Height >= int64(binary.BigEndian.Uint64(b))+2
}

// ValidatorUpdates returns and clears the validator updates of this block,
// ordered by key.
func (c *Module) ValidatorUpdates(ctx *module.Context) ([]module.ValidatorUpdate, error) {
	st := c.st(ctx)
	var out []module.ValidatorUpdate
	var keys [][]byte
	st.Iterate([]byte("vu/"), func(k, v []byte) bool {
		out = append(out, module.ValidatorUpdate{PubKey: append([]byte(nil), k[3:]...), Power: int64(binary.BigEndian.Uint64(v))})
		keys = append(keys, append([]byte(nil), k...))
		return true
	})
	for _, k := range keys {
		st.Delete(k)
	}
	return out, nil
}

func (c *Module) queueValidatorUpdate(ctx *module.Context, v *Validator, power int64) {
	k, _ := base64.StdEncoding.DecodeString(v.PubKey) // validated when stored
	c.st(ctx).Set(append([]byte("vu/"), k...), be64(uint64(power)))
	ctx.Emit("validator_update",
		module.Attr{Key: "pub_key", Value: v.PubKey},
		module.Attr{Key: "power", Value: fmt.Sprint(power)})
}

// plan checks an action against the current state and returns the function
// that applies it, and whether it changes the validator set.
func (c *Module) plan(ctx *module.Context, a *pb.Action) (func() error, bool, error) {
	members, err := c.Members(ctx)
	if err != nil {
		return nil, false, err
	}
	find := func(b []byte) (*Member, error) {
		addr, err := chain.AddressFromBytes(b)
		if err != nil {
			return nil, err
		}
		for i := range members {
			if members[i].Address == addr {
				return &members[i], nil
			}
		}
		return nil, chain.Wrapf(ErrNotMember, "%s", addr)
	}
	switch x := a.Action.(type) {
	case *pb.Action_AddMember:
		m, err := memberFromSpec(x.AddMember.Member)
		if err != nil {
			return nil, false, err
		}
		for _, o := range members {
			switch {
			case o.Address == m.Address:
				return nil, false, chain.Wrapf(ErrMemberExists, "%s is already member %s", m.Address, o.Name)
			case o.Name == m.Name:
				return nil, false, chain.Wrapf(ErrMemberExists, "name %s is taken", m.Name)
			case m.NodeID != "" && o.NodeID == m.NodeID:
				return nil, false, chain.Wrapf(ErrMemberExists, "node id %s belongs to %s", m.NodeID, o.Name)
			case m.Validator != nil && o.Validator != nil && o.Validator.PubKey == m.Validator.PubKey:
				return nil, false, chain.Wrapf(ErrMemberExists, "consensus key belongs to %s", o.Name)
			}
		}
		if m.Validator != nil {
			if err := checkValidatorChange(members, "", m.Validator.PubKey, m.Validator.Power); err != nil {
				return nil, false, err
			}
		}
		return func() error {
			putMember(ctx, m)
			if m.Validator != nil {
				c.queueValidatorUpdate(ctx, m.Validator, m.Validator.Power)
			}
			ctx.Emit("member_added", module.Attr{Key: "address", Value: m.Address.String()}, module.Attr{Key: "name", Value: m.Name})
			return nil
		}, m.Validator != nil, nil

	case *pb.Action_RemoveMember:
		m, err := find(x.RemoveMember.Address)
		if err != nil {
			return nil, false, err
		}
		if len(members) == 1 {
			return nil, false, chain.Wrapf(ErrLastMember, "%s is the only member", m.Name)
		}
		if m.Validator != nil {
			if err := checkValidatorChange(members, m.Validator.PubKey, m.Validator.PubKey, 0); err != nil {
				return nil, false, err
			}
		}
		return func() error {
			deleteMember(ctx, m)
			if m.Validator != nil {
				c.queueValidatorUpdate(ctx, m.Validator, 0)
			}
			ctx.Emit("member_removed", module.Attr{Key: "address", Value: m.Address.String()}, module.Attr{Key: "name", Value: m.Name})
			return nil
		}, m.Validator != nil, nil

	case *pb.Action_SetRoles:
		m, err := find(x.SetRoles.Address)
		if err != nil {
			return nil, false, err
		}
		n := *m
		n.Roles = append([]string(nil), x.SetRoles.Roles...)
		wasValidator := m.Validator != nil
		if wasValidator && len(x.SetRoles.ConsensusPubKey) > 0 {
			return nil, false, chain.Wrapf(ErrInvalidProposal, "%s is already a validator: change its power with set_power", m.Name)
		}
		switch {
		case n.HasRole(RoleValidator) && !wasValidator:
			if len(x.SetRoles.ConsensusPubKey) != 32 || x.SetRoles.Power <= 0 {
				return nil, false, chain.Wrapf(ErrInvalidProposal, "giving the validator role needs a 32-byte consensus key and a positive power")
			}
			n.Validator = &Validator{PubKey: base64.StdEncoding.EncodeToString(x.SetRoles.ConsensusPubKey), Power: x.SetRoles.Power}
			for _, o := range members {
				if o.Validator != nil && o.Validator.PubKey == n.Validator.PubKey {
					return nil, false, chain.Wrapf(ErrMemberExists, "consensus key belongs to %s", o.Name)
				}
			}
			if err := checkValidatorChange(members, "", n.Validator.PubKey, n.Validator.Power); err != nil {
				return nil, false, err
			}
		case !n.HasRole(RoleValidator) && wasValidator:
			n.Validator = nil
			if err := checkValidatorChange(members, m.Validator.PubKey, m.Validator.PubKey, 0); err != nil {
				return nil, false, err
			}
		}
		if err := ValidateMember(&n); err != nil {
			return nil, false, err
		}
		changes := (n.Validator != nil) != wasValidator
		return func() error {
			putMember(ctx, &n)
			switch {
			case n.Validator != nil && !wasValidator:
				c.queueValidatorUpdate(ctx, n.Validator, n.Validator.Power)
			case n.Validator == nil && wasValidator:
				c.queueValidatorUpdate(ctx, m.Validator, 0)
			}
			ctx.Emit("member_roles", module.Attr{Key: "address", Value: n.Address.String()})
			return nil
		}, changes, nil

	case *pb.Action_SetPower:
		m, err := find(x.SetPower.Address)
		if err != nil {
			return nil, false, err
		}
		if m.Validator == nil {
			return nil, false, chain.Wrapf(ErrMissingRole, "%s is not a validator", m.Name)
		}
		if err := checkValidatorChange(members, m.Validator.PubKey, m.Validator.PubKey, x.SetPower.Power); err != nil {
			return nil, false, err
		}
		return func() error {
			n := *m
			v := *m.Validator
			v.Power = x.SetPower.Power
			n.Validator = &v
			putMember(ctx, &n)
			c.queueValidatorUpdate(ctx, &v, v.Power)
			return nil
		}, true, nil

	case *pb.Action_SetParam:
		if err := c.params.Validate(x.SetParam.Key, json.RawMessage(x.SetParam.Value)); err != nil {
			return nil, false, err
		}
		return func() error {
			return c.params.Set(ctx, x.SetParam.Key, json.RawMessage(x.SetParam.Value))
		}, false, nil

	case *pb.Action_SetNodeId:
		m, err := find(x.SetNodeId.Address)
		if err != nil {
			return nil, false, err
		}
		for _, o := range members {
			if o.NodeID == x.SetNodeId.NodeId && o.Address != m.Address {
				return nil, false, chain.Wrapf(ErrMemberExists, "node id %s belongs to %s", o.NodeID, o.Name)
			}
		}
		return func() error {
			deleteMember(ctx, m)
			n := *m
			n.NodeID = x.SetNodeId.NodeId
			putMember(ctx, &n)
			return nil
		}, false, nil
	}
	return nil, false, chain.Wrapf(ErrInvalidProposal, "unknown action")
}

// checkValidatorChange refuses a change that empties the validator set or
// that would leave the validators already signing with two thirds of the new
// total power or less: the chain would stall until the new validator, which
// may not run yet, comes online. The change sets key's power to newPower
// (0 removes); old is the key's previous entry ("" for a new validator).
func checkValidatorChange(members []Member, old, key string, newPower int64) error {
	var total, online int64
	for _, m := range members {
		if m.Validator == nil || m.Validator.PubKey == key || m.Validator.PubKey == old {
			continue
		}
		total += m.Validator.Power
		online += m.Validator.Power
	}
	oldPower := int64(0)
	if old != "" {
		for _, m := range members {
			if m.Validator != nil && m.Validator.PubKey == old {
				oldPower = m.Validator.Power
			}
		}
	}
	total += newPower
	online += min(oldPower, newPower)
	if total == 0 {
		return chain.Wrapf(ErrUnsafeValidatorChange, "the change would leave no validator")
	}
	if 3*online <= 2*total {
		return chain.Wrapf(ErrUnsafeValidatorChange,
			"after the change the validators already signing would hold %d of %d power, not more than two thirds", online, total)
	}
	return nil
}
