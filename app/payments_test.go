package app

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/payments"
)

// shopWorld is identityWorld plus a merchant "shop" registered by the
// issuer (an acquirer) and alice's P-256 watch that may approve payments.
type shopWorld struct {
	*testChain
	phone, watch, agent, shop chain.PrivKey
}

func newShopWorld(t *testing.T) *shopWorld { return newShopWorldWith(t, nil) }

// newShopWorldB is newShopWorld for tests and benchmarks.
func newShopWorldB(t testing.TB) *shopWorld { return newShopWorldWith(t, nil) }

// newShopWorldWith is newShopWorld on a chain with genesis parameters.
func newShopWorldWith(t testing.TB, params map[string]any) *shopWorld {
	c, phone, agent := identityWorldWith(t, params)
	w := &shopWorld{testChain: c, phone: phone, agent: agent, watch: p256Key(t, 4), shop: testKey(t, 60)}
	mustOK(t, c.block(
		c.txBy([]chain.PrivKey{c.issuer, w.shop}, &pb.MsgRegisterMerchant{Acquirer: addr(c.issuer), Merchant: addr(w.shop),
			Name: "Demo Shop", Mcc: "5999", Country: "SG", Settlement: addr(w.shop)}),
		c.txBy([]chain.PrivKey{c.alice, w.watch}, &pb.MsgAddDevice{Person: addr(c.alice), PubKey: w.watch.PubKey().Proto(),
			Kind: "watch", Label: "watch", Scopes: []string{identity.ScopeApprove, identity.ScopeRevoke}}),
	))
	return w
}

func usdUnits(t testing.TB, s string) string {
	a, err := chain.ParseDecimal(s, 18)
	if err != nil {
		t.Fatal(err)
	}
	return a.String()
}

func orderHash(ref string) []byte {
	h := sha256.Sum256([]byte(ref))
	return h[:]
}

// grant makes alice grant the agent an AUTONOMOUS mandate for shop:
// budget 50, at most 20 per payment, approval above 15.
func (w *shopWorld) grant(t *testing.T) string {
	r := w.block(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgGrantMandate{Person: addr(w.alice), AgentId: "agent-1", Terms: &pb.Terms{
		Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, ExpiresAt: genesisTime.Add(30 * 24 * time.Hour).Unix(), Description: "groceries",
		Constraints: &pb.Constraints{Budget: usd(t, "50"), MaxPayment: usdUnits(t, "20"), ApprovalAbove: usdUnits(t, "15"),
			Merchants: [][]byte{addr(w.shop)}},
	}}))
	mustOK(t, r)
	return createdID(t, r.TxResults[0])
}

func createdID(t testing.TB, r *abci.ExecTxResult) string {
	for _, e := range r.Events {
		if e.Type == "created" {
			return e.Attributes[0].Value
		}
	}
	t.Fatalf("no created event: %v", r.Events)
	return ""
}

func (w *shopWorld) pay(t testing.TB, mandate, amount, ref string, cosigners ...chain.PrivKey) []byte {
	return w.txBy(append([]chain.PrivKey{w.agent}, cosigners...), &pb.MsgPay{MandateId: mandate, Merchant: addr(w.shop),
		Amount: usd(t, amount), OrderHash: orderHash(ref)})
}

func (w *shopWorld) mandate(t testing.TB, id string) delegation.MandateView {
	var v delegation.MandateView
	if r := w.query("/delegation/mandate/"+id, &v); r.Code != 0 {
		t.Fatalf("mandate query: %s", r.Log)
	}
	return v
}

func wantResult(t testing.TB, r *abci.ExecTxResult, want *chain.Error) {
	t.Helper()
	if want == nil {
		if r.Code != 0 {
			t.Fatalf("failed: %s", r.Log)
		}
		return
	}
	if r.Code != want.Code {
		t.Fatalf("code %d (%s), want %s (%d)", r.Code, r.Log, want.Reason, want.Code)
	}
}

