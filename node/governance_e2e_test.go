package node_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/cometbft/cometbft/privval"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/params"
	"github.com/amp-ledger/amp/node/client"
	"github.com/amp-ledger/amp/node/home"
)

// TestGovernance drives the consortium's governance through node/client on
// the dev chain, whose only member is issuer.
func TestGovernance(t *testing.T) {
	dir, n := devNode(t)
	c, kr := homeClient(t, dir, n)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	issuer, _ := kr.Get(home.DevIssuer)
	alice, _ := kr.Get("alice")
	bob, _ := kr.Get("bob")

	// A parameter change by the only member passes at once (1 of 1) and
	// executes at the end of its block.
	p, err := c.Param(ctx, consortium.ParamVotingPeriod)
	if err != nil || string(p.Value) != "600" {
		t.Fatalf("default voting period: %+v %v", p, err)
	}
	id, res, err := c.Propose(ctx, issuer.PrivKey(), "shorter votes", client.SetParamAction(consortium.ParamVotingPeriod, "100"))
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	if created, _ := res.CreatedID(); id != 1 || created != "1" {
		t.Fatalf("proposal id %d, created %q", id, created)
	}
	if _, ok := res.Attr("proposal_passed", "id"); !ok {
		t.Fatalf("1 of 1 did not pass in the tx: %+v", res.Events)
	}
	prop, err := c.Proposal(ctx, id)
	if err != nil || prop.Status != consortium.StatusExecuted || prop.DecidedHeight != res.Height || prop.Result != "applied" {
		t.Fatalf("proposal after its block: %+v %v", prop, err)
	}
	if prop.Summary != "set-param consortium.voting_period_blocks 100" || len(prop.Yes) != 1 || prop.Yes[0] != issuer.Address() {
		t.Fatalf("proposal view: %+v", prop)
	}
	if p, err := c.Param(ctx, consortium.ParamVotingPeriod); err != nil || string(p.Value) != "100" {
		t.Fatalf("voting period after the change: %+v %v", p, err)
	}
	all, err := c.Params(ctx)
	if err != nil || len(all) == 0 {
		t.Fatalf("params: %v %v", all, err)
	}
	_, err = c.Param(ctx, "nope.nothing")
	wantCode(t, "unknown param query", err, params.ErrInvalidParam)

	// Bad proposals and votes.
	_, err = c.Vote(ctx, issuer.PrivKey(), 99, true)
	wantCode(t, "vote on an unknown proposal", err, consortium.ErrUnknownProposal)
	_, err = c.Vote(ctx, issuer.PrivKey(), id, true)
	wantCode(t, "vote on an executed proposal", err, consortium.ErrProposalClosed)
	_, _, err = c.Propose(ctx, bob.PrivKey(), "", client.SetParamAction(consortium.ParamVotingPeriod, "5"))
	wantCode(t, "proposal by a non-member", err, consortium.ErrNotMember)
	_, _, err = c.Propose(ctx, issuer.PrivKey(), "", client.SetParamAction("nope.nothing", "5"))
	wantCode(t, "unknown parameter", err, params.ErrInvalidParam)
	_, _, err = c.Propose(ctx, issuer.PrivKey(), "", client.SetParamAction(consortium.ParamVotingPeriod, "0"))
	wantCode(t, "parameter out of range", err, params.ErrInvalidParam)
	_, _, err = c.Propose(ctx, issuer.PrivKey(), "", client.SetParamAction(consortium.ParamVotingPeriod, "{"))
	wantCode(t, "value not JSON", err, consortium.ErrInvalidProposal)
	_, _, err = c.Propose(ctx, issuer.PrivKey(), "", client.RemoveMemberAction(issuer.Address()))
	wantCode(t, "removing the last member", err, consortium.ErrLastMember)
	_, _, err = c.Propose(ctx, issuer.PrivKey(), "", client.AddMemberAction(client.NewMember{Name: "x", Address: alice.Address(), Roles: []string{"banker"}}))
	wantCode(t, "unknown role", err, consortium.ErrUnknownRole)
	_, _, err = c.Propose(ctx, issuer.PrivKey(), "", client.AddMemberAction(client.NewMember{Name: home.DevIssuer, Address: alice.Address(), Roles: []string{"acquirer"}}))
	wantCode(t, "name taken", err, consortium.ErrMemberExists)

	// A second member: from now on a proposal needs both votes.
	id, _, err = c.Propose(ctx, issuer.PrivKey(), "alice joins", client.AddMemberAction(client.NewMember{Name: "alice", Address: alice.Address(), Roles: []string{consortium.RoleKYAIssuer}}))
	if err != nil {
		t.Fatal(err)
	}
	if prop, err := c.WaitProposal(ctx, id, nil); err != nil || prop.Status != consortium.StatusExecuted {
		t.Fatalf("add alice: %+v %v", prop, err)
	}
	if m, err := c.Member(ctx, alice.Address()); err != nil || m.Name != "alice" {
		t.Fatalf("alice: %+v %v", m, err)
	}
	id, _, err = c.Propose(ctx, issuer.PrivKey(), "", client.SetParamAction(consortium.ParamVotingPeriod, "50"))
	if err != nil {
		t.Fatal(err)
	}
	if prop, err := c.Proposal(ctx, id); err != nil || prop.Status != consortium.StatusVoting || prop.VotingEndsAt != prop.SubmitHeight+100 {
		t.Fatalf("1 of 2: %+v %v", prop, err)
	}
	_, err = c.Vote(ctx, issuer.PrivKey(), id, false)
	wantCode(t, "the proposer votes again", err, consortium.ErrDuplicateVote)
	_, err = c.Vote(ctx, bob.PrivKey(), id, true)
	wantCode(t, "vote by a non-member", err, consortium.ErrNotMember)
	if _, err := c.Vote(ctx, alice.PrivKey(), id, false); err != nil {
		t.Fatal(err)
	}
	if prop, err := c.Proposal(ctx, id); err != nil || prop.Status != consortium.StatusRejected || len(prop.No) != 1 {
		t.Fatalf("1 no of 2: %+v %v", prop, err)
	}
	_, err = c.Vote(ctx, alice.PrivKey(), id, true)
	wantCode(t, "vote on a rejected proposal", err, consortium.ErrProposalClosed)
	if p, _ := c.Param(ctx, consortium.ParamVotingPeriod); string(p.Value) != "100" {
		t.Fatalf("a rejected proposal changed the param: %s", p.Value)
	}

	// A validator whose node does not run: the safety rule admits at most
	// power 4 next to issuer's 10 (10 of 14 > 2/3; 10 of 15 is not).
	pvDir := t.TempDir()
	pv, err := privval.GenFilePV(filepath.Join(pvDir, "priv_validator_key.json"), filepath.Join(pvDir, "priv_validator_state.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pv.Save()
	ck, err := client.ReadConsensusKeyFile(filepath.Join(pvDir, "priv_validator_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	carol, err := kr.Add("carol", chain.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	spec := client.NewMember{Name: "carol", Address: carol.Address(), Roles: []string{consortium.RoleValidator}, ConsensusKey: ck, Power: 5}
	_, _, err = c.Propose(ctx, issuer.PrivKey(), "", client.AddMemberAction(spec))
	wantCode(t, "a validator that would stall the chain", err, consortium.ErrUnsafeValidatorChange)
	spec.Power = 4
	id, _, err = c.Propose(ctx, issuer.PrivKey(), "carol validates", client.AddMemberAction(spec))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Vote(ctx, alice.PrivKey(), id, true); err != nil {
		t.Fatal(err)
	}
	prop, err = c.WaitProposal(ctx, id, nil)
	if err != nil || prop.Status != consortium.StatusExecuted {
		t.Fatalf("add carol: %+v %v", prop, err)
	}
	vs, err := c.Validators(ctx)
	if err != nil || len(vs) != 2 {
		t.Fatalf("validators: %+v %v", vs, err)
	}
	// CometBFT runs the new set from two blocks later, and the chain goes on
	// without carol's node.
	waitHeight(t, c, prop.DecidedHeight+3)
	rpc, err := rpchttp.New(n.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	h := prop.DecidedHeight + 2
	cv, err := rpc.Validators(ctx, &h, nil, nil)
	if err != nil || cv.Total != 2 {
		t.Fatalf("CometBFT's validators at %d: %+v %v", h, cv, err)
	}
	before := h - 1
	if cv, err := rpc.Validators(ctx, &before, nil, nil); err != nil || cv.Total != 1 {
		t.Fatalf("CometBFT's validators at %d: %+v %v", before, cv, err)
	}

	list, err := c.Proposals(ctx)
	if err != nil || len(list) != 4 {
		t.Fatalf("proposals: %d %v", len(list), err)
	}
	b, _ := json.Marshal(list[0])
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil || generic["summary"] == nil || generic["action"] == nil || generic["status"] != "executed" {
		t.Fatalf("proposal JSON: %s", b)
	}
}
