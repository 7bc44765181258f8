package app

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/payments"
	"github.com/amp-ledger/amp/modules/trust"
)

const day = 24 * time.Hour

// gWorld is shopWorld on a chain whose genesis may override parameters,
// with its own block clock (so that blocks days apart keep time moving
// forward) and an AUTONOMOUS mandate of alice's for shop: budget 1000 USD,
// no approval threshold, valid 200 days.
type gWorld struct {
	*shopWorld
	t       *testing.T
	now     time.Time
	mandate string
}

// newGuaranteeWorld builds the world of identityWorld and newShopWorld on a
// chain with the given parameter overrides in its genesis.
func newGuaranteeWorld(t *testing.T, overrides map[string]any) *gWorld {
	t.Helper()
	c := &testChain{t: t, dir: t.TempDir(), nonces: map[chain.Address]uint64{},
		issuer: testKey(t, 1), alice: testKey(t, 2), bob: testKey(t, 3)}
	c.open()
	valKey := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	var g map[string]json.RawMessage
	if err := json.Unmarshal(genesisState(t, c.issuer, c.alice, c.bob, valKey), &g); err != nil {
		t.Fatal(err)
	}
	if len(overrides) > 0 {
		raw, err := json.Marshal(overrides)
		if err != nil {
			t.Fatal(err)
		}
		g["params"] = raw
	}
	state, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.app.InitChain(context.Background(), &abci.InitChainRequest{
		ChainId: testChainID, Time: genesisTime, InitialHeight: 1, AppStateBytes: state,
		Validators: []abci.ValidatorUpdate{{Power: 10, PubKeyType: "ed25519", PubKeyBytes: valKey}},
	}); err != nil {
		t.Fatalf("InitChain: %v", err)
	}
	phone, agent := p256Key(t, 1), p256Key(t, 2)
	h := make([]byte, 32)
	h[0] = 1
	mustOK(t, c.block(c.txBy([]chain.PrivKey{c.issuer, c.alice}, &pb.MsgRegisterPerson{Wallet: addr(c.issuer), Person: addr(c.alice), IdvHash: h})))
	mustOK(t, c.block(
		c.txBy([]chain.PrivKey{c.alice, phone}, &pb.MsgAddDevice{Person: addr(c.alice), PubKey: phone.PubKey().Proto(),
			Kind: "phone", Label: "phone", Scopes: []string{identity.ScopeSend, identity.ScopeRevoke}}),
		c.txBy([]chain.PrivKey{c.issuer, agent}, &pb.MsgOnboardAgent{Issuer: addr(c.issuer), PubKey: agent.PubKey().Proto(),
			Owner: addr(c.alice), Builder: "b", Profile: &pb.Profile{Name: "helper"},
			Review: &pb.Review{Items: identity.LevelItems(2), Level: 2, ExpiresAt: genesisTime.Add(400 * day).Unix()}}),
	))
	mustOK(t, c.block(c.txBy([]chain.PrivKey{c.alice}, &pb.MsgBindAgent{Person: addr(c.alice), AgentId: "agent-1"})))
	w := &gWorld{shopWorld: &shopWorld{testChain: c, phone: phone, agent: agent, watch: p256Key(t, 4), shop: testKey(t, 60)}, t: t}
	mustOK(t, c.block(
		c.txBy([]chain.PrivKey{c.issuer, w.shop}, &pb.MsgRegisterMerchant{Acquirer: addr(c.issuer), Merchant: addr(w.shop),
			Name: "Demo Shop", Mcc: "5999", Country: "SG", Settlement: addr(w.shop)}),
		c.txBy([]chain.PrivKey{c.alice, w.watch}, &pb.MsgAddDevice{Person: addr(c.alice), PubKey: w.watch.PubKey().Proto(),
			Kind: "watch", Label: "watch", Scopes: []string{identity.ScopeApprove, identity.ScopeRevoke, identity.ScopeClaim}}),
	))
	w.now = genesisTime.Add(time.Duration(c.height) * time.Second)
	r := w.next(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgGrantMandate{Person: addr(w.alice), AgentId: "agent-1", Terms: &pb.Terms{
		Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, ExpiresAt: genesisTime.Add(200 * day).Unix(), Description: "errands",
		Constraints: &pb.Constraints{Budget: usd(t, "1000"), Merchants: [][]byte{addr(w.shop)}}}}))
	mustOK(t, r)
	w.mandate = createdID(t, r.TxResults[0])
	return w
}

