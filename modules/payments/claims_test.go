package payments

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
	"github.com/amp-ledger/amp/modules/trust"
)

// kworld is the fuzz world with its keepers at hand.
type kworld struct {
	*world
	ps  *params.Keeper
	bk  *bank.Keeper
	pay *Keeper
}

// newKWorld is newWorld keeping the keepers (and without the fuzz seeds).
func newKWorld(t testing.TB) *kworld {
	w := &world{store: module.NewMemStore(), now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
		member: key(t, chain.KeyEd25519, 1), alice: key(t, chain.KeyEd25519, 2), watch: key(t, chain.KeyP256, 3),
		agent: key(t, chain.KeyP256, 4), shop: key(t, chain.KeyEd25519, 5), stranger: key(t, chain.KeyEd25519, 6)}
	ps := params.New()
	members := consortium.New(ps)
	bk := bank.New(members)
	id := identity.New(ps, members, bk)
	tr := trust.New(ps, id)
	id.SetObserver(tr)
	dl := delegation.New(ps, bk, id, tr)
	pay := New(ps, bk, id, dl, tr)
	w.authorizers = []module.Authorizer{id.Authorizer()}
	a := func(k chain.PrivKey) chain.Address { return k.PubKey().Address() }
	gen := []struct {
		m module.HasGenesis
		v any
	}{
		{ps, map[string]any{}},
		{members, consortium.Genesis{Members: []consortium.Member{{Name: "m", Address: a(w.member), Roles: consortium.AllRoles[1:]}}}},
		{bk, bank.Genesis{Assets: []chain.Asset{{Symbol: "USD", Decimals: 18}}, Balances: []bank.GenesisBalance{{Address: a(w.alice), Coins: []string{"1000USD"}}}}},
		{id, identity.Genesis{
			Persons: []identity.GenesisPerson{{Address: a(w.alice), Wallet: a(w.member), IDVHash: make([]byte, 32)}},
			Devices: []identity.GenesisDevice{{Person: a(w.alice), Key: identity.KeyOf(w.watch.PubKey()), Kind: "watch", Label: "w", Scopes: []string{identity.ScopeApprove, identity.ScopeClaim}}},
			Agents: []identity.GenesisAgent{{Issuer: a(w.member), Key: identity.KeyOf(w.agent.PubKey()), Owner: a(w.alice), Builder: "b",
				Profile: identity.Profile{Name: "helper"}, Review: identity.GenesisReview{Items: identity.LevelItems(2), Level: 2, ExpiresAt: w.now.Add(300 * 24 * time.Hour).Unix()}}},
			Merchants: []identity.GenesisMerchant{{Acquirer: a(w.member), Address: a(w.shop), Name: "shop", MCC: "5999", Country: "SG", Settlement: a(w.shop)}},
			Bindings:  []identity.GenesisBinding{{Person: a(w.alice), AgentKey: a(w.agent)}},
		}},
		{dl, delegation.Genesis{Mandates: []delegation.GenesisMandate{{Person: a(w.alice), AgentKey: a(w.agent), Budget: "500USD",
			MaxPayment: "20USD", Merchants: []chain.Address{a(w.shop)}, ExpiresAt: w.now.Add(24 * time.Hour).Unix()}}}},
	}
	ctx := w.ctx(w.store)
	for _, g := range gen {
		raw, _ := json.Marshal(g.v)
		if err := g.m.InitGenesis(ctx, raw); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []any{id, dl, pay} {
		w.routes = append(w.routes, m.(module.HasMsgs).Routes()...)
	}
	for _, m := range []module.HasInvariants{bk, id, dl, pay} {
		w.invariants = append(w.invariants, m.Invariants()...)
	}
	return &kworld{world: w, ps: ps, bk: bk, pay: pay}
}

// run handles msg signed by signers on a copy of the store, keeping the
// copy only if it succeeds, then checks the invariants.
func (w *kworld) run(t testing.TB, msg proto.Message, signers ...chain.PrivKey) error {
	t.Helper()
	for _, r := range w.routes {
		if r.Type != chain.MsgType(msg) {
			continue
		}
		s := w.store.Clone()
		if err := r.Handle(w.ctx(s, signers...), msg); err != nil {
			var ce *chain.Error
			if !errors.As(err, &ce) || ce.Code == chain.ErrInternal.Code {
				t.Fatalf("%T: unregistered or internal error %v", msg, err)
			}
			return err
		}
		w.store = s
		w.checkInvariants(t)
		return nil
	}
	t.Fatalf("no route for %T", msg)
	return nil
}

func (w *kworld) checkInvariants(t testing.TB) {
	t.Helper()
	for _, inv := range w.invariants {
		if err := inv.Check(w.ctx(w.store)); err != nil {
			t.Fatalf("%s: %v", inv.Name, err)
		}
	}
}

func (w *kworld) endBlock(t testing.TB) {
	t.Helper()
	if err := w.pay.EndBlock(w.ctx(w.store)); err != nil {
		t.Fatal(err)
	}
	w.checkInvariants(t)
}

func usdCoin(t testing.TB, s string) *pb.Coin {
	a, err := chain.ParseDecimal(s, 18)
	if err != nil {
		t.Fatal(err)
	}
	return &pb.Coin{Asset: "USD", Amount: a.String()}
}

func (w *kworld) payment(t testing.TB, amount, ref string) uint64 {
	t.Helper()
	shop := w.shop.PubKey().Address()
	h := make([]byte, 32)
	copy(h, ref)
	if err := w.run(t, &pb.MsgPay{MandateId: "mandate-1", Merchant: shop[:], Amount: usdCoin(t, amount), OrderHash: h}, w.agent); err != nil {
		t.Fatal(err)
	}
	var n uint64
	st(w.ctx(w.store)).Iterate([]byte("p/"), func(k, _ []byte) bool { n = beU64(k[2:]); return true })
	return n
}

func (w *kworld) claim(t testing.TB, payment uint64, amount string) (*pb.Claim, error) {
	m := &pb.MsgFileClaim{PaymentId: PaymentID(payment), Reason: pb.ClaimReason_CLAIM_REASON_NOT_RECEIVED}
	if amount != "" {
		m.Amount = usdCoin(t, amount)
	}
	if err := w.run(t, m, w.alice); err != nil {
		return nil, err
	}
	var n uint64
	st(w.ctx(w.store)).Iterate([]byte("c/"), func(k, _ []byte) bool { n = beU64(k[2:]); return true })
	c, err := w.pay.Claim(w.ctx(w.store), n)
	if err != nil {
		t.Fatal(err)
	}
	return c, nil
}

// fakeRules answers every claim the same way.
type fakeRules struct {
	v      ClaimVerdict
	refund chain.Amount
	err    error
	facts  []ClaimFacts
}

func (*fakeRules) CheckPayment(*module.Context, PaymentFacts) (int64, error) { return 0, nil }
func (f *fakeRules) CheckClaim(_ *module.Context, cf ClaimFacts) (ClaimVerdict, chain.Amount, error) {
	f.facts = append(f.facts, cf)
	return f.v, f.refund, f.err
}

// TestClaimRuleVerdicts: the merchant's claim rule decides first: approve
// refunds at once (at most the claimed amount; approving nothing is no
// answer), deny sends the claim to arbitration, no answer and a rule's
// failure leave it to the merchant.
func TestClaimRuleVerdicts(t *testing.T) {
	usd := func(s string) chain.Amount { a, _ := chain.ParseDecimal(s, 18); return a }
	for _, c := range []struct {
		name   string
		rules  *fakeRules
		status uint32
		refund string
	}{
		{"approve in part", &fakeRules{v: ClaimApprove, refund: usd("2")}, ClaimRefunded, usd("2").String()},
		{"approve more than claimed", &fakeRules{v: ClaimApprove, refund: usd("50")}, ClaimRefunded, usd("5").String()},
		{"approve nothing", &fakeRules{v: ClaimApprove}, ClaimOpen, ""},
		{"deny", &fakeRules{v: ClaimDeny}, ClaimContested, ""},
		{"no answer", &fakeRules{v: ClaimNoAnswer}, ClaimOpen, ""},
		{"trap", &fakeRules{v: ClaimApprove, refund: usd("1"), err: errors.New("trap")}, ClaimOpen, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newKWorld(t)
			w.pay.SetRules(c.rules)
			p := w.payment(t, "10", "r-1")
			cl, err := w.claim(t, p, "5")
			if err != nil {
				t.Fatal(err)
			}
			if cl.Status != c.status || cl.Refund != c.refund {
				t.Fatalf("claim %+v", cl)
			}
			f := c.rules.facts[0]
			if len(c.rules.facts) != 1 || f.Payment != p || f.Claim != cl.Id || f.Claimed.Amount.Cmp(usd("5")) != 0 || f.Paid.Amount.Cmp(usd("10")) != 0 ||
				f.Reason != 2 || f.Payer != w.alice.PubKey().Address() || f.Merchant != w.shop.PubKey().Address() {
				t.Fatalf("facts %+v", c.rules.facts)
			}
			if c.status == ClaimContested && cl.ArbitrationDeadline != w.now.Unix()+14*86400 {
				t.Fatalf("contested by the rule: %+v", cl)
			}
		})
	}
}

