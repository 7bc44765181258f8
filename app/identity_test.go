package app

import (
	"context"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/identity"
)

// txBy signs a tx with several keys: signers[0] is the tx signer.
func (c *testChain) txBy(signers []chain.PrivKey, msgs ...proto.Message) []byte {
	a := signers[0].PubKey().Address()
	raw, err := chain.BuildTx(testChainID, c.nonces[a], chain.TxOptions{}, msgs, signers...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.nonces[a]++
	return raw
}

func p256Key(t testing.TB, b byte) chain.PrivKey {
	seed := make([]byte, 32)
	seed[0], seed[31] = b, 7
	k, err := chain.PrivKeyFromBytes(chain.KeyP256, seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func addr(k chain.PrivKey) []byte {
	a := k.PubKey().Address()
	return a[:]
}

func mustOK(t testing.TB, r *abci.FinalizeBlockResponse) {
	t.Helper()
	for i, res := range r.TxResults {
		if res.Code != 0 {
			t.Fatalf("tx %d failed: %s", i, res.Log)
		}
	}
}

// identityWorld registers alice as a person with a P-256 phone that may
// send and revoke, and onboards a P-256 agent of alice's, bound to her.
func identityWorld(t testing.TB) (c *testChain, phone, agent chain.PrivKey) {
	return identityWorldWith(t, nil)
}

// identityWorldWith is identityWorld on a chain with genesis parameters.
func identityWorldWith(t testing.TB, params map[string]any) (c *testChain, phone, agent chain.PrivKey) {
	c = newTestChainWith(t, params)
	phone, agent = p256Key(t, 1), p256Key(t, 2)
	h := make([]byte, 32)
	h[0] = 1
	mustOK(t, c.block(
		c.txBy([]chain.PrivKey{c.issuer, c.alice}, &pb.MsgRegisterPerson{Wallet: addr(c.issuer), Person: addr(c.alice), IdvHash: h}),
	))
	mustOK(t, c.block(
		c.txBy([]chain.PrivKey{c.alice, phone}, &pb.MsgAddDevice{Person: addr(c.alice), PubKey: phone.PubKey().Proto(),
			Kind: "phone", Label: "phone", Scopes: []string{identity.ScopeSend, identity.ScopeRevoke}}),
		c.txBy([]chain.PrivKey{c.issuer, agent}, &pb.MsgOnboardAgent{Issuer: addr(c.issuer), PubKey: agent.PubKey().Proto(),
			Owner: addr(c.alice), Builder: "b", Profile: &pb.Profile{Name: "helper"},
			Review: &pb.Review{Items: identity.LevelItems(2), Level: 2, ExpiresAt: genesisTime.Add(300 * 24 * time.Hour).Unix()}}),
	))
	mustOK(t, c.block(c.txBy([]chain.PrivKey{c.alice}, &pb.MsgBindAgent{Person: addr(c.alice), AgentId: "agent-1"})))
	return c, phone, agent
}

// TestDeviceSignsForPerson: a P-256 device key's tx goes through the whole
// pipeline (CheckTx, FinalizeBlock) and moves the person's money within its
// scope; outside its scope it fails with device_scope and changes nothing.
func TestDeviceSignsForPerson(t *testing.T) {
	c, phone, _ := identityWorld(t)
	pay := send(t, c.alice, c.bob, "2.5")
	tx := c.txBy([]chain.PrivKey{phone}, pay)
	if r, _ := c.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx}); r.Code != 0 {
		t.Fatalf("CheckTx: %s", r.Log)
	}
	mustOK(t, c.block(tx))
	if got := c.balance(c.bob.PubKey().Address()); got != "1002500000000000000000" {
		t.Fatalf("bob has %s", got)
	}
	// Another person's money: refused.
	stray := c.txBy([]chain.PrivKey{phone}, send(t, c.bob, c.alice, "1"))
	if r := c.block(stray); r.TxResults[0].Code != chain.ErrUnauthorized.Code {
		t.Fatalf("phone spent bob's money: code %d %s", r.TxResults[0].Code, r.TxResults[0].Log)
	}
	// Managing devices is outside the phone's scopes.
	watch := p256Key(t, 9)
	r := c.block(c.txBy([]chain.PrivKey{phone, watch}, &pb.MsgAddDevice{Person: addr(c.alice), PubKey: watch.PubKey().Proto(),
		Kind: "watch", Label: "w", Scopes: []string{identity.ScopeRevoke}}))
	if r.TxResults[0].Code != identity.ErrDeviceScope.Code {
		t.Fatalf("code %d (%s), want device_scope", r.TxResults[0].Code, r.TxResults[0].Log)
	}
	var wi identity.Whois
	c.query("/identity/whois/"+watch.PubKey().Address().String(), &wi)
	if wi.Kind != "none" {
		t.Fatalf("refused device registered: %+v", wi)
	}
}

// TestSuspensionTakesEffectInItsBlock: the agent's tx before the suspension
// in the same block runs; its tx after it fails with agent_suspended.
func TestSuspensionTakesEffectInItsBlock(t *testing.T) {
	c, _, agent := identityWorld(t)
	mustOK(t, c.block(c.tx(c.issuer, mintMsg(t, c.issuer.PubKey().Address(), agent.PubKey().Address(), "10"))))
	before := c.txBy([]chain.PrivKey{agent}, send(t, agent, c.bob, "1"))
	suspend := c.tx(c.issuer, &pb.MsgSuspendAgent{Issuer: addr(c.issuer), AgentId: "agent-1", Reason: "stolen key"})
	after := c.txBy([]chain.PrivKey{agent}, send(t, agent, c.bob, "1"))
	r := c.block(before, suspend, after)
	if r.TxResults[0].Code != 0 || r.TxResults[1].Code != 0 {
		t.Fatalf("results %v / %v", r.TxResults[0].Log, r.TxResults[1].Log)
	}
	if r.TxResults[2].Code != identity.ErrAgentSuspended.Code {
		t.Fatalf("tx after suspension: code %d %s", r.TxResults[2].Code, r.TxResults[2].Log)
	}
	var v identity.AgentView
	c.query("/identity/agent/agent-1", &v)
	if v.Status != identity.StatusSuspended {
		t.Fatalf("status %s", v.Status)
	}
	if got := c.balance(agent.PubKey().Address()); got != "9000000000000000000" {
		t.Fatalf("agent balance %s, want 9 USD", got)
	}
}