// next commits a block one second after the last.
func (w *gWorld) next(txs ...[]byte) *abci.FinalizeBlockResponse {
	w.t.Helper()
	return w.after(time.Second, txs...)
}

// after commits a block d after the last.
func (w *gWorld) after(d time.Duration, txs ...[]byte) *abci.FinalizeBlockResponse {
	w.t.Helper()
	w.now = w.now.Add(d)
	return w.blockTime(w.now, txs...)
}

// one runs a block of one tx and returns its result.
func (w *gWorld) one(tx []byte) *abci.ExecTxResult {
	w.t.Helper()
	return w.next(tx).TxResults[0]
}

// payOK pays amount USD to shop for a fresh order and returns the payment id.
func (w *gWorld) payOK(amount, ref string) string {
	w.t.Helper()
	r := w.one(w.pay(w.t, w.mandate, amount, ref))
	wantResult(w.t, r, nil)
	return createdID(w.t, r)
}

func claimMsg(t testing.TB, payment, reason, amount string) *pb.MsgFileClaim {
	r, err := payments.ParseClaimReason(reason)
	if err != nil {
		t.Fatal(err)
	}
	m := &pb.MsgFileClaim{PaymentId: payment, Reason: r, EvidenceHash: orderHash("evidence of " + payment)}
	if amount != "" {
		m.Amount = usd(t, amount)
	}
	return m
}

// claim files a claim signed by signer; it returns the tx result.
func (w *gWorld) claim(signer chain.PrivKey, payment, reason, amount string) *abci.ExecTxResult {
	w.t.Helper()
	return w.one(w.txBy([]chain.PrivKey{signer}, claimMsg(w.t, payment, reason, amount)))
}

// claimOK files a claim by alice and returns its id.
func (w *gWorld) claimOK(payment, reason, amount string) string {
	w.t.Helper()
	r := w.claim(w.alice, payment, reason, amount)
	wantResult(w.t, r, nil)
	return createdID(w.t, r)
}

func (w *gWorld) respond(signer chain.PrivKey, claim string, accept bool) *abci.ExecTxResult {
	w.t.Helper()
	resp := pb.ClaimResponse_CLAIM_RESPONSE_CONTEST
	if accept {
		resp = pb.ClaimResponse_CLAIM_RESPONSE_ACCEPT
	}
	return w.one(w.txBy([]chain.PrivKey{signer}, &pb.MsgRespondClaim{ClaimId: claim, Response: resp, EvidenceHash: orderHash("delivery proof")}))
}

func arbitrateMsg(t testing.TB, arbiter chain.PrivKey, claim string, refund bool, amount string) *pb.MsgArbitrateClaim {
	d := pb.ArbitrationDecision_ARBITRATION_DECISION_DENY
	if refund {
		d = pb.ArbitrationDecision_ARBITRATION_DECISION_REFUND
	}
	m := &pb.MsgArbitrateClaim{Arbiter: addr(arbiter), ClaimId: claim, Decision: d}
	if amount != "" {
		m.Amount = usd(t, amount)
	}
	return m
}

func (w *gWorld) arbitrate(arbiter chain.PrivKey, claim string, refund bool, amount string) *abci.ExecTxResult {
	w.t.Helper()
	return w.one(w.txBy([]chain.PrivKey{arbiter}, arbitrateMsg(w.t, arbiter, claim, refund, amount)))
}

func (w *gWorld) claimView(id string) payments.ClaimView {
	w.t.Helper()
	var v payments.ClaimView
	if r := w.query("/payments/claim/"+id, &v); r.Code != 0 {
		w.t.Fatalf("claim query: %s", r.Log)
	}
	return v
}

func (w *gWorld) paymentView(id string) payments.PaymentView {
	w.t.Helper()
	var v payments.PaymentView
	if r := w.query("/payments/payment/"+id, &v); r.Code != 0 {
		w.t.Fatalf("payment query: %s", r.Log)
	}
	return v
}

func (w *gWorld) wantClaim(id, status, resolution string) payments.ClaimView {
	w.t.Helper()
	c := w.claimView(id)
	if c.Status != status || c.Resolution != resolution {
		w.t.Fatalf("%s: status %s resolution %q, want %s %q: %+v", id, c.Status, c.Resolution, status, resolution, c)
	}
	return c
}

func (w *gWorld) wantPayment(id, status, refunded string) payments.PaymentView {
	w.t.Helper()
	p := w.paymentView(id)
	if p.Status != status || p.Refunded != refunded {
		w.t.Fatalf("%s: status %s refunded %q, want %s %q: %+v", id, p.Status, p.Refunded, status, refunded, p)
	}
	return p
}

