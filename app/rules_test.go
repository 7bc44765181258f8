package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/contracts"
	"github.com/amp-ledger/amp/modules/payments"
	"github.com/amp-ledger/amp/modules/rules"
	"github.com/amp-ledger/amp/modules/trust"
)

func exampleRule(t testing.TB, name string) []byte {
	b, err := os.ReadFile("../contracts/examples/wasm/" + name)
	if err != nil {
		t.Fatalf("example rule: %v", err)
	}
	return b
}

// deployAndBind deploys code as shop's rule and binds it to a hook.
func (w *shopWorld) deployAndBind(t *testing.T, code []byte, hook pb.Hook) string {
	t.Helper()
	r := w.block(w.txBy([]chain.PrivKey{w.shop}, &pb.MsgDeployRule{Merchant: addr(w.shop), Code: code, Label: "test"}))
	mustOK(t, r)
	if r.TxResults[0].GasUsed <= 0 {
		t.Fatalf("deploy reports no gas")
	}
	id := createdID(t, r.TxResults[0])
	mustOK(t, w.block(w.txBy([]chain.PrivKey{w.shop}, &pb.MsgBindRule{Merchant: addr(w.shop), RuleId: id, Hook: hook})))
	return id
}

func u128LE(t testing.TB, usdAmount string) []byte {
	a, err := chain.ParseDecimal(usdAmount, 18)
	if err != nil {
		t.Fatal(err)
	}
	v := a.Uint256()
	return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, v[0]), v[1])
}

// TestMaxAmountRule: the merchant's max-amount rule rejects an agent's 6
// USD payment with its own code, accepts 5 USD, and follows the limit the
// merchant stores in the rule's state.
func TestMaxAmountRule(t *testing.T) {
	w := newShopWorld(t)
	id := w.grant(t)
	w.deployAndBind(t, exampleRule(t, "max-amount.wasm"), pb.Hook_HOOK_PAYMENT)
	r := w.block(w.pay(t, id, "6", "r-1"))
	wantResult(t, r.TxResults[0], rules.ErrRuleRejected)
	if r.TxResults[0].Code == 0 || !bytes.Contains([]byte(r.TxResults[0].Log), []byte("code 1")) {
		t.Fatalf("the rule's own code is not reported: %s", r.TxResults[0].Log)
	}
	r = w.block(w.pay(t, id, "5", "r-2"))
	wantResult(t, r.TxResults[0], nil)
	if r.TxResults[0].GasUsed <= 0 {
		t.Fatal("the rule's gas is not in the tx result")
	}
	mustOK(t, w.block(w.txBy([]chain.PrivKey{w.shop}, &pb.MsgSetRuleState{Merchant: addr(w.shop), Key: []byte("max"), Value: u128LE(t, "10")})))
	r = w.block(w.pay(t, id, "6", "r-3"))
	wantResult(t, r.TxResults[0], nil)
	// Only the merchant (or its acquirer) manages its rules.
	r = w.block(w.txBy([]chain.PrivKey{w.bob}, &pb.MsgUnbindRule{Merchant: addr(w.shop), Hook: pb.Hook_HOOK_PAYMENT}))
	wantResult(t, r.TxResults[0], chain.ErrUnauthorized)
	mustOK(t, w.block(w.txBy([]chain.PrivKey{w.issuer}, &pb.MsgUnbindRule{Merchant: addr(w.shop), Hook: pb.Hook_HOOK_PAYMENT})))
	r = w.block(w.pay(t, id, "11", "r-4"))
	wantResult(t, r.TxResults[0], nil) // no rule any more (the mandate's max is 20)
}

// TestHoldLargeRule: payments over 100 USD stay in escrow 30 days.
func TestHoldLargeRule(t *testing.T) {
	tiers := trust.DefaultTiers()
	tiers[1].MaxPayment, tiers[1].MaxDaily = "1000", "5000" // let a new agent pay over 100 USD
	tiers[2].MaxPayment, tiers[2].MaxDaily = "1000", "5000"
	w := newShopWorldWith(t, map[string]any{trust.ParamTiers: tiers})
	id := w.autonomous(t, &pb.Constraints{Budget: usd(t, "500")})
	w.deployAndBind(t, exampleRule(t, "hold-large.wasm"), pb.Hook_HOOK_PAYMENT)
	mustOK(t, w.block(w.pay(t, id, "10", "h-1")))
	mustOK(t, w.block(w.pay(t, id, "100.000001", "h-2")))
	var small, large payments.PaymentView
	w.query("/payments/payment/payment-1", &small)
	w.query("/payments/payment/payment-2", &large)
	if small.ReleaseAt-small.CapturedAt != 7*86400 || large.ReleaseAt-large.CapturedAt != 30*86400 {
		t.Fatalf("windows %d and %d seconds", small.ReleaseAt-small.CapturedAt, large.ReleaseAt-large.CapturedAt)
	}
}

