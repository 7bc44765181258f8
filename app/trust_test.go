package app

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/trust"
)

// TestTrustReplayIsIdentical runs the same blocks — onboarding, a second
// attestation, a suspension and reinstatement, a key rotation, and months
// of empty blocks in between so that ratings age, decay and are rescored on
// schedule — on two independent apps, and requires the same app hash at
// every height and the same explained rating at the end.
func TestTrustReplayIsIdentical(t *testing.T) {
	a, b := newTestChain(t), newTestChain(t)
	agent, newKey := p256Key(t, 3), testKey(t, 40)
	review := func(level uint32, days int) *pb.Review {
		return &pb.Review{Items: identity.LevelItems(level), Level: level, ExpiresAt: genesisTime.Add(time.Duration(days) * 24 * time.Hour).Unix()}
	}
	type step struct {
		signers []chain.PrivKey
		msg     proto.Message
	}
	script := [][]step{
		{{[]chain.PrivKey{a.issuer, agent}, &pb.MsgOnboardAgent{Issuer: addr(a.issuer), PubKey: agent.PubKey().Proto(), Owner: addr(a.alice),
			Builder: "b", Profile: &pb.Profile{Name: "n"}, Review: review(1, 300)}}},
		{{[]chain.PrivKey{a.issuer}, &pb.MsgAttestAgent{Issuer: addr(a.issuer), AgentId: "agent-1", Review: review(3, 350)}}},
		{{[]chain.PrivKey{a.issuer}, &pb.MsgSuspendAgent{Issuer: addr(a.issuer), AgentId: "agent-1", Reason: "r"}}},
		{{[]chain.PrivKey{a.issuer}, &pb.MsgReinstateAgent{Issuer: addr(a.issuer), AgentId: "agent-1"}}},
		{{[]chain.PrivKey{a.alice, newKey}, &pb.MsgRotateAgentKey{AgentId: "agent-1", NewKey: newKey.PubKey().Proto()}}},
	}
	var scores []trust.Explanation
	run := func(txsOf func(c *testChain) [][]byte, at time.Time) {
		t.Helper()
		ra := a.blockTime(at, txsOf(a)...)
		rb := b.blockTime(at, txsOf(b)...)
		mustOK(t, ra)
		if !bytes.Equal(ra.AppHash, rb.AppHash) {
			t.Fatalf("height %d: app hashes differ", a.height)
		}
		var ea, eb trust.Explanation
		a.query("/trust/score/agent-1", &ea)
		b.query("/trust/score/agent-1", &eb)
		ja, _ := json.Marshal(ea)
		jb, _ := json.Marshal(eb)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("height %d: ratings differ:\n%s\n%s", a.height, ja, jb)
		}
		if ea.AgentID != "" {
			scores = append(scores, ea)
		}
	}
	at := genesisTime
	for i, blk := range script {
		at = at.Add(time.Duration(i+1) * 20 * 24 * time.Hour) // weeks pass between events
		run(func(c *testChain) [][]byte {
			var txs [][]byte
			for _, s := range blk {
				txs = append(txs, c.txBy(s.signers, s.msg))
			}
			return txs
		}, at)
		for j := 0; j < 3; j++ {
			at = at.Add(24 * time.Hour)
			run(func(*testChain) [][]byte { return nil }, at)
		}
	}
	// The suspension took the agent to T0 in its block and cost it after.
	var sawT0 bool
	for _, e := range scores {
		sawT0 = sawT0 || e.Tier == "T0"
	}
	for _, e := range scores {
		t.Logf("%s %d %s", time.Unix(e.AtTime, 0).UTC().Format("2006-01-02"), e.Score, e.Tier)
	}
	if !sawT0 || scores[len(scores)-1].Score == 0 {
		t.Fatalf("ratings over the script: %+v", scores)
	}
}