func (w *gWorld) wantBalance(k chain.PrivKey, amount string) {
	w.t.Helper()
	if got := w.balance(k.PubKey().Address()); got != usdUnits(w.t, amount) {
		w.t.Fatalf("balance %s, want %s USD", got, amount)
	}
}

func (w *gWorld) wantModule(a chain.Address, amount string) {
	w.t.Helper()
	if got := w.balance(a); got != usdUnits(w.t, amount) {
		w.t.Fatalf("module account %s holds %s, want %s USD", a, got, amount)
	}
}

func (w *gWorld) report(ref string) payments.ReportView {
	w.t.Helper()
	var v payments.ReportView
	if r := w.query("/payments/report/"+ref, &v); r.Code != 0 {
		w.t.Fatalf("report query: %s", r.Log)
	}
	return v
}

// TestClaimAccepted: alice claims not_received on an escrowed payment; the
// release waits; shop accepts and alice has her money back from escrow at
// once. The payment is refunded (final): nothing is left to claim or release.
func TestClaimAccepted(t *testing.T) {
	w := newGuaranteeWorld(t, nil)
	p := w.payOK("10", "a-1")
	w.wantBalance(w.alice, "990")
	c := w.claimOK(p, "not_received", "")
	cv := w.wantClaim(c, "open", "")
	if cv.Amount != "10" || cv.PaymentID != p || cv.MandateID != w.mandate || cv.AgentID != "agent-1" || cv.TokenID != "" ||
		cv.Deadline != cv.ResponseDeadline || cv.ResponseDeadline != w.now.Add(7*day).Unix() || cv.AfterRelease || cv.Evidence == "" {
		t.Fatalf("open claim: %+v", cv)
	}
	if pv := w.wantPayment(p, "disputed", ""); pv.OpenClaim != c || pv.Claims != 1 {
		t.Fatalf("payment %+v", pv)
	}
	wantResult(t, w.respond(w.shop, c, true), nil)
	cv = w.wantClaim(c, "refunded", "accepted")
	if cv.Refund != "10" || cv.FromEscrow != "10" || cv.Lost || cv.PaidAt != w.now.Unix() {
		t.Fatalf("accepted claim: %+v", cv)
	}
	w.wantPayment(p, "refunded", "10")
	w.wantBalance(w.alice, "1000")
	w.wantModule(payments.EscrowAccount, "0")
	// Final: no second claim, no answer to a decided claim, no release.
	wantResult(t, w.claim(w.alice, p, "other", ""), payments.ErrNotClaimable)
	wantResult(t, w.respond(w.shop, c, false), payments.ErrClaimState)
	w.after(8 * day)
	w.wantBalance(w.shop, "0")
	w.wantPayment(p, "refunded", "10")
	rep := w.report(addrOf(w.shop))
	if rep.Kind != "merchant" || rep.Payments != 1 || rep.ClaimsFiled != 1 || rep.ClaimsRefunded != 1 || rep.ClaimsLost != 0 ||
		rep.ClaimRate != 10000 || len(rep.Amounts) != 1 || rep.Amounts[0].Refunded != "10" {
		t.Fatalf("merchant report: %+v", rep)
	}
}

func addrOf(k chain.PrivKey) string { return k.PubKey().Address().String() }