// TestEndBlockResolvesAtDeadline: silence decides at the first end of
// block at or after the deadline, not before.
func TestEndBlockResolvesAtDeadline(t *testing.T) {
	w := newKWorld(t)
	p := w.payment(t, "10", "d-1")
	cl, err := w.claim(t, p, "")
	if err != nil {
		t.Fatal(err)
	}
	w.now = time.Unix(cl.ResponseDeadline-1, 0)
	w.endBlock(t)
	if c, _ := w.pay.Claim(w.ctx(w.store), cl.Id); c.Status != ClaimOpen {
		t.Fatalf("decided early: %+v", c)
	}
	w.now = time.Unix(cl.ResponseDeadline, 0)
	w.endBlock(t)
	c, _ := w.pay.Claim(w.ctx(w.store), cl.Id)
	if c.Status != ClaimRefunded || c.Resolution != ResolutionMerchantSilent {
		t.Fatalf("at the deadline: %+v", c)
	}
	pm, _ := w.pay.Payment(w.ctx(w.store), p)
	if pm.Status != StatusRefunded {
		t.Fatalf("payment %+v", pm)
	}
}

// TestGuaranteeParamsValidate: the parameters refuse what they cannot use.
func TestGuaranteeParamsValidate(t *testing.T) {
	ps := params.New()
	New(ps, bank.New(nil), nil, nil, nil)
	for key, bad := range map[string]string{
		ParamClaimWindows:   `{"unauthorized": 1}`,
		ParamArbiter:        `"anyone"`,
		ParamFee:            `10001`,
		ParamMinBond:        `"lots"`,
		ParamSuspendAfter:   `-1`,
		ParamResponseWindow: `"7d"`,
	} {
		if err := ps.Validate(key, json.RawMessage(bad)); err == nil {
			t.Errorf("%s accepted %s", key, bad)
		}
	}
	good, _ := json.Marshal(DefaultClaimWindows())
	for key, ok := range map[string]string{ParamClaimWindows: string(good), ParamArbiter: `"arbiter_role"`, ParamMinBond: `"0.5USD"`, ParamFee: `0`} {
		if err := ps.Validate(key, json.RawMessage(ok)); err != nil {
			t.Errorf("%s refused %s: %v", key, ok, err)
		}
	}
}

