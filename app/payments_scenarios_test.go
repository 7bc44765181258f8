package app

import (
	"testing"
	"time"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/payments"
	"github.com/amp-ledger/amp/modules/trust"
)

func (w *shopWorld) grantTerms(t *testing.T, terms *pb.Terms) string {
	t.Helper()
	r := w.block(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgGrantMandate{Person: addr(w.alice), AgentId: "agent-1", Terms: terms}))
	mustOK(t, r)
	return createdID(t, r.TxResults[0])
}

func (w *shopWorld) autonomous(t *testing.T, c *pb.Constraints) string {
	if c.Budget == nil {
		c.Budget = usd(t, "100")
	}
	return w.grantTerms(t, &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, Constraints: c,
		ExpiresAt: genesisTime.Add(60 * 24 * time.Hour).Unix()})
}

// TestImmediateMandate: one checkout, fixed; paid once, then finished.
func TestImmediateMandate(t *testing.T) {
	w := newShopWorld(t)
	id := w.grantTerms(t, &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_IMMEDIATE, ExpiresAt: genesisTime.Add(time.Hour).Unix(),
		Checkout: &pb.Checkout{Merchant: addr(w.shop), Amount: usd(t, "12.34"), OrderHash: orderHash("cart-9")}})
	r := w.block(w.pay(t, id, "12.35", "cart-9"))
	wantResult(t, r.TxResults[0], delegation.ErrOrderInconsistent)
	r = w.block(w.pay(t, id, "12.34", "cart-10"))
	wantResult(t, r.TxResults[0], delegation.ErrOrderInconsistent)
	r = w.block(w.pay(t, id, "12.34", "cart-9"))
	wantResult(t, r.TxResults[0], nil)
	if v := w.mandate(t, id); v.Status != "finished" || v.Consumed != "12.34" {
		t.Fatalf("after checkout: %+v", v)
	}
	r = w.block(w.pay(t, id, "12.34", "cart-11"))
	wantResult(t, r.TxResults[0], delegation.ErrMandateFinished)
}

// TestTokenCaptureAndExpiry: a token reserves its amount; the merchant
// captures less with the same order; a changed order, asset or a larger
// amount is refused (S3); an unused token expires and frees its reservation.
func TestTokenCaptureAndExpiry(t *testing.T) {
	w := newShopWorld(t)
	id := w.autonomous(t, &pb.Constraints{Budget: usd(t, "30")})
	authorize := func(amount, ref string) string {
		r := w.block(w.txBy([]chain.PrivKey{w.agent}, &pb.MsgAuthorize{MandateId: id, Merchant: addr(w.shop), Amount: usd(t, amount), OrderHash: orderHash(ref)}))
		mustOK(t, r)
		return createdID(t, r.TxResults[0])
	}
	capture := func(token, amount, ref string) *pb.MsgCapture {
		return &pb.MsgCapture{TokenId: token, Amount: usd(t, amount), OrderHash: orderHash(ref)}
	}
	tok := authorize("20", "o-1")
	if v := w.mandate(t, id); v.Reserved != "20" || v.Available != "10" {
		t.Fatalf("after authorize: %+v", v)
	}
	// A second token over the rest of the budget is refused.
	r := w.block(w.txBy([]chain.PrivKey{w.agent}, &pb.MsgAuthorize{MandateId: id, Merchant: addr(w.shop), Amount: usd(t, "11"), OrderHash: orderHash("o-2")}))
	wantResult(t, r.TxResults[0], delegation.ErrOverBudget)
	for _, c := range []struct {
		name   string
		signer chain.PrivKey
		msg    *pb.MsgCapture
		want   *chain.Error
	}{
		{"larger amount", w.shop, capture(tok, "20.01", "o-1"), delegation.ErrOrderInconsistent},
		{"other order", w.shop, capture(tok, "20", "o-x"), delegation.ErrOrderInconsistent},
		{"not the merchant", w.bob, capture(tok, "20", "o-1"), chain.ErrUnauthorized},
		{"unknown token", w.shop, capture("token-99", "20", "o-1"), payments.ErrTokenInvalid},
	} {
		r := w.block(w.txBy([]chain.PrivKey{c.signer}, c.msg))
		if r.TxResults[0].Code != c.want.Code {
			t.Fatalf("%s: code %d (%s), want %s", c.name, r.TxResults[0].Code, r.TxResults[0].Log, c.want.Reason)
		}
	}
	r = w.block(w.txBy([]chain.PrivKey{w.shop}, capture(tok, "15", "o-1")))
	mustOK(t, r)
	if v := w.mandate(t, id); v.Consumed != "15" || v.Reserved != "0" || v.Available != "15" {
		t.Fatalf("after a partial capture: %+v", v)
	}
	// No double capture.
	r = w.block(w.txBy([]chain.PrivKey{w.shop}, capture(tok, "5", "o-1")))
	wantResult(t, r.TxResults[0], payments.ErrTokenInvalid)
	// The same order cannot be paid again.
	r = w.block(w.pay(t, id, "1", "o-1"))
	wantResult(t, r.TxResults[0], payments.ErrDuplicateOrder)

	// An unused token expires after its validity and frees the budget.
	tok2 := authorize("15", "o-3")
	if v := w.mandate(t, id); v.Available != "0" {
		t.Fatalf("reserved: %+v", v)
	}
	var validity int64 = 60
	for i := int64(0); i <= validity; i++ {
		w.block()
	}
	if v := w.mandate(t, id); v.Reserved != "0" || v.Available != "15" {
		t.Fatalf("after token expiry: %+v", v)
	}
	r = w.block(w.txBy([]chain.PrivKey{w.shop}, capture(tok2, "15", "o-3")))
	wantResult(t, r.TxResults[0], payments.ErrTokenInvalid)
	// The order may be tried again with a new token.
	r = w.block(w.pay(t, id, "15", "o-3"))
	mustOK(t, r)
	if v := w.mandate(t, id); v.Status != "finished" {
		t.Fatalf("budget used up but %+v", v)
	}
}