// TestClaimContestedThenRefundedInPart: shop contests; alice's wallet
// member (the issuer) rules a partial refund of 4 of 10; the rest stays in
// escrow and is released, less the fee, when the window passes: the payment
// ends partially_refunded. Only shop answers, only the wallet member rules.
func TestClaimContestedThenRefundedInPart(t *testing.T) {
	w := newGuaranteeWorld(t, nil)
	p := w.payOK("10", "b-1")
	c := w.claimOK(p, "not_as_described", "")
	wantResult(t, w.respond(w.bob, c, false), payments.ErrNotClaimMerchant)
	wantResult(t, w.arbitrate(w.issuer, c, true, ""), payments.ErrClaimState) // not contested yet
	wantResult(t, w.respond(w.shop, c, false), nil)
	cv := w.wantClaim(c, "contested", "")
	if cv.MerchantEvidence == "" || cv.ArbitrationDeadline != w.now.Add(14*day).Unix() || cv.Deadline != cv.ArbitrationDeadline {
		t.Fatalf("contested: %+v", cv)
	}
	wantResult(t, w.respond(w.shop, c, true), payments.ErrClaimState)
	wantResult(t, w.arbitrate(w.bob, c, true, ""), payments.ErrNotArbiter)
	wantResult(t, w.arbitrate(w.issuer, c, true, "10.5"), payments.ErrClaimAmount)
	// A ruling signed by someone else in the arbiter's name is refused.
	wantResult(t, w.one(w.txBy([]chain.PrivKey{w.bob}, arbitrateMsg(t, w.issuer, c, true, ""))), chain.ErrUnauthorized)
	wantResult(t, w.arbitrate(w.issuer, c, true, "4"), nil)
	cv = w.wantClaim(c, "refunded", "arbiter_refund")
	if cv.Refund != "4" || cv.FromEscrow != "4" || !cv.Lost || cv.Arbiter == nil || *cv.Arbiter != w.issuer.PubKey().Address() {
		t.Fatalf("ruled: %+v", cv)
	}
	w.wantPayment(p, "escrowed", "4")
	w.wantBalance(w.alice, "994")
	w.wantModule(payments.EscrowAccount, "6")
	w.after(8 * day)
	w.wantPayment(p, "partially_refunded", "4")
	w.wantBalance(w.shop, "5.994") // 6 less the 0.1% fee
	w.wantModule(payments.PoolAccount, "0.006")
	w.wantModule(payments.EscrowAccount, "0")
	// The rest can still be claimed (not_received runs 60 days); the
	// refund now comes from the bond, then the pool (0.006), then the queue.
	c2 := w.claimOK(p, "not_received", "")
	if v := w.claimView(c2); v.Amount != "6" || !v.AfterRelease {
		t.Fatalf("second claim: %+v", v)
	}
	agent := w.report("agent-1")
	if agent.ClaimsLost != 1 || agent.ClaimsFiled != 2 || agent.ClaimsOpen != 1 || *agent.LostSinceSuspension != 1 {
		t.Fatalf("agent report: %+v", agent)
	}
	if shop := w.report(addrOf(w.shop)); shop.ClaimsLost != 1 || shop.LossRate != 10000 {
		t.Fatalf("shop report: %+v", shop)
	}
}

// TestClaimContestedThenDenied: the window passes while the claim is
// contested, so the release waits; the arbiter denies and the payment is
// released at once. A denial counts nothing against the agent.
func TestClaimContestedThenDenied(t *testing.T) {
	w := newGuaranteeWorld(t, nil)
	p := w.payOK("10", "c-1")
	w.after(6 * day)
	c := w.claimOK(p, "not_received", "")
	wantResult(t, w.respond(w.shop, c, false), nil)
	w.after(2 * day) // past release_at
	w.wantPayment(p, "disputed", "")
	w.wantBalance(w.shop, "0")
	wantResult(t, w.arbitrate(w.issuer, c, false, ""), nil)
	if cv := w.wantClaim(c, "denied", "arbiter_denied"); cv.Lost || cv.Refund != "0" || cv.Deadline != 0 {
		t.Fatalf("denied: %+v", cv)
	}
	w.wantPayment(p, "released", "")
	w.wantBalance(w.shop, "9.99")
	w.wantBalance(w.alice, "990")
	if r := w.report("agent-1"); r.ClaimsDenied != 1 || r.ClaimsLost != 0 || r.Payments != 1 {
		t.Fatalf("agent report: %+v", r)
	}
}

// TestMerchantSilence: no response by the deadline refunds the person at
// the end of the first block at or after it; a late response is refused.
func TestMerchantSilence(t *testing.T) {
	w := newGuaranteeWorld(t, nil)
	p := w.payOK("10", "d-1")
	c := w.claimOK(p, "not_received", "3")
	deadline := w.claimView(c).ResponseDeadline
	w.blockTime(time.Unix(deadline-1, 0))
	w.now = time.Unix(deadline-1, 0)
	w.wantClaim(c, "open", "")
	// The deadline's own block: a response in it is late, and silence decides.
	r := w.next(w.respond2(c))
	wantResult(t, r.TxResults[0], payments.ErrDeadlinePassed)
	cv := w.wantClaim(c, "refunded", "merchant_silence")
	if cv.Refund != "3" || cv.ResolvedAt != deadline {
		t.Fatalf("silence: %+v", cv)
	}
	// The response window (7 days) is the protection window: the rest is
	// released in the same block.
	w.wantPayment(p, "partially_refunded", "3")
	w.wantBalance(w.alice, "993")
	w.wantBalance(w.shop, "6.993")
}

func (w *gWorld) respond2(claim string) []byte {
	return w.txBy([]chain.PrivKey{w.shop}, &pb.MsgRespondClaim{ClaimId: claim, Response: pb.ClaimResponse_CLAIM_RESPONSE_ACCEPT})
}