// TestThreeStepFlow is AMP's user flow through the app: bind (done by
// identityWorld), grant an AUTONOMOUS mandate, the agent pays within it —
// above the threshold with the watch's approval — and alice watches,
// lowers the budget and revokes from her phone.
func TestThreeStepFlow(t *testing.T) {
	w := newShopWorld(t)
	id := w.grant(t)
	escrowBefore := w.balance(payments.EscrowAccount)
	aliceBefore := w.balance(w.alice.PubKey().Address())

	r := w.block(w.pay(t, id, "10", "order-1"))
	wantResult(t, r.TxResults[0], nil)
	payment := createdID(t, r.TxResults[0])
	r = w.block(w.pay(t, id, "18", "order-2"))
	wantResult(t, r.TxResults[0], delegation.ErrApprovalRequired)
	r = w.block(w.pay(t, id, "18", "order-3", w.watch))
	wantResult(t, r.TxResults[0], nil)
	r = w.block(w.pay(t, id, "21", "order-4", w.watch))
	wantResult(t, r.TxResults[0], delegation.ErrPaymentOutOfRange)
	r = w.block(w.pay(t, id, "20", "order-5", w.watch))
	wantResult(t, r.TxResults[0], nil)
	r = w.block(w.pay(t, id, "5", "order-6"))
	wantResult(t, r.TxResults[0], delegation.ErrOverBudget)

	v := w.mandate(t, id)
	if v.Status != "activated" || v.Budget != "50" || v.Consumed != "48" || v.Payments != 3 || v.Utilisation != 9600 {
		t.Fatalf("mandate after payments: %+v", v)
	}
	var bills []payments.PaymentView
	w.query("/payments/bills/"+id, &bills)
	if len(bills) != 3 || bills[0].Amount != "20" || bills[2].ID != payment || bills[2].Status != "escrowed" || bills[1].Approver == nil {
		t.Fatalf("bills: %+v", bills)
	}
	if got := w.balance(payments.EscrowAccount); got != usdUnits(t, "48") || escrowBefore != "0" {
		t.Fatalf("escrow holds %s", got)
	}
	if got := w.balance(w.alice.PubKey().Address()); got != sub(t, aliceBefore, usdUnits(t, "48")) {
		t.Fatalf("alice has %s", got)
	}

	// Alice lowers the budget (not below what is spent), then revokes from
	// her phone; the agent's next payment is refused as revoked.
	low := usdUnits(t, "49")
	r = w.block(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgUpdateMandate{MandateId: id, Budget: proto.String(usdUnits(t, "40"))}))
	wantResult(t, r.TxResults[0], delegation.ErrInvalidMandate)
	r = w.block(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgUpdateMandate{MandateId: id, Budget: &low}))
	wantResult(t, r.TxResults[0], nil)
	r = w.block(w.txBy([]chain.PrivKey{w.phone}, &pb.MsgRevokeMandate{MandateId: id}))
	wantResult(t, r.TxResults[0], nil)
	r = w.block(w.pay(t, id, "1", "order-7"))
	wantResult(t, r.TxResults[0], delegation.ErrMandateRevoked)
	// Terminal is final.
	r = w.block(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgActivateMandate{MandateId: id}))
	wantResult(t, r.TxResults[0], delegation.ErrMandateRevoked)
	if v := w.mandate(t, id); v.Status != "revoked" || v.Budget != "49" {
		t.Fatalf("after revoke: %+v", v)
	}
}

func sub(t testing.TB, a, b string) string {
	x, _ := chain.ParseBaseUnits(a)
	y, _ := chain.ParseBaseUnits(b)
	d, err := x.Sub(y)
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestRevokeRacingPaymentWins: a payment and a revoke reach the mempool in
// that order; the proposer puts the revoke first, so the payment fails.
func TestRevokeRacingPaymentWins(t *testing.T) {
	w := newShopWorld(t)
	id := w.grant(t)
	pay := w.pay(t, id, "5", "race")
	revoke := w.txBy([]chain.PrivKey{w.watch}, &pb.MsgRevokeMandate{MandateId: id})
	for _, tx := range [][]byte{pay, revoke} {
		if r, _ := w.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx}); r.Code != 0 {
			t.Fatalf("CheckTx: %s", r.Log)
		}
	}
	prep, err := w.app.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: [][]byte{pay, revoke}, MaxTxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(prep.Txs) != 2 || string(prep.Txs[0]) != string(revoke) {
		t.Fatal("the proposer did not put the revoke first")
	}
	r := w.block(prep.Txs...)
	wantResult(t, r.TxResults[0], nil)
	wantResult(t, r.TxResults[1], delegation.ErrMandateRevoked)
	if got := w.balance(payments.EscrowAccount); got != "0" {
		t.Fatalf("escrow holds %s after a revoked payment", got)
	}
}
