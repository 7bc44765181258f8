package loadgen

import (
	"path/filepath"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/rules"
	"github.com/amp-ledger/amp/node/home"
)

// eventsOf converts an in-process tx result's events to the RPC's form.
func eventsOf(r *abci.ExecTxResult) []Event {
	out := make([]Event, len(r.Events))
	for i, e := range r.Events {
		out[i].Type = e.Type
		for _, a := range e.Attributes {
			out[i].Attributes = append(out[i].Attributes, struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			}{a.Key, a.Value})
		}
	}
	return out
}

// Many merchants' deploys are split over txs under the chain's size limit,
// with consecutive nonces.
func TestRuleDeployTxsSplit(t *testing.T) {
	l, err := DerivePayLanes("split", 1, MaxPayMerchants, chain.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	code := make([]byte, 20<<10)
	signer := deriveKey(chain.KeyEd25519, "split-signer")
	txs, err := RuleDeployTxs("c", signer, 5, l.Merchants, code, "x")
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 22 { // two 20 KiB deploys a tx
		t.Fatalf("%d txs", len(txs))
	}
	msgs := 0
	for i, raw := range txs {
		tx, err := chain.DecodeTx(raw)
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		if tx.Body.Nonce != uint64(5+i) || len(raw) > chain.MaxTxBytes {
			t.Fatalf("tx %d: nonce %d, %d bytes", i, tx.Body.Nonce, len(raw))
		}
		msgs += len(tx.Body.Msgs)
	}
	if msgs != MaxPayMerchants {
		t.Fatalf("%d deploy messages", msgs)
	}
	if _, err := RuleDeployTxs("c", signer, 0, l.Merchants, make([]byte, chain.MaxTxBytes), "x"); err == nil {
		t.Fatal("deployed code larger than a tx")
	}
}

// The setup of the pay-rule benchmark on an in-process chain made by
// PayGenesis: the acquirer's deploy and bind txs commit with code 0, the
// merchants' payment hooks run max-amount.wasm, a load payment goes through
// it (accepted) and a 6 USD payment is rejected by it (rule_rejected).
func TestRuleSetupInitChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	ini, err := home.Init(home.InitOptions{Dir: dir, ChainID: "amp-bench", Node: home.NodeConfig{Moniker: "bench"},
		Accounts: home.OperatorAccounts("bench", nil)})
	if err != nil {
		t.Fatal(err)
	}
	gen := home.GenesisFile(dir)
	l, err := DerivePayLanes("rules-test", 2, 3, chain.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	// Mandates allow 10 USD a payment, so that the rule, not the Intent
	// Guard, refuses the 6 USD one.
	if err := PayGenesis(gen, l, PayGenesisOptions{MaxPayment: "10USD"}); err != nil {
		t.Fatal(err)
	}
	issuer, err := PayIssuer(gen)
	if err != nil {
		t.Fatal(err)
	}
	member := ini.Keys[0]
	if member.Address() != issuer {
		t.Fatalf("PayIssuer %s, the member is %s", issuer, member.Address())
	}
	code, err := ReadExampleRule("")
	if err != nil {
		t.Fatal(err)
	}
	c := startChain(t, gen)

	// Someone else (a person) may not deploy the merchants' rules.
	other, err := RuleDeployTxs("amp-bench", l.Lanes[0].Person, 0, l.Merchants[:1], code, "x")
	if err != nil {
		t.Fatal(err)
	}
	_, rs := c.block(other...)
	if rs[0].Code != chain.ErrUnauthorized.Code {
		t.Fatalf("deploy by a person: code %d %s", rs[0].Code, rs[0].Log)
	}

	deploys, err := RuleDeployTxs("amp-bench", member.PrivKey(), 0, l.Merchants, code, "ampbench")
	if err != nil {
		t.Fatal(err)
	}
	if len(deploys) != 1 {
		t.Fatalf("%d deploy txs for 3 merchants", len(deploys))
	}
	_, rs = c.block(deploys...)
	if rs[0].Code != 0 {
		t.Fatalf("deploy: code %d %s", rs[0].Code, rs[0].Log)
	}
	ids := RuleIDs(eventsOf(rs[0]))
	if len(ids) != 3 || ids[l.Merchants[0]] != "rule-1" || ids[l.Merchants[2]] != "rule-3" {
		t.Fatalf("rule ids %v", ids)
	}
	bind, err := RuleBindTx("amp-bench", member.PrivKey(), 1, l.Merchants, ids, pb.Hook_HOOK_PAYMENT)
	if err != nil {
		t.Fatal(err)
	}
	if _, rs = c.block(bind); rs[0].Code != 0 {
		t.Fatalf("bind: code %d %s", rs[0].Code, rs[0].Log)
	}
	var b struct {
		Bindings []struct {
			Hook   string `json:"hook"`
			RuleID string `json:"rule_id"`
		} `json:"bindings"`
	}
	c.query("/rules/merchant/"+l.Merchants[1].String(), &b)
	if len(b.Bindings) != 1 || b.Bindings[0].Hook != "payment" || b.Bindings[0].RuleID != "rule-2" {
		t.Fatalf("bindings of merchant 1: %+v", b.Bindings)
	}

	// The load's payments (lane i's j-th to merchant i+j) run the rule and
	// are accepted.
	src, err := NewPaySource(PayOptions{ChainID: "amp-bench", Lanes: l, PerLane: 2})
	if err != nil {
		t.Fatal(err)
	}
	txs, rs := c.block(src.Next(0), src.Next(1))
	for i, r := range rs {
		p, _ := DecodePay(txs[i])
		n, acc := RuleEvaluations(eventsOf(r))
		if r.Code != 0 || n != 1 || acc != 1 {
			t.Fatalf("load payment %d: code %d %s, %d rule evaluations (%d accepted)", i, r.Code, r.Log, n, acc)
		}
		for _, e := range eventsOf(r) {
			if e.Type == "rule_evaluated" && e.Attr("rule_id") != ids[p.Merchant] {
				t.Fatalf("payment to %s ran %s", p.Merchant, e.Attr("rule_id"))
			}
		}
	}
	// 6 USD is above max-amount's default limit of 5 USD.
	big, err := NewPaySource(PayOptions{ChainID: "amp-bench", Lanes: l, StartNonces: []uint64{1, 1}, PerLane: 1, Amount: "6000000000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	_, rs = c.block(big.Next(0))
	if rs[0].Code != rules.ErrRuleRejected.Code || !strings.Contains(rs[0].Log, "rule-") {
		t.Fatalf("6 USD payment: code %d %s, want %d rule_rejected", rs[0].Code, rs[0].Log, rules.ErrRuleRejected.Code)
	}
}
