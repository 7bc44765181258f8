package app

import (
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/payments"
	"github.com/amp-ledger/amp/modules/trust"
)

// TestGuaranteeRandomSequences drives random sequences of payments, claims
// (by every kind of signer, any reason, in full or in part), merchant
// responses, rulings, bonds, unbonds, mints and window changes through the
// real app (CheckInvariants on: escrow, bonds, pool, claims, supply), with
// block times advancing by seconds to days so that windows close, releases
// happen and silence decides, and checks after every block:
//
//   - conservation: the accounts plus escrow, bonds and pool hold the supply;
//   - no double refund: alice's balance is exactly what she was given, less
//     what her agent paid, plus what the claims say they paid her (from
//     escrow, bonds and pool) — never more;
//   - each payment's status is one the documentation allows for its refunded
//     amount, moves only along the documented transitions, and its refunded
//     amount never shrinks nor exceeds the amount;
//   - each claim moves only open → contested → decided (refunded, queued →
//     refunded, denied), never back, and no claim stays open or contested
//     past its deadline;
//   - every rejection carries a registered code, never internal.
//
// At the end, 200 days later, every payment is settled (released,
// partially_refunded or refunded) and no claim is undecided.
// AMP_GUARANTEE_SEEDS=n runs seeds 1..n.
func TestGuaranteeRandomSequences(t *testing.T) {
	seeds := []int64{1, 2, 3}
	steps := 250
	if testing.Short() {
		steps = 80
	}
	if n, err := strconv.Atoi(os.Getenv("AMP_GUARANTEE_SEEDS")); err == nil && n > 0 {
		seeds = seeds[:0]
		for i := 1; i <= n; i++ {
			seeds = append(seeds, int64(i))
		}
	}
	total := map[string]int{}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			w := newGuaranteeSim(t, seed)
			for i := 0; i < steps; i++ {
				w.step()
			}
			w.finish()
			for k, v := range w.stats {
				total[k] += v
			}
		})
	}
	if t.Failed() {
		return
	}
	k := 1
	if !testing.Short() && len(seeds) >= 3 {
		k = 3
	}
	want := map[string]int{
		"pay:ok": 20 * k, "claim:ok": 10 * k, "respond:accept": 2 * k, "respond:contest": 2 * k,
		"arbitrate:refund": k, "arbitrate:deny": 1, "resolution:merchant_silence": 1, "resolution:arbiter_silence": 1,
		"resolution:accepted": k, "from_bond": 1, "from_pool": 1, "queued": 1, "paid_from_queue": 1,
		"status:partially_refunded": 1, "status:refunded": k, "status:released": k, "bond:ok": k, "unbond:ok": 1,
		"claim:not_claimant": 1, "claim:claim_open": 1, "respond:not_claim_merchant": 1, "arbitrate:not_arbiter": 1,
		"claim:claim_window_closed": 1, "claim:after_release": k,
	}
	var missing []string
	for name, n := range want {
		if total[name] < n {
			missing = append(missing, fmt.Sprintf("%s: %d < %d", name, total[name], n))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the sequences did not exercise enough:\n  %s\nall counts: %v", strings.Join(missing, "\n  "), total)
	}
	t.Logf("counts: %v", total)
}

type gsPayment struct {
	id       string
	amount   chain.Amount
	status   string
	refunded chain.Amount
}

type gsClaim struct {
	id      string
	payment *gsPayment
	status  string
}

type gsMerchant struct {
	key    chain.PrivKey
	settle chain.Address
}

type guaranteeSim struct {
	*gWorld
	rng       *rand.Rand
	seed      int64
	market    chain.PrivKey
	marketSet chain.PrivKey
	merchants []gsMerchant
	mandate2  string // alice → agent-1 for any merchant
	payments  []*gsPayment
	byPayment map[string]*gsPayment
	claims    []*gsClaim
	byClaim   map[string]*gsClaim
	accounts  []chain.Address
	given     chain.Amount // minted to alice plus her genesis balance
	spent     chain.Amount // paid by her agent
	nextRef   int
	stats     map[string]int
}