// TestPeriodRolloverAndCounts: per-period spend and count limits reset when
// the block time enters the next period.
func TestPeriodRolloverAndCounts(t *testing.T) {
	w := newShopWorld(t)
	id := w.autonomous(t, &pb.Constraints{PeriodSeconds: 3600, PerPeriod: usdUnits(t, "10"), PerPeriodCount: 2})
	at := genesisTime.Add(time.Duration(w.height+1) * time.Second)
	r := w.blockTime(at.Add(time.Second), w.pay(t, id, "6", "p-1"))
	mustOK(t, r)
	r = w.blockTime(at.Add(2*time.Second), w.pay(t, id, "5", "p-2"))
	wantResult(t, r.TxResults[0], delegation.ErrOverPeriodLimit)
	r = w.blockTime(at.Add(3*time.Second), w.pay(t, id, "1", "p-3"))
	mustOK(t, r)
	r = w.blockTime(at.Add(4*time.Second), w.pay(t, id, "1", "p-4"))
	wantResult(t, r.TxResults[0], delegation.ErrOverPaymentCount)
	// An hour later the period has rolled over.
	r = w.blockTime(at.Add(time.Hour+5*time.Second), w.pay(t, id, "9", "p-5"))
	mustOK(t, r)
	if v := w.mandate(t, id); v.Period == nil || v.Period.Index != 1 || v.Period.Spent != "9" || v.Period.Count != 1 || v.Consumed != "16" {
		t.Fatalf("after rollover: %+v %+v", v, v.Period)
	}
}

// TestMicroPayments: 0.000001 USD moves exactly.
func TestMicroPayments(t *testing.T) {
	w := newShopWorld(t)
	id := w.autonomous(t, &pb.Constraints{Budget: usd(t, "0.00001")})
	for i := 0; i < 10; i++ {
		mustOK(t, w.block(w.pay(t, id, "0.000001", "micro-"+string(rune('a'+i)))))
	}
	r := w.block(w.pay(t, id, "0.000001", "micro-z"))
	wantResult(t, r.TxResults[0], delegation.ErrMandateFinished)
	if got := w.balance(payments.EscrowAccount); got != "10000000000000" {
		t.Fatalf("escrow %s, want 10^13 base units", got)
	}
}

// TestSuspendedAgentAndScope: a suspension stops the agent's payments at
// once; merchants and categories outside the mandate are refused.
func TestSuspendedAgentAndScope(t *testing.T) {
	w := newShopWorld(t)
	other := testKey(t, 61)
	mustOK(t, w.block(w.txBy([]chain.PrivKey{w.issuer, other}, &pb.MsgRegisterMerchant{Acquirer: addr(w.issuer), Merchant: addr(other),
		Name: "Casino", Mcc: "7995", Country: "MT", Settlement: addr(other)})))
	id := w.autonomous(t, &pb.Constraints{Mccs: []string{"5999", "5411"}, Countries: []string{"SG"}})
	pay := func(merchant chain.PrivKey, ref string) []byte {
		return w.txBy([]chain.PrivKey{w.agent}, &pb.MsgPay{MandateId: id, Merchant: addr(merchant), Amount: usd(t, "1"), OrderHash: orderHash(ref)})
	}
	r := w.block(pay(other, "c-1"))
	wantResult(t, r.TxResults[0], delegation.ErrMerchantOutOfScope) // country MT
	id2 := w.autonomous(t, &pb.Constraints{Mccs: []string{"5999"}})
	r = w.block(w.txBy([]chain.PrivKey{w.agent}, &pb.MsgPay{MandateId: id2, Merchant: addr(other), Amount: usd(t, "1"), OrderHash: orderHash("c-2")}))
	wantResult(t, r.TxResults[0], delegation.ErrCategoryOutOfScope)
	mustOK(t, w.block(pay(w.shop, "c-3")))
	r = w.block(w.tx(w.issuer, &pb.MsgSuspendAgent{Issuer: addr(w.issuer), AgentId: "agent-1", Reason: "r"}), pay(w.shop, "c-4"))
	wantResult(t, r.TxResults[1], identity.ErrAgentSuspended)
}