// TestBadRules: code that fails the deploy checks is refused with the
// problem codes; a rule that runs out of gas rejects the payment
// deterministically and leaves no state.
func TestBadRules(t *testing.T) {
	w := newShopWorld(t)
	id := w.grant(t)
	r := w.block(w.txBy([]chain.PrivKey{w.shop}, &pb.MsgDeployRule{Merchant: addr(w.shop), Code: []byte("\x00asm\x01\x00\x00\x00garbage")}))
	wantResult(t, r.TxResults[0], rules.ErrRuleInvalid)
	r = w.block(w.txBy([]chain.PrivKey{w.bob}, &pb.MsgDeployRule{Merchant: addr(w.shop), Code: exampleRule(t, "max-amount.wasm")}))
	wantResult(t, r.TxResults[0], chain.ErrUnauthorized)
	r = w.block(w.txBy([]chain.PrivKey{w.shop}, &pb.MsgBindRule{Merchant: addr(w.shop), RuleId: "rule-9", Hook: pb.Hook_HOOK_PAYMENT}))
	wantResult(t, r.TxResults[0], rules.ErrUnknownRule)

	// The Go rule needs more gas than the default cap: every payment to
	// the shop fails with rule_failed, and no money moves.
	w.uploadAndDeploy(t, exampleRule(t, "max-amount-go.wasm"), pb.Hook_HOOK_PAYMENT)
	escrow := w.balance(payments.EscrowAccount)
	r = w.block(w.pay(t, id, "1", "oog-1"))
	wantResult(t, r.TxResults[0], rules.ErrRuleFailed)
	if !bytes.Contains([]byte(r.TxResults[0].Log), []byte("out_of_gas")) {
		t.Fatalf("the failure does not say why: %s", r.TxResults[0].Log)
	}
	if w.balance(payments.EscrowAccount) != escrow {
		t.Fatal("a payment refused by a failing rule moved money")
	}
}

// TestRulesDeterministicAcrossNodes: two independent apps run the same
// blocks with rules and agree on every result, its gas and the app hash.
func TestRulesDeterministicAcrossNodes(t *testing.T) {
	a, b := newShopWorld(t), newShopWorld(t)
	run := func(build func(w *shopWorld) [][]byte) {
		t.Helper()
		ra := a.blockTime(genesisTime.Add(time.Duration(a.height+1)*time.Second), build(a)...)
		rb := b.blockTime(genesisTime.Add(time.Duration(b.height+1)*time.Second), build(b)...)
		if !bytes.Equal(ra.AppHash, rb.AppHash) {
			t.Fatalf("height %d: app hashes differ", a.height)
		}
		for i := range ra.TxResults {
			x, y := ra.TxResults[i], rb.TxResults[i]
			if x.Code != y.Code || x.GasUsed != y.GasUsed || x.Log != y.Log {
				t.Fatalf("height %d tx %d: %d/%d gas %d/%d", a.height, i, x.Code, y.Code, x.GasUsed, y.GasUsed)
			}
		}
	}
	var ids []string
	run(func(w *shopWorld) [][]byte {
		return [][]byte{w.txBy([]chain.PrivKey{w.shop}, &pb.MsgDeployRule{Merchant: addr(w.shop), Code: exampleRule(t, "daily-totals.wasm")})}
	})
	run(func(w *shopWorld) [][]byte {
		return [][]byte{w.txBy([]chain.PrivKey{w.shop}, &pb.MsgBindRule{Merchant: addr(w.shop), RuleId: "rule-1", Hook: pb.Hook_HOOK_PAYMENT})}
	})
	for _, w := range []*shopWorld{a, b} {
		r := w.block(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgGrantMandate{Person: addr(w.alice), AgentId: "agent-1", Terms: &pb.Terms{
			Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, ExpiresAt: genesisTime.Add(30 * 24 * time.Hour).Unix(),
			Constraints: &pb.Constraints{Budget: usd(t, "500"), MaxPayment: usdUnits(t, "40")}}}))
		mustOK(t, r)
		ids = append(ids, createdID(t, r.TxResults[0]))
	}
	if ids[0] != ids[1] {
		t.Fatal("the two apps diverged")
	}
	for i, amount := range []string{"20", "20", "9.99", "0.01", "1", "30"} {
		run(func(w *shopWorld) [][]byte { return [][]byte{w.pay(t, ids[0], amount, "d-"+string(rune('a'+i)))} })
	}
	// The daily total rule let 50 USD through and refused the rest.
	var bills []payments.PaymentView
	a.query("/payments/bills/"+ids[0], &bills)
	if len(bills) != 4 {
		t.Fatalf("%d payments passed the daily-totals rule, want 4: %+v", len(bills), bills)
	}
}