func newGuaranteeSim(t *testing.T, seed int64) *guaranteeSim {
	tiers := []trust.Tier{{Name: "T0", Label: "open", Autonomous: true, MaxPayment: "1000", MaxDaily: "1000000"}}
	w := newGuaranteeWorld(t, map[string]any{payments.ParamFee: 300, payments.ParamMinBond: "20USD",
		payments.ParamSuspendAfter: 5, trust.ParamTiers: tiers})
	s := &guaranteeSim{gWorld: w, rng: rand.New(rand.NewSource(seed)), seed: seed, market: testKey(t, 61), marketSet: testKey(t, 62),
		byPayment: map[string]*gsPayment{}, byClaim: map[string]*gsClaim{}, stats: map[string]int{}}
	mustOK(t, w.next(w.txBy([]chain.PrivKey{w.issuer, s.market}, &pb.MsgRegisterMerchant{Acquirer: addr(w.issuer), Merchant: addr(s.market),
		Name: "Market", Mcc: "5411", Country: "DE", Settlement: addr(s.marketSet)})))
	r := w.next(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgGrantMandate{Person: addr(w.alice), AgentId: "agent-1", Terms: &pb.Terms{
		Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, ExpiresAt: genesisTime.Add(300 * day).Unix(), Description: "anything",
		Constraints: &pb.Constraints{Budget: usd(t, "1000")}}}))
	mustOK(t, r)
	s.mandate2 = createdID(t, r.TxResults[0])
	s.merchants = []gsMerchant{{key: w.shop, settle: w.shop.PubKey().Address()}, {key: s.market, settle: s.marketSet.PubKey().Address()}}
	for _, k := range []chain.PrivKey{w.issuer, w.alice, w.bob, w.phone, w.watch, w.agent, w.shop, s.market, s.marketSet} {
		s.accounts = append(s.accounts, k.PubKey().Address())
	}
	s.given = w.usdAmount("1000")
	s.check()
	return s
}

func (s *guaranteeSim) usdAmount(a string) chain.Amount {
	v, err := chain.ParseDecimal(a, 18)
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}