// TestArbiterSilence: a contested claim with no ruling by the arbitration
// deadline refunds the person; it counts as lost by the agent.
func TestArbiterSilence(t *testing.T) {
	w := newGuaranteeWorld(t, nil)
	p := w.payOK("10", "e-1")
	c := w.claimOK(p, "duplicate", "")
	wantResult(t, w.respond(w.shop, c, false), nil)
	w.after(14 * day)
	wantResult(t, w.arbitrate(w.issuer, c, false, ""), payments.ErrClaimState) // decided by silence in the block before
	cv := w.wantClaim(c, "refunded", "arbiter_silence")
	if !cv.Lost || cv.FromEscrow != "10" {
		t.Fatalf("arbiter silence: %+v", cv)
	}
	w.wantPayment(p, "refunded", "10")
	w.wantBalance(w.alice, "1000")
}

// TestGuaranteeMoneySources: after the release a refund comes from the
// merchant's bond (active, then unbonding), then the guarantee pool; what
// neither can pay waits in the pool's FIFO queue and is paid, head first
// and in part, as the fees of later releases refill the pool. The
// guarantee fee here is 10%.
func TestGuaranteeMoneySources(t *testing.T) {
	w := newGuaranteeWorld(t, map[string]any{payments.ParamFee: 1000})
	shop := w.shop.PubKey().Address()
	mustOK(t, w.next(w.tx(w.issuer, mintMsg(t, w.issuer.PubKey().Address(), shop, "12"))))
	wantResult(t, w.one(w.tx(w.bob, &pb.MsgBond{Merchant: addr(w.shop), Amount: usd(t, "12")})), chain.ErrUnauthorized)
	wantResult(t, w.one(w.tx(w.shop, &pb.MsgBond{Merchant: addr(w.shop), Amount: usd(t, "12")})), nil)
	w.wantModule(payments.BondAccount, "12")
	wantResult(t, w.one(w.tx(w.shop, &pb.MsgUnbond{Merchant: addr(w.shop), Amount: usd(t, "13")})), payments.ErrInsufficientBond)
	// Unbonding 7: it pays claims after the active 5, until it completes.
	wantResult(t, w.one(w.tx(w.shop, &pb.MsgUnbond{Merchant: addr(w.shop), Amount: usd(t, "7")})), nil)
	a, b, c := w.payOK("20", "m-a"), w.payOK("20", "m-b"), w.payOK("20", "m-c")
	w.after(8 * day)
	w.wantBalance(w.shop, "54") // 3 × 18
	w.wantModule(payments.PoolAccount, "6")
	// Ten more payments, released (and feeding the pool) a week later.
	for i := 0; i < 10; i++ {
		w.payOK("20", "m-d"+string(rune('0'+i)))
	}

	// Claim on a: 15 = bond 5 + unbonding 7 + pool 3.
	ca := w.claimOK(a, "not_received", "15")
	if v := w.claimView(ca); !v.AfterRelease {
		t.Fatalf("after release: %+v", v)
	}
	wantResult(t, w.respond(w.shop, ca, true), nil)
	v := w.wantClaim(ca, "refunded", "accepted")
	if v.FromBond != "12" || v.FromPool != "3" || v.FromEscrow != "" || v.Owed != "0" {
		t.Fatalf("bond then pool: %+v", v)
	}
	w.wantPayment(a, "partially_refunded", "15")
	w.wantModule(payments.BondAccount, "0")
	w.wantModule(payments.PoolAccount, "3")
	var bond payments.BondView
	w.query("/payments/bond/"+shop.String(), &bond)
	if len(bond.Bonds) != 0 || len(bond.Unbondings) != 1 || bond.Unbondings[0].Amount != "0" || bond.Unbondings[0].Initial != "7" {
		t.Fatalf("bond after the claim: %+v", bond)
	}

	// Claim on b (20): pool 3, 17 queued; claim on c (20): all queued behind it.
	cb, cc := w.claimOK(b, "not_received", ""), w.claimOK(c, "canceled_by_merchant", "")
	mustOK(t, w.next(w.respond2(cb), w.respond2(cc)))
	v = w.wantClaim(cb, "queued", "accepted")
	if v.FromPool != "3" || v.Owed != "17" {
		t.Fatalf("queued b: %+v", v)
	}
	if v = w.wantClaim(cc, "queued", "accepted"); v.Owed != "20" || v.FromPool != "0" {
		t.Fatalf("queued c: %+v", v)
	}
	w.wantPayment(b, "refunded", "20")
	var pool payments.PoolView
	w.query("/payments/pool", &pool)
	if len(pool.Assets) != 1 || pool.Assets[0].Owed != "37" || pool.Assets[0].Queued != 2 || pool.Assets[0].Balance != "0" ||
		pool.Assets[0].Fees != "6" || pool.Assets[0].Paid != "6" || len(pool.Assets[0].Queue) != 2 || pool.Assets[0].Queue[0].ClaimID != cb ||
		pool.Assets[0].Queue[1].Position != 2 {
		t.Fatalf("pool: %+v", pool)
	}
	w.wantBalance(w.alice, "758") // 1000 - 13 × 20 + 15 + 3

	// The ten payments release: their fees (20) pay b's 17, then 3 of c's 20.
	w.after(8 * day)
	if v = w.wantClaim(cb, "refunded", "accepted"); v.FromPool != "20" || v.Owed != "0" || v.PaidAt != w.now.Unix() {
		t.Fatalf("b paid from the queue: %+v", v)
	}
	if v = w.wantClaim(cc, "queued", "accepted"); v.FromPool != "3" || v.Owed != "17" {
		t.Fatalf("c in part: %+v", v)
	}
	w.wantBalance(w.alice, "778")
	w.wantModule(payments.PoolAccount, "0")
	w.query("/payments/pool", &pool)
	if pool.Assets[0].Owed != "17" || pool.Assets[0].Queued != 1 || pool.Assets[0].Fees != "26" || pool.Assets[0].Paid != "26" {
		t.Fatalf("pool after the fees: %+v", pool)
	}
	// The unbonding entry completes (empty) after 30 days.
	w.after(31 * day)
	w.query("/payments/bond/"+shop.String(), &bond)
	if len(bond.Unbondings) != 0 {
		t.Fatalf("unbonding did not complete: %+v", bond)
	}
}