// TestTierCapsAndWalletLimits: a new agent's tier caps one payment at 100
// USD whatever the mandate says; a person's wallet limits bound what they
// can delegate (S1).
func TestTierCapsAndWalletLimits(t *testing.T) {
	w := newShopWorld(t)
	id := w.autonomous(t, &pb.Constraints{Budget: usd(t, "900")})
	r := w.block(w.pay(t, id, "150", "big"))
	wantResult(t, r.TxResults[0], delegation.ErrOverTierCap)
	var tr trust.Explanation
	w.query("/trust/score/agent-1", &tr)
	if tr.Tier != "T1" {
		t.Fatalf("new agent's tier %s", tr.Tier)
	}
	// Daily tier cap (500 USD) across the agent's mandates.
	for i := 0; i < 5; i++ {
		mustOK(t, w.block(w.pay(t, id, "100", "d-"+string(rune('a'+i)))))
	}
	r = w.block(w.pay(t, id, "1", "d-z"))
	wantResult(t, r.TxResults[0], delegation.ErrOverTierCap)

	// S1: alice limits herself to 20 USD per mandate.
	mustOK(t, w.block(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgSetWalletLimits{Person: addr(w.alice), MaxPerMandate: usd(t, "20"), MaxDaily: usd(t, "30")})))
	r = w.block(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgGrantMandate{Person: addr(w.alice), AgentId: "agent-1", Terms: &pb.Terms{
		Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, ExpiresAt: genesisTime.Add(24 * time.Hour).Unix(), Constraints: &pb.Constraints{Budget: usd(t, "21")}}}))
	wantResult(t, r.TxResults[0], delegation.ErrOverWalletLimit)
}

// TestEscrowRelease: after the protection window the merchant is paid (less
// the guarantee fee, 10 basis points by default, which goes to the pool)
// and the agent's settled payments count in its trust rating.
func TestEscrowRelease(t *testing.T) {
	w := newShopWorld(t)
	id := w.autonomous(t, &pb.Constraints{})
	mustOK(t, w.block(w.pay(t, id, "7", "e-1")))
	var p payments.PaymentView
	w.query("/payments/payment/payment-1", &p)
	if p.Status != "escrowed" || p.Amount != "7" {
		t.Fatalf("payment %+v", p)
	}
	shop := w.shop.PubKey().Address()
	w.blockTime(genesisTime.Add(6 * 24 * time.Hour))
	if got := w.balance(shop); got != "0" {
		t.Fatalf("released early: shop has %s", got)
	}
	w.blockTime(genesisTime.Add(8 * 24 * time.Hour))
	w.query("/payments/payment/payment-1", &p)
	if p.Status != "released" || w.balance(shop) != usdUnits(t, "6.993") || w.balance(payments.PoolAccount) != usdUnits(t, "0.007") ||
		w.balance(payments.EscrowAccount) != "0" {
		t.Fatalf("after the window: %+v, shop %s", p, w.balance(shop))
	}
	var tr trust.Explanation
	w.query("/trust/score/agent-1", &tr)
	settled := false
	for _, f := range tr.Factors {
		settled = settled || (f.Name == "settled_payments" && f.Points > 0)
	}
	if !settled {
		t.Fatalf("trust does not count the settled payment: %+v", tr.Factors)
	}
}

// TestModuleAccountsRefuseTransfers: money reaches escrow, bonds and the
// pool only through their module, so their books always equal their
// balances.
func TestModuleAccountsRefuseTransfers(t *testing.T) {
	w := newShopWorld(t)
	for _, a := range []chain.Address{payments.EscrowAccount, payments.BondAccount, payments.PoolAccount} {
		from := w.alice.PubKey().Address()
		r := w.block(w.tx(w.alice, &pb.MsgSend{From: from[:], To: a[:], Amount: usd(t, "1")}))
		wantResult(t, r.TxResults[0], bank.ErrProtectedAccount)
		iss := w.issuer.PubKey().Address()
		r = w.block(w.tx(w.issuer, &pb.MsgMint{Issuer: iss[:], To: a[:], Amount: usd(t, "1")}))
		wantResult(t, r.TxResults[0], bank.ErrProtectedAccount)
	}
}