// FuzzGuaranteeMsgs feeds arbitrary bytes, as any payments message, to a
// world with an escrowed payment, an open claim, a contested claim, a
// released payment and a bonded merchant, signed by every key of it.
// Nothing may panic; a failure is a registered error other than internal;
// a success keeps every invariant, and so does the end of block after it.
func FuzzGuaranteeMsgs(f *testing.F) {
	w := newKWorld(f)
	shop := w.shop.PubKey().Address()
	member := w.member.PubKey().Address()
	p1 := w.payment(f, "10", "f-1")
	p2 := w.payment(f, "5", "f-2")
	p3 := w.payment(f, "7", "f-3")
	if _, err := w.claim(f, p2, "2"); err != nil {
		f.Fatal(err)
	}
	c3, err := w.claim(f, p3, "")
	if err != nil {
		f.Fatal(err)
	}
	if err := w.run(f, &pb.MsgRespondClaim{ClaimId: ClaimID(c3.Id), Response: pb.ClaimResponse_CLAIM_RESPONSE_CONTEST}, w.shop); err != nil {
		f.Fatal(err)
	}
	ctx := w.ctx(w.store)
	if err := w.bk.Mint(ctx, shop, chain.Coin{Asset: "USD", Amount: chain.NewAmount(5_000_000_000_000_000_000)}); err != nil {
		f.Fatal(err)
	}
	if err := w.run(f, &pb.MsgBond{Merchant: shop[:], Amount: usdCoin(f, "3")}, w.shop); err != nil {
		f.Fatal(err)
	}
	h := make([]byte, 32)
	seeds := []proto.Message{
		&pb.MsgFileClaim{PaymentId: PaymentID(p1), Reason: pb.ClaimReason_CLAIM_REASON_UNAUTHORIZED, EvidenceHash: h},
		&pb.MsgFileClaim{PaymentId: PaymentID(p1), Reason: pb.ClaimReason_CLAIM_REASON_OTHER, Amount: usdCoin(f, "1")},
		&pb.MsgRespondClaim{ClaimId: "claim-1", Response: pb.ClaimResponse_CLAIM_RESPONSE_ACCEPT},
		&pb.MsgRespondClaim{ClaimId: "claim-1", Response: pb.ClaimResponse_CLAIM_RESPONSE_CONTEST, EvidenceHash: h},
		&pb.MsgArbitrateClaim{Arbiter: member[:], ClaimId: ClaimID(c3.Id), Decision: pb.ArbitrationDecision_ARBITRATION_DECISION_REFUND, Amount: usdCoin(f, "3")},
		&pb.MsgArbitrateClaim{Arbiter: member[:], ClaimId: ClaimID(c3.Id), Decision: pb.ArbitrationDecision_ARBITRATION_DECISION_DENY},
		&pb.MsgBond{Merchant: shop[:], Amount: usdCoin(f, "1")},
		&pb.MsgUnbond{Merchant: shop[:], Amount: usdCoin(f, "2")},
		&pb.MsgSetProtectionWindow{Merchant: shop[:], Seconds: 3600},
	}
	var routes []module.Route
	for _, r := range w.routes {
		if len(r.Type) > len("amp.payments.") && r.Type[:len("amp.payments.")] == "amp.payments." {
			routes = append(routes, r)
		}
	}
	index := map[string]int{}
	for i, r := range routes {
		index[r.Type] = i
	}
	for _, m := range seeds {
		raw, err := chain.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(index[chain.MsgType(m)]), uint16(0), raw)
	}
	signers := []chain.PrivKey{w.agent, w.alice, w.watch, w.shop, w.member, w.stranger}
	base, now := w.store, w.now
	f.Fuzz(func(t *testing.T, which uint8, hours uint16, raw []byte) {
		r := routes[int(which)%len(routes)]
		m, err := r.Decode(raw)
		if err != nil {
			return
		}
		s := base.Clone()
		at := now.Add(time.Duration(hours) * time.Hour)
		ctx := w.ctxAt(s, at, signers...)
		if err := r.Handle(ctx, m); err != nil {
			var ce *chain.Error
			if !errors.As(err, &ce) || ce.Code == chain.ErrInternal.Code {
				t.Fatalf("%s: unregistered or internal error %v", r.Type, err)
			}
			return
		}
		if err := w.pay.EndBlock(w.ctxAt(s, at)); err != nil {
			t.Fatalf("end of block after %s: %v", r.Type, err)
		}
		for _, inv := range w.invariants {
			if err := inv.Check(w.ctxAt(s, at)); err != nil {
				t.Fatalf("%s broke %s: %v", r.Type, inv.Name, err)
			}
		}
	})
}

func (w *kworld) ctxAt(s module.Store, at time.Time, signers ...chain.PrivKey) *module.Context {
	pks := make([]chain.PubKey, len(signers))
	for i, k := range signers {
		pks[i] = k.PubKey()
	}
	return module.NewContext("fuzz", 3, at, s, pks, w.authorizers)
}