// TestPartialClaims: claims for part of a payment, one open at a time,
// never more than is left.
func TestPartialClaims(t *testing.T) {
	w := newGuaranteeWorld(t, nil)
	p := w.payOK("10", "f-1")
	c1 := w.claimOK(p, "not_as_described", "3")
	wantResult(t, w.claim(w.alice, p, "other", "1"), payments.ErrClaimOpen)
	wantResult(t, w.respond(w.shop, c1, true), nil)
	w.wantPayment(p, "escrowed", "3")
	wantResult(t, w.claim(w.alice, p, "other", "7.000001"), payments.ErrClaimAmount)
	r := w.one(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgFileClaim{PaymentId: p, Reason: pb.ClaimReason_CLAIM_REASON_OTHER,
		Amount: &pb.Coin{Asset: "EUR", Amount: "1"}}))
	wantResult(t, r, payments.ErrClaimAmount)
	c2 := w.claimOK(p, "other", "")
	if v := w.claimView(c2); v.Amount != "7" {
		t.Fatalf("the rest: %+v", v)
	}
	wantResult(t, w.respond(w.shop, c2, true), nil)
	w.wantPayment(p, "refunded", "10")
	w.wantBalance(w.alice, "1000")
	var list []payments.ClaimView
	w.query("/payments/claims/"+p, &list)
	if len(list) != 2 || list[0].ID != c2 || list[1].ID != c1 {
		t.Fatalf("claims of %s: %+v", p, list)
	}
	w.query("/payments/claims/"+addrOf(w.alice), &list)
	if len(list) != 2 {
		t.Fatalf("alice's claims: %+v", list)
	}
	w.query("/payments/claims/"+addrOf(w.shop), &list)
	if len(list) != 2 {
		t.Fatalf("shop's claims: %+v", list)
	}
	w.query("/payments/claims/agent-1", &list)
	if len(list) != 2 {
		t.Fatalf("agent-1's claims: %+v", list)
	}
}