func (w *gWorld) usdAmount(a string) chain.Amount {
	v, err := chain.ParseDecimal(a, 18)
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

func (s *guaranteeSim) chance(p float64) bool { return s.rng.Float64() < p }
func (s *guaranteeSim) pick(xs ...string) string {
	return xs[s.rng.Intn(len(xs))]
}

// gsTx is one generated tx and what the model learns from its result.
type gsTx struct {
	kind  string
	raw   []byte
	onOK  func(r *abci.ExecTxResult)
	claim *gsClaim
}

func (s *guaranteeSim) randomPayment(pred func(*gsPayment) bool) *gsPayment {
	var match []*gsPayment
	for _, p := range s.payments {
		if pred == nil || pred(p) {
			match = append(match, p)
		}
	}
	if len(match) == 0 {
		return nil
	}
	if s.chance(0.6) { // prefer recent payments: more of them are claimable
		return match[len(match)-1-s.rng.Intn(min(len(match), 6))]
	}
	return match[s.rng.Intn(len(match))]
}

func (s *guaranteeSim) randomClaim(pred func(*gsClaim) bool) *gsClaim {
	var match []*gsClaim
	for _, c := range s.claims {
		if pred == nil || pred(c) {
			match = append(match, c)
		}
	}
	if len(match) == 0 {
		return nil
	}
	return match[s.rng.Intn(len(match))]
}

func undecided(c *gsClaim) bool { return c.status == "open" || c.status == "contested" }

var gsAmounts = []string{"0.000001", "0.5", "1", "3", "5", "7.25", "10", "20", "40"}

func (s *guaranteeSim) genPay() *gsTx {
	m := s.rng.Intn(2)
	mandate := s.mandate
	if m == 1 || s.chance(0.3) {
		mandate = s.mandate2
	}
	amt := s.pick(gsAmounts...)
	s.nextRef++
	ref := fmt.Sprintf("s%d-%d", s.seed, s.nextRef)
	raw := s.txBy([]chain.PrivKey{s.agent}, &pb.MsgPay{MandateId: mandate, Merchant: addr(s.merchants[m].key), Amount: usd(s.t, amt), OrderHash: orderHash(ref)})
	return &gsTx{kind: "pay", raw: raw, onOK: func(r *abci.ExecTxResult) {
		a := s.usdAmount(amt)
		p := &gsPayment{id: createdID(s.t, r), amount: a, status: "escrowed"}
		s.payments = append(s.payments, p)
		s.byPayment[p.id] = p
		s.spent = mpAdd(s.spent, a)
	}}
}

func (s *guaranteeSim) genClaim() *gsTx {
	p := s.randomPayment(func(p *gsPayment) bool { return p.status != "refunded" })
	if p == nil {
		return nil
	}
	signer := []chain.PrivKey{s.alice, s.alice, s.alice, s.watch, s.agent, s.bob}[s.rng.Intn(6)]
	reason := s.pick(payments.ReasonNames...)
	amount := ""
	if s.chance(0.4) {
		left, _ := p.amount.Sub(p.refunded)
		if s.chance(0.85) {
			// a part of what is left (at least one base unit)
			x, _ := left.MulDiv(uint64(1+s.rng.Intn(99)), 100)
			if x.IsZero() {
				x = left
			}
			amount = chain.FormatDecimal(x, 18)
		} else {
			amount = chain.FormatDecimal(mpAdd(left, chain.NewAmount(1)), 18) // too much
		}
	}
	raw := s.txBy([]chain.PrivKey{signer}, claimMsg(s.t, p.id, reason, amount))
	return &gsTx{kind: "claim", raw: raw, onOK: func(r *abci.ExecTxResult) {
		c := &gsClaim{id: createdID(s.t, r), payment: p, status: "open"}
		s.claims = append(s.claims, c)
		s.byClaim[c.id] = c
		if p.status != "escrowed" && p.status != "disputed" {
			s.stats["claim:after_release"]++
		}
	}}
}

func (s *guaranteeSim) merchantOf(c *gsClaim) chain.PrivKey {
	v := s.claimView(c.id)
	for _, m := range s.merchants {
		if m.key.PubKey().Address() == v.Merchant {
			return m.key
		}
	}
	s.t.Fatalf("%s: unknown merchant", c.id)
	return nil
}

func (s *guaranteeSim) genRespond() *gsTx {
	c := s.randomClaim(func(c *gsClaim) bool { return c.status == "open" || s.chance(0.1) })
	if c == nil {
		return nil
	}
	signer := s.merchantOf(c)
	if s.chance(0.1) {
		signer = s.bob
	}
	accept := s.chance(0.45)
	kind := "respond"
	resp := pb.ClaimResponse_CLAIM_RESPONSE_CONTEST
	if accept {
		resp = pb.ClaimResponse_CLAIM_RESPONSE_ACCEPT
	}
	raw := s.txBy([]chain.PrivKey{signer}, &pb.MsgRespondClaim{ClaimId: c.id, Response: resp, EvidenceHash: orderHash("proof")})
	return &gsTx{kind: kind, raw: raw, claim: c, onOK: func(*abci.ExecTxResult) {
		if accept {
			s.stats["respond:accept"]++
		} else {
			s.stats["respond:contest"]++
		}
	}}
}

func (s *guaranteeSim) genArbitrate() *gsTx {
	c := s.randomClaim(func(c *gsClaim) bool { return c.status == "contested" || s.chance(0.05) })
	if c == nil {
		return nil
	}
	arb := s.issuer
	if s.chance(0.1) {
		arb = s.bob
	}
	refund := s.chance(0.6)
	amount := ""
	if refund && s.chance(0.4) {
		v := s.claimView(c.id)
		a := s.usdAmount(v.Amount)
		x, _ := a.MulDiv(uint64(1+s.rng.Intn(100)), 100)
		if x.IsZero() {
			x = a
		}
		amount = chain.FormatDecimal(x, 18)
	}
	raw := s.txBy([]chain.PrivKey{arb}, arbitrateMsg(s.t, arb, c.id, refund, amount))
	return &gsTx{kind: "arbitrate", raw: raw, claim: c, onOK: func(*abci.ExecTxResult) {
		if refund {
			s.stats["arbitrate:refund"]++
		} else {
			s.stats["arbitrate:deny"]++
		}
	}}
}

func (s *guaranteeSim) genBond(unbond bool) *gsTx {
	m := s.merchants[s.rng.Intn(2)]
	amt := usd(s.t, s.pick("1", "5", "10", "25"))
	var msg proto.Message = &pb.MsgBond{Merchant: addr(m.key), Amount: amt}
	kind := "bond"
	if unbond {
		msg, kind = &pb.MsgUnbond{Merchant: addr(m.key), Amount: amt}, "unbond"
	}
	return &gsTx{kind: kind, raw: s.txBy([]chain.PrivKey{m.key}, msg)}
}

func (s *guaranteeSim) genMint() *gsTx {
	to := s.alice
	if s.chance(0.5) {
		to = s.merchants[s.rng.Intn(2)].key
	}
	amt := s.pick("10", "50", "100")
	raw := s.tx(s.issuer, mintMsg(s.t, s.issuer.PubKey().Address(), to.PubKey().Address(), amt))
	return &gsTx{kind: "mint", raw: raw, onOK: func(*abci.ExecTxResult) {
		if to == s.alice {
			s.given = mpAdd(s.given, s.usdAmount(amt))
		}
	}}
}

func (s *guaranteeSim) genWindow() *gsTx {
	m := s.merchants[s.rng.Intn(2)]
	secs := []uint64{3600, 86400, 2 * 86400, 7 * 86400, 10 * 86400}[s.rng.Intn(5)]
	return &gsTx{kind: "window", raw: s.txBy([]chain.PrivKey{m.key}, &pb.MsgSetProtectionWindow{Merchant: addr(m.key), Seconds: secs})}
}

func (s *guaranteeSim) genReinstate() *gsTx {
	return &gsTx{kind: "reinstate", raw: s.tx(s.issuer, &pb.MsgReinstateAgent{Issuer: addr(s.issuer), AgentId: "agent-1"})}
}

func (s *guaranteeSim) gen() *gsTx {
	for {
		var tx *gsTx
		switch r := s.rng.Intn(100); {
		case r < 30:
			tx = s.genPay()
		case r < 52:
			tx = s.genClaim()
		case r < 67:
			tx = s.genRespond()
		case r < 77:
			tx = s.genArbitrate()
		case r < 84:
			tx = s.genBond(false)
		case r < 88:
			tx = s.genBond(true)
		case r < 93:
			tx = s.genMint()
		case r < 97:
			tx = s.genWindow()
		default:
			tx = s.genReinstate()
		}
		if tx != nil {
			return tx
		}
	}
}

func (s *guaranteeSim) step() {
	n := 1 + s.rng.Intn(3)
	txs := make([]*gsTx, n)
	raws := make([][]byte, n)
	for i := range txs {
		txs[i] = s.gen()
		raws[i] = txs[i].raw
	}
	var d time.Duration
	switch r := s.rng.Intn(100); {
	case r < 55:
		d = time.Duration(1+s.rng.Intn(60)) * time.Second
	case r < 85:
		d = time.Duration(1+s.rng.Intn(24)) * time.Hour
	default:
		d = time.Duration(1+s.rng.Intn(9)) * day
	}
	resp := s.after(d, raws...)
	for i, r := range resp.TxResults {
		tx := txs[i]
		if r.Code == 0 {
			s.stats[tx.kind+":ok"]++
			if tx.onOK != nil {
				tx.onOK(r)
			}
			continue
		}
		e, ok := chain.ErrorByCode(r.Code)
		if !ok || e.Code == chain.ErrInternal.Code {
			s.t.Fatalf("seed %d height %d: %s failed with unregistered or internal code %d: %s", s.seed, s.height, tx.kind, r.Code, r.Log)
		}
		s.stats[tx.kind+":"+e.Reason]++
	}
	s.check()
}

// legal payment transitions, by status (docs/guarantee.md#payment-states).
var gsPaymentNext = map[string][]string{
	"escrowed":           {"escrowed", "disputed", "released", "partially_refunded", "refunded"},
	"disputed":           {"disputed", "escrowed", "released", "partially_refunded", "refunded"},
	"released":           {"released", "partially_refunded", "refunded"},
	"partially_refunded": {"partially_refunded", "refunded"},
	"refunded":           {"refunded"},
}

var gsClaimNext = map[string][]string{
	"open":      {"open", "contested", "refunded", "queued", "denied"},
	"contested": {"contested", "refunded", "queued", "denied"},
	"queued":    {"queued", "refunded"},
	"refunded":  {"refunded"},
	"denied":    {"denied"},
}

func allowed(next map[string][]string, from, to string) bool {
	for _, s := range next[from] {
		if s == to {
			return true
		}
	}
	return false
}

func (s *guaranteeSim) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d height %d: %s", s.seed, s.height, fmt.Sprintf(format, args...))
}