// TestGoRuleUploadedInPieces: a Go rule, too large for one tx, is uploaded
// in order and deployed by its hash; it then decides payments like the
// AssemblyScript one. Pieces out of order or a wrong hash are refused.
func TestGoRuleUploadedInPieces(t *testing.T) {
	// A Go guest's runtime start-up alone costs millions of gas: a chain
	// that accepts Go rules raises the per-evaluation cap.
	lim := contracts.DefaultLimits()
	lim.MaxGas = 50_000_000
	w := newShopWorldWith(t, map[string]any{rules.ParamLimits: lim})
	id := w.grant(t)
	code := exampleRule(t, "max-amount-go.wasm")
	hash := sha256.Sum256(code)
	r := w.block(w.txBy([]chain.PrivKey{w.shop}, uploadPiece(w, code, uploadPieceSize)))
	wantResult(t, r.TxResults[0], rules.ErrRuleInvalid) // a new upload starts at 0
	w.upload(t, code)
	wrong := sha256.Sum256([]byte("other"))
	r = w.block(w.txBy([]chain.PrivKey{w.shop}, &pb.MsgDeployRule{Merchant: addr(w.shop), CodeHash: wrong[:]}))
	wantResult(t, r.TxResults[0], rules.ErrRuleInvalid)
	r = w.block(w.txBy([]chain.PrivKey{w.shop}, &pb.MsgDeployRule{Merchant: addr(w.shop), CodeHash: hash[:], Label: "go"}))
	mustOK(t, r)
	rule := createdID(t, r.TxResults[0])
	mustOK(t, w.block(w.txBy([]chain.PrivKey{w.shop}, &pb.MsgBindRule{Merchant: addr(w.shop), RuleId: rule, Hook: pb.Hook_HOOK_PAYMENT})))
	r = w.block(w.pay(t, id, "6", "g-1"))
	wantResult(t, r.TxResults[0], rules.ErrRuleRejected)
	r = w.block(w.pay(t, id, "4", "g-2"))
	wantResult(t, r.TxResults[0], nil)
	var rv rules.Rule
	w.query("/rules/rule/"+rule, &rv)
	if rv.Size != len(code) || rv.CodeHash != hex.EncodeToString(hash[:]) {
		t.Fatalf("deployed rule %+v", rv)
	}
}

const uploadPieceSize = 60 << 10

func uploadPiece(w *shopWorld, code []byte, off int) *pb.MsgUploadCode {
	hash := sha256.Sum256(code)
	end := min(off+uploadPieceSize, len(code))
	return &pb.MsgUploadCode{Merchant: addr(w.shop), CodeHash: hash[:], Total: uint64(len(code)), Offset: uint64(off), Chunk: code[off:end]}
}

// upload sends code in order as shop's upload.
func (w *shopWorld) upload(t *testing.T, code []byte) {
	t.Helper()
	for off := 0; off < len(code); off += uploadPieceSize {
		mustOK(t, w.block(w.txBy([]chain.PrivKey{w.shop}, uploadPiece(w, code, off))))
	}
}

// uploadAndDeploy uploads code, deploys it by hash and binds it to hook.
func (w *shopWorld) uploadAndDeploy(t *testing.T, code []byte, hook pb.Hook) string {
	t.Helper()
	w.upload(t, code)
	hash := sha256.Sum256(code)
	r := w.block(w.txBy([]chain.PrivKey{w.shop}, &pb.MsgDeployRule{Merchant: addr(w.shop), CodeHash: hash[:]}))
	mustOK(t, r)
	id := createdID(t, r.TxResults[0])
	mustOK(t, w.block(w.txBy([]chain.PrivKey{w.shop}, &pb.MsgBindRule{Merchant: addr(w.shop), RuleId: id, Hook: hook})))
	return id
}