// TestClaimWindowsAndClaimants: each reason has its window from capture;
// only the payer's side claims: alice, a device of hers with the claim
// scope, or her agent; not bob, not her phone without the scope.
func TestClaimWindowsAndClaimants(t *testing.T) {
	w := newGuaranteeWorld(t, nil)
	p := w.payOK("10", "g-1")
	wantResult(t, w.claim(w.bob, p, "not_received", ""), payments.ErrNotClaimant)
	wantResult(t, w.claim(w.phone, p, "not_received", ""), identity.ErrDeviceScope)
	// Malformed claims fail the stateless checks (CheckTx).
	for _, m := range []*pb.MsgFileClaim{{PaymentId: p, Reason: pb.ClaimReason(9)}, {PaymentId: p, Reason: 1, EvidenceHash: []byte{1}}} {
		tx := w.txBy([]chain.PrivKey{w.alice}, m)
		w.nonces[w.alice.PubKey().Address()]--
		if r, _ := w.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx}); r.Code != payments.ErrInvalidClaim.Code {
			t.Fatalf("CheckTx of %v: %d %s", m, r.Code, r.Log)
		}
	}
	wantResult(t, w.claim(w.alice, "payment-99", "other", ""), payments.ErrUnknownPayment)
	w.after(15 * day) // past "other" (14 days), within not_received (60)
	wantResult(t, w.claim(w.alice, p, "other", ""), payments.ErrClaimWindowClosed)
	c := w.claim(w.watch, p, "not_received", "1")
	wantResult(t, c, nil)
	if v := w.claimView(createdID(t, c)); v.FiledBy != w.watch.PubKey().Address() || !v.AfterRelease {
		t.Fatalf("filed by the watch: %+v", v)
	}
	wantResult(t, w.respond(w.shop, createdID(t, c), false), nil)
	w.after(50 * day) // arbiter silence on the way; past not_received (60 days from capture)
	wantResult(t, w.claim(w.agent, p, "not_received", "1"), payments.ErrClaimWindowClosed)
	// The agent files for alice (unauthorized runs 120 days).
	c2 := w.claim(w.agent, p, "unauthorized", "1")
	wantResult(t, c2, nil)
	if v := w.claimView(createdID(t, c2)); v.FiledBy != w.agent.PubKey().Address() {
		t.Fatalf("filed by the agent: %+v", v)
	}
	w.after(121 * day)
	wantResult(t, w.claim(w.alice, p, "unauthorized", "1"), payments.ErrClaimWindowClosed)
}

// TestUnauthorizedClaimLowersTrust: an approved unauthorized claim is a
// claim the agent lost: its score drops and probation caps it a tier down
// (T0: watch-only), so its next payment is refused.
func TestUnauthorizedClaimLowersTrust(t *testing.T) {
	w := newGuaranteeWorld(t, nil)
	p := w.payOK("10", "h-1")
	var before, after trust.Explanation
	w.query("/trust/score/agent-1", &before)
	c := w.claimOK(p, "unauthorized", "")
	wantResult(t, w.respond(w.shop, c, true), nil)
	if v := w.wantClaim(c, "refunded", "accepted"); !v.Lost {
		t.Fatalf("not lost: %+v", v)
	}
	w.query("/trust/score/agent-1", &after)
	if after.Score >= before.Score || after.Tier != "T0" || before.Tier != "T1" {
		t.Fatalf("trust before %d %s, after %d %s", before.Score, before.Tier, after.Score, after.Tier)
	}
	r := w.one(w.pay(t, w.mandate, "1", "h-2"))
	wantResult(t, r, delegation.ErrOverTierCap)
}

// TestRepeatedLossesSuspendAgent: after payments.suspend_after_lost_claims
// (2 here) lost claims the ledger suspends the agent; its key can do
// nothing; the issuer that onboarded it lifts the ledger's suspension.
func TestRepeatedLossesSuspendAgent(t *testing.T) {
	w := newGuaranteeWorld(t, map[string]any{payments.ParamSuspendAfter: 2})
	p1, p2, p3 := w.payOK("1", "s-1"), w.payOK("1", "s-2"), w.payOK("1", "s-3")
	for _, p := range []string{p1, p2} {
		c := w.claimOK(p, "unauthorized", "")
		wantResult(t, w.respond(w.shop, c, true), nil)
	}
	var ag identity.AgentView
	w.query("/identity/agent/agent-1", &ag)
	if ag.Status != identity.StatusSuspended {
		t.Fatalf("agent after 2 lost claims: %+v", ag)
	}
	rep := w.report("agent-1")
	if *rep.LedgerSuspensions != 1 || *rep.LostSinceSuspension != 0 || rep.ClaimsLost != 2 {
		t.Fatalf("report: %+v", rep)
	}
	// The suspended agent's key can file nothing, pay nothing.
	wantResult(t, w.claim(w.agent, p3, "other", ""), identity.ErrAgentSuspended)
	// bob (no KYA issuer) cannot lift it; the onboarding issuer can.
	reinstate := func(k chain.PrivKey) *abci.ExecTxResult {
		return w.one(w.tx(k, &pb.MsgReinstateAgent{Issuer: addr(k), AgentId: "agent-1"}))
	}
	wantResult(t, reinstate(w.bob), consortium.ErrNotMember)
	wantResult(t, reinstate(w.issuer), nil)
	w.query("/identity/agent/agent-1", &ag)
	if ag.Status == identity.StatusSuspended {
		t.Fatalf("still suspended: %+v", ag)
	}
	wantResult(t, reinstate(w.issuer), identity.ErrNotSuspended)
}