func (s *guaranteeSim) check() {
	s.t.Helper()
	// Conservation.
	var sum chain.Amount
	for _, a := range append(s.accounts, payments.EscrowAccount, payments.BondAccount, payments.PoolAccount) {
		sum = mpAdd(sum, s.usdAmount2(s.balance(a)))
	}
	var supply bank.BalanceView
	if r := s.query("/bank/supply/USD", &supply); r.Code != 0 {
		s.fail("supply: %s", r.Log)
	}
	if sum.Cmp(s.usdAmount2(supply.BaseUnits)) != 0 {
		s.fail("the accounts, escrow, bonds and pool hold %s, the supply is %s", sum, supply.BaseUnits)
	}
	// Payments.
	now := s.now.Unix()
	for _, p := range s.payments {
		v := s.paymentView(p.id)
		refunded := chain.Amount{}
		if v.RefundedBaseUnits != "" {
			refunded = s.usdAmount2(v.RefundedBaseUnits)
		}
		if !allowed(gsPaymentNext, p.status, v.Status) {
			s.fail("%s went from %s to %s", p.id, p.status, v.Status)
		}
		if refunded.Cmp(p.refunded) < 0 || refunded.Cmp(p.amount) > 0 {
			s.fail("%s refunded %s (was %s) of %s", p.id, refunded, p.refunded, p.amount)
		}
		switch v.Status {
		case "released":
			if !refunded.IsZero() {
				s.fail("%s released with %s refunded", p.id, refunded)
			}
		case "partially_refunded":
			if refunded.IsZero() || refunded.Cmp(p.amount) == 0 {
				s.fail("%s partially refunded with %s of %s", p.id, refunded, p.amount)
			}
		case "refunded":
			if refunded.Cmp(p.amount) != 0 {
				s.fail("%s refunded with %s of %s", p.id, refunded, p.amount)
			}
		}
		if v.Status != p.status {
			s.stats["status:"+v.Status]++
		}
		p.status, p.refunded = v.Status, refunded
	}
	// Claims, and what they paid alice.
	var paid chain.Amount
	for _, c := range s.claims {
		v := s.claimView(c.id)
		if !allowed(gsClaimNext, c.status, v.Status) {
			s.fail("%s went from %s to %s", c.id, c.status, v.Status)
		}
		if (v.Status == "open" || v.Status == "contested") && v.Deadline <= now {
			s.fail("%s is still %s past its deadline %d (now %d)", c.id, v.Status, v.Deadline, now)
		}
		for _, f := range []string{"from_escrow", "from_bond", "from_pool"} {
			if b := v.BaseUnits[f]; b != "" {
				paid = mpAdd(paid, s.usdAmount2(b))
			}
		}
		if v.Status != c.status {
			if v.Resolution != "" && !undecided(&gsClaim{status: v.Status}) && undecided(c) {
				s.stats["resolution:"+v.Resolution]++
				if v.BaseUnits["from_bond"] != "" && v.BaseUnits["from_bond"] != "0" {
					s.stats["from_bond"]++
				}
				if v.BaseUnits["from_pool"] != "" && v.BaseUnits["from_pool"] != "0" {
					s.stats["from_pool"]++
				}
				if v.Status == "queued" {
					s.stats["queued"]++
				}
			}
			if c.status == "queued" {
				s.stats["paid_from_queue"]++
			}
		} else if c.status == "queued" && v.BaseUnits["from_pool"] != "" {
			// paid in part from the queue: counted when the claim moves on
		}
		c.status = v.Status
	}
	// No double refund: alice holds exactly what she was given, less what
	// her agent paid, plus what the claims paid her.
	want, err := s.given.Sub(s.spent)
	if err != nil {
		s.fail("alice spent more than she had")
	}
	want = mpAdd(want, paid)
	if got := s.usdAmount2(s.balance(s.alice.PubKey().Address())); got.Cmp(want) != 0 {
		s.fail("alice holds %s: given %s, spent %s, refunds paid %s", got, s.given, s.spent, paid)
	}
}

func (s *guaranteeSim) usdAmount2(base string) chain.Amount {
	a, err := chain.ParseBaseUnits(base)
	if err != nil {
		s.t.Fatal(err)
	}
	return a
}

// finish lets every window pass: every payment settles, no claim stays
// undecided (a queued one waits only for the pool).
func (s *guaranteeSim) finish() {
	for i := 0; i < 5; i++ {
		s.after(50 * day)
		s.check()
	}
	var ag identity.AgentView
	s.query("/identity/agent/agent-1", &ag)
	for _, p := range s.payments {
		if p.status != "released" && p.status != "partially_refunded" && p.status != "refunded" {
			s.fail("%s is %s after every window", p.id, p.status)
		}
	}
	queued := 0
	for _, c := range s.claims {
		if undecided(c) {
			s.fail("%s is %s after every deadline", c.id, c.status)
		}
		if c.status == "queued" {
			queued++
		}
	}
	var pool payments.PoolView
	s.query("/payments/pool", &pool)
	s.t.Logf("seed %d: height %d, %d payments, %d claims (%d queued), agent %s, pool %+v", s.seed, s.height, len(s.payments), len(s.claims), queued, ag.Status, pool.Assets)
}