// TestBondDependentWindow: only a merchant bonded at payments.min_bond may
// choose a protection window shorter than the chain's, down to
// payments.bonded_min_window_seconds; unbonding below the minimum brings
// its payments back to the chain's window.
func TestBondDependentWindow(t *testing.T) {
	w := newGuaranteeWorld(t, map[string]any{payments.ParamMinBond: "50USD"})
	shop := w.shop.PubKey().Address()
	setWindow := func(secs uint64) *abci.ExecTxResult {
		return w.one(w.tx(w.shop, &pb.MsgSetProtectionWindow{Merchant: addr(w.shop), Seconds: secs}))
	}
	wantResult(t, setWindow(2*86400), payments.ErrBondRequired)
	mustOK(t, w.next(w.tx(w.issuer, mintMsg(t, w.issuer.PubKey().Address(), shop, "50"))))
	wantResult(t, w.one(w.tx(w.shop, &pb.MsgBond{Merchant: addr(w.shop), Amount: usd(t, "50")})), nil)
	wantResult(t, setWindow(3600), payments.ErrWindowOutOfRange) // below the 1-day floor
	wantResult(t, setWindow(2*86400), nil)
	p := w.payOK("10", "w-1")
	if v := w.paymentView(p); v.ReleaseAt != w.now.Unix()+2*86400 {
		t.Fatalf("bonded window: %+v", v)
	}
	var bond payments.BondView
	w.query("/payments/bond/"+shop.String(), &bond)
	if !bond.Bonded || bond.WindowSeconds != 2*86400 || bond.MinBond != "50USD" || len(bond.Bonds) != 1 || bond.Bonds[0].Active != "50" {
		t.Fatalf("bond: %+v", bond)
	}
	wantResult(t, w.one(w.tx(w.shop, &pb.MsgUnbond{Merchant: addr(w.shop), Amount: usd(t, "1")})), nil)
	p2 := w.payOK("10", "w-2")
	if v := w.paymentView(p2); v.ReleaseAt != w.now.Unix()+7*86400 {
		t.Fatalf("window after unbonding: %+v", v)
	}
	var win map[string]int64
	w.query("/payments/window/"+shop.String(), &win)
	if win["seconds"] != 7*86400 {
		t.Fatalf("window %v", win)
	}
}

// TestArbiterRole: with payments.arbiter = arbiter_role, members holding
// the arbiter role rule, and the wallet member without it does not.
func TestArbiterRole(t *testing.T) {
	w := newGuaranteeWorld(t, map[string]any{payments.ParamArbiter: payments.ArbiterRole})
	p := w.payOK("10", "r-1")
	c := w.claimOK(p, "not_received", "")
	wantResult(t, w.respond(w.shop, c, false), nil)
	wantResult(t, w.arbitrate(w.issuer, c, true, ""), payments.ErrNotArbiter)
}

// TestRefundSmallRule: the example rule refund-small.wasm, bound to shop's
// claim hook, approves not_received claims under 5 USD at once; it does not
// answer bigger ones, which wait for shop.
func TestRefundSmallRule(t *testing.T) {
	code, err := os.ReadFile("../contracts/examples/wasm/refund-small.wasm")
	if err != nil {
		t.Skipf("example rule not built: %v", err)
	}
	w := newGuaranteeWorld(t, nil)
	r := w.one(w.tx(w.shop, &pb.MsgDeployRule{Merchant: addr(w.shop), Code: code, Label: "refund-small"}))
	wantResult(t, r, nil)
	rule := createdID(t, r)
	wantResult(t, w.one(w.tx(w.shop, &pb.MsgBindRule{Merchant: addr(w.shop), RuleId: rule, Hook: pb.Hook_HOOK_CLAIM})), nil)
	small, big := w.payOK("4", "k-1"), w.payOK("9", "k-2")
	c := w.claimOK(small, "not_received", "")
	if v := w.wantClaim(c, "refunded", "rule_approved"); v.FromEscrow != "4" {
		t.Fatalf("rule refund: %+v", v)
	}
	w.wantPayment(small, "refunded", "4")
	w.wantClaim(w.claimOK(big, "not_received", ""), "open", "")
	w.wantBalance(w.alice, "991")
}

var _ = proto.String
