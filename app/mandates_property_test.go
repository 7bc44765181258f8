package app

import (
	"context"
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
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/payments"
)

// TestMandatesRandomSequences drives random sequences of mandate and
// payment txs through the real app (CheckInvariants on, blocks of 1-4 txs,
// block times advancing by seconds to days) and checks after every block,
// besides the modules' own invariants:
//
//   - money is conserved: the accounts involved plus escrow hold the supply;
//   - every mandate's consumed amount is at most its budget, equals the sum
//     of its bills and what this test saw captured; its budget and payment
//     count match the model;
//   - status transitions are legal: terminal statuses never change,
//     inactive→activated only by an activation, revoked only by a revoke,
//     finished only by a close, a paid checkout or a used-up budget,
//     expired only past the expiry, and nothing stays open past its expiry;
//   - a payment (direct, authorisation or capture) succeeds only under a
//     mandate that is activated and unexpired at that point of the block;
//   - a captured token cannot be captured again (token_invalid), a capture
//     that differs from its token in amount (above), order or asset is
//     refused (order_inconsistent), an order is paid at most once
//     (duplicate_order), expired tokens are released and escrow is released
//     after the merchant's protection window;
//   - a payment that succeeds respects its mandate's terms: an IMMEDIATE
//     one its checkout; an AUTONOMOUS one its merchant scope, approval
//     threshold (co-signed above it) and, while no update changed them, its
//     max_payment, per_period and per_period_count in the period it was
//     reserved in;
//   - the budgets a person activated today stay within the daily limit (S1);
//   - every rejection carries a registered code, never internal (which is
//     also what a handler panic turns into).
//
// Half the blocks go through PrepareProposal/ProcessProposal (revocations
// first); now and then the node restarts between blocks. Tokens are valid
// for mpValidity blocks (a genesis override) so that they expire within the
// sequences. AMP_MANDATE_SEEDS=n runs seeds 1..n for a longer exploration.
//
// Where the model knows the outcome for sure (a revoke by an authorised key
// of an open mandate, a pay under a terminal one, ...) the exact code is
// required too.
func TestMandatesRandomSequences(t *testing.T) {
	seeds := []int64{1, 2, 3}
	steps := 220
	if testing.Short() {
		steps = 60
	}
	// AMP_MANDATE_SEEDS=n explores seeds 1..n instead (for a long run).
	if n, err := strconv.Atoi(os.Getenv("AMP_MANDATE_SEEDS")); err == nil && n > 0 {
		seeds = seeds[:0]
		for i := 1; i <= n; i++ {
			seeds = append(seeds, int64(i))
		}
	}
	total := map[string]int{}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			w := newMandateWorld(t, seed)
			for i := 0; i < steps; i++ {
				w.step()
			}
			w.advanceTo(w.now.Add(11 * 24 * time.Hour)) // let every escrow release
			w.check(true)
			for k, v := range w.stats {
				total[k] += v
			}
			t.Logf("seed %d: height %d, %d mandates, %d tokens, %d payments, %s of block time",
				seed, w.height, len(w.mandates), len(w.tokens), len(w.payments), w.now.Sub(genesisTime).Round(time.Hour))
		})
	}
	if t.Failed() {
		return
	}
	// The sequences must exercise successes and every guard, or the
	// properties above would hold vacuously.
	k := 1
	if !testing.Short() {
		k = 3
	}
	want := map[string]int{
		"pay:ok":                       8 * k,
		"authorize:ok":                 3 * k,
		"capture:ok":                   3 * k,
		"capture:partial":              1,
		"capture:partial_immediate":    1,
		"pay:tiny":                     1,
		"pay:approved":                 1,
		"grant:ok":                     5 * k,
		"grant_immediate:ok":           k,
		"draft:ok":                     k,
		"activate:ok":                  1,
		"update:ok":                    k,
		"revoke:ok":                    k,
		"close:ok":                     1,
		"mint:ok":                      1,
		"capture:order_inconsistent":   k,
		"capture:token_invalid":        1,
		"double_capture":               1,
		"dup:duplicate_order":          1,
		"pay:approval_required":        1,
		"token_released":               1,
		"period_rollover":              1,
		"escrow_released":              5 * k,
		"status:revoked":               k,
		"status:expired":               1,
		"status:finished":              k,
		"status:activated_by_activate": 1,
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
	if !testing.Short() {
		t.Logf("counts: %v", total)
	}
}

// mpValidity is payments.token_validity_blocks in this test's genesis: low,
// so that tokens expire within the sequences.
const mpValidity = 6

const (
	mpInactive  = "inactive"
	mpActivated = "activated"
	mpRevoked   = "revoked"
	mpExpired   = "expired"
	mpFinished  = "finished"
)

func mpTerminal(s string) bool { return s == mpRevoked || s == mpExpired || s == mpFinished }

// mpStatusErr is the code a mandate in status s gives when it must be
// activated (delegation's statusError).
func mpStatusErr(s string) *chain.Error {
	switch s {
	case mpRevoked:
		return delegation.ErrMandateRevoked
	case mpExpired:
		return delegation.ErrMandateExpired
	case mpFinished:
		return delegation.ErrMandateFinished
	}
	return delegation.ErrMandateNotActive
}

type mpParty struct {
	name     string
	person   chain.PrivKey
	agent    chain.PrivKey
	agentID  string
	revokers []chain.PrivKey // the person and devices with the revoke scope
	approver chain.PrivKey   // co-signs amounts above an approval threshold
	noScope  chain.PrivKey   // a device of the person without activate/update scope (nil: none)
}

type mpMerchant struct {
	key          chain.PrivKey
	settle       chain.Address
	window       int64
	mcc, country string
}

type mpOrder struct {
	merchant int
	amount   chain.Amount
	ref      string
}

func (o mpOrder) key() string { return fmt.Sprintf("%d/%s", o.merchant, o.ref) }

type mpMandate struct {
	id        string
	party     *mpParty
	immediate bool
	checkout  mpOrder
	// As observed after the last block.
	status    string
	consumed  chain.Amount
	budget    chain.Amount
	expiresAt int64
	// The model within the current block: status, budget, consumed and
	// expiry after the txs applied so far.
	cur         string
	curBudget   chain.Amount
	curConsumed chain.Amount
	curExpires  int64
	payments    uint32
	uncertain   bool // an update may have finished it in this block
	touched     bool
	// The terms as granted, when it was activated, whether an update
	// changed its per-payment or per-period limits, and the payments
	// counted per period (index → amount, count).
	terms         *pb.Terms
	activatedAt   int64
	limitsChanged bool
	periods       map[int64]*mpPeriod
}

type mpPeriod struct {
	spent chain.Amount
	count uint32
}

type mpToken struct {
	id            string
	m             *mpMandate
	order         mpOrder
	expiresHeight int64
	reservedAt    int64 // block time of the authorisation
	captured      bool
	gone          bool
}

type mpPayment struct {
	id        string
	m         *mpMandate
	amount    chain.Amount
	releaseAt int64
	released  bool
}

type mpTx struct {
	kind   string
	desc   string
	raw    []byte
	signer chain.Address
	m      *mpMandate
	tok    *mpToken
	order  mpOrder
	// Flags for the expectations.
	rightAgent    bool // pay/authorize signed by the mandate's agent
	rightMerchant bool // capture signed by the token's merchant or acquirer
	authorized    bool // activate/update/revoke/close signed by a key that may
	badCapture    bool // capture differs from its token: amount above, order or asset
	partial       bool
	cosigned      bool
	newBudget     *chain.Amount
	newExpires    *int64
	newApproval   *string
	limits        bool // the update sets max_payment, per_period or per_period_count
	party         *mpParty
	terms         *pb.Terms
	immediate     bool
	checkout      mpOrder
}

type mandateWorld struct {
	*testChain
	t         *testing.T
	seed      int64
	rng       *rand.Rand
	now       time.Time
	parties   []*mpParty
	merchants []*mpMerchant
	mandates  []*mpMandate
	byID      map[string]*mpMandate
	tokens    []*mpToken
	payments  []*mpPayment
	paid      map[string]bool
	paidList  []mpOrder
	nextRef   int
	accounts  []chain.Address
	trace     []string
	stats     map[string]int
	approvals map[string]chain.Amount // approval threshold per AUTONOMOUS mandate, as generated
}

// newMandateChain is newTestChain with a short token validity.
func newMandateChain(t *testing.T) *testChain {
	t.Helper()
	return newTestChainWith(t, map[string]any{payments.ParamTokenValidity: mpValidity})
}

// newMandateWorld: alice (phone: send+revoke, watch: approve+revoke, agent-1)
// and bob (agent-2, approves himself); merchants shop (5999, SG, 7-day
// window) and market (5411, DE, separate settlement account, 10-day window).
func newMandateWorld(t *testing.T, seed int64) *mandateWorld {
	c := newMandateChain(t)
	w := &mandateWorld{testChain: c, t: t, seed: seed, rng: rand.New(rand.NewSource(seed)), now: genesisTime,
		byID: map[string]*mpMandate{}, paid: map[string]bool{}, stats: map[string]int{}, approvals: map[string]chain.Amount{}}
	phone, watch, agent1, agent2 := p256Key(t, 1), p256Key(t, 4), p256Key(t, 2), p256Key(t, 5)
	shop, market, marketSettle := testKey(t, 60), testKey(t, 61), testKey(t, 62)
	review := &pb.Review{Items: identity.LevelItems(2), Level: 2, ExpiresAt: genesisTime.Add(300 * 24 * time.Hour).Unix()}
	h1, h2 := make([]byte, 32), make([]byte, 32)
	h1[0], h2[0] = 1, 2
	setup := func(txs ...[]byte) {
		w.now = w.now.Add(time.Second)
		mustOK(t, c.blockTime(w.now, txs...))
	}
	setup(
		c.txBy([]chain.PrivKey{c.issuer, c.alice}, &pb.MsgRegisterPerson{Wallet: addr(c.issuer), Person: addr(c.alice), IdvHash: h1}),
		c.txBy([]chain.PrivKey{c.issuer, c.bob}, &pb.MsgRegisterPerson{Wallet: addr(c.issuer), Person: addr(c.bob), IdvHash: h2}),
	)
	setup(
		c.txBy([]chain.PrivKey{c.alice, phone}, &pb.MsgAddDevice{Person: addr(c.alice), PubKey: phone.PubKey().Proto(),
			Kind: "phone", Label: "phone", Scopes: []string{identity.ScopeSend, identity.ScopeRevoke}}),
		c.txBy([]chain.PrivKey{c.alice, watch}, &pb.MsgAddDevice{Person: addr(c.alice), PubKey: watch.PubKey().Proto(),
			Kind: "watch", Label: "watch", Scopes: []string{identity.ScopeApprove, identity.ScopeRevoke}}),
		c.txBy([]chain.PrivKey{c.issuer, agent1}, &pb.MsgOnboardAgent{Issuer: addr(c.issuer), PubKey: agent1.PubKey().Proto(),
			Owner: addr(c.alice), Builder: "b", Profile: &pb.Profile{Name: "helper"}, Review: review}),
	)
	setup(c.txBy([]chain.PrivKey{c.issuer, agent2}, &pb.MsgOnboardAgent{Issuer: addr(c.issuer), PubKey: agent2.PubKey().Proto(),
		Owner: addr(c.bob), Builder: "b", Profile: &pb.Profile{Name: "shopper"}, Review: review}))
	setup(
		c.txBy([]chain.PrivKey{c.alice}, &pb.MsgBindAgent{Person: addr(c.alice), AgentId: "agent-1"}),
		c.txBy([]chain.PrivKey{c.bob}, &pb.MsgBindAgent{Person: addr(c.bob), AgentId: "agent-2"}),
		c.txBy([]chain.PrivKey{c.issuer, shop}, &pb.MsgRegisterMerchant{Acquirer: addr(c.issuer), Merchant: addr(shop),
			Name: "Demo Shop", Mcc: "5999", Country: "SG", Settlement: addr(shop)}),
		c.txBy([]chain.PrivKey{c.issuer, market}, &pb.MsgRegisterMerchant{Acquirer: addr(c.issuer), Merchant: addr(market),
			Name: "Market", Mcc: "5411", Country: "DE", Settlement: addr(marketSettle)}),
	)
	setup(c.txBy([]chain.PrivKey{market}, &pb.MsgSetProtectionWindow{Merchant: addr(market), Seconds: 10 * 86400}))
	w.parties = []*mpParty{
		{name: "alice", person: c.alice, agent: agent1, agentID: "agent-1", revokers: []chain.PrivKey{c.alice, phone, watch}, approver: watch, noScope: phone},
		{name: "bob", person: c.bob, agent: agent2, agentID: "agent-2", revokers: []chain.PrivKey{c.bob}, approver: c.bob},
	}
	w.merchants = []*mpMerchant{
		{key: shop, settle: shop.PubKey().Address(), window: 7 * 86400, mcc: "5999", country: "SG"},
		{key: market, settle: marketSettle.PubKey().Address(), window: 10 * 86400, mcc: "5411", country: "DE"},
	}
	for _, k := range []chain.PrivKey{c.issuer, c.alice, c.bob, phone, watch, agent1, agent2, shop, market, marketSettle} {
		w.accounts = append(w.accounts, k.PubKey().Address())
	}
	w.check(true)
	return w
}

// ---- random choices ----

func (w *mandateWorld) chance(p float64) bool { return w.rng.Float64() < p }
func (w *mandateWorld) pickS(xs ...string) string {
	return xs[w.rng.Intn(len(xs))]
}
func (w *mandateWorld) usd(s string) chain.Amount {
	a, err := chain.ParseDecimal(s, 18)
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}
func mpCoin(a chain.Amount) *pb.Coin { return &pb.Coin{Asset: "USD", Amount: a.String()} }
func (w *mandateWorld) freshRef() string {
	w.nextRef++
	return fmt.Sprintf("s%d-order-%d", w.seed, w.nextRef)
}
func mpAdd(a, b chain.Amount) chain.Amount {
	s, err := a.Add(b)
	if err != nil {
		panic(err)
	}
	return s
}

// payAmounts include the smallest amount the tests use: 0.000001 USD.
var mpPayAmounts = []string{"0.000001", "0.000001", "0.5", "1", "2.5", "4", "5", "7.25", "10", "12", "15", "19.99", "20", "25", "40", "150"}

func (w *mandateWorld) expiry() int64 {
	now := w.now.Unix()
	switch r := w.rng.Intn(100); {
	case r < 2:
		return now // already expired: refused
	case r < 4:
		return now + 400*86400 // beyond max_mandate_days: refused
	default:
		d := []int64{600, 3600, 6 * 3600, 86400, 3 * 86400, 10 * 86400, 30 * 86400, 60 * 86400}
		return now + d[w.rng.Intn(len(d))]
	}
}

func (w *mandateWorld) merchantIdx() int {
	if w.chance(0.7) {
		return 0
	}
	return 1
}

func (w *mandateWorld) genTerms(immediate bool) (*pb.Terms, mpOrder) {
	exp := w.expiry()
	if immediate {
		o := mpOrder{merchant: w.merchantIdx(), amount: w.usd(w.pickS(mpPayAmounts[:len(mpPayAmounts)-1]...)), ref: w.freshRef()}
		return &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_IMMEDIATE, ExpiresAt: exp, Description: "checkout " + o.ref,
			Checkout: &pb.Checkout{Merchant: addr(w.merchants[o.merchant].key), Amount: mpCoin(o.amount), OrderHash: orderHash(o.ref)}}, o
	}
	c := &pb.Constraints{Budget: mpCoin(w.usd(w.pickS("0.000003", "3", "20", "50", "50", "80", "150", "400", "1000", "1001")))}
	if w.chance(0.15) {
		c.MinPayment = w.usd(w.pickS("0.5", "2")).String()
	}
	if w.chance(0.5) {
		c.MaxPayment = w.usd(w.pickS("0.000001", "5", "20", "50")).String()
	}
	if w.chance(0.4) {
		c.ApprovalAbove = w.usd(w.pickS("0.000001", "3", "10")).String()
	}
	if w.chance(0.3) {
		c.PerPeriod = w.usd(w.pickS("10", "30")).String()
	}
	if w.chance(0.25) {
		c.PerPeriodCount = uint32(1 + w.rng.Intn(4))
	}
	if w.chance(0.5) {
		c.PeriodSeconds = []uint64{60, 3600, 86400, 7 * 86400}[w.rng.Intn(4)]
	}
	shop, market := addr(w.merchants[0].key), addr(w.merchants[1].key)
	switch r := w.rng.Intn(10); {
	case r < 3:
		c.Merchants = [][]byte{shop}
	case r < 4:
		c.Merchants = [][]byte{market}
	case r < 5:
		c.Merchants = [][]byte{shop, market}
	case r < 6:
		c.BlockedMerchants = [][]byte{market}
	}
	if w.chance(0.1) {
		c.Mccs = []string{"5999"}
	}
	if w.chance(0.1) {
		c.Countries = []string{"SG", "DE"}[:1+w.rng.Intn(2)]
	}
	return &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, ExpiresAt: exp, Description: "errands", Constraints: c}, mpOrder{}
}

// pickMandate prefers open mandates; pred narrows further when it can.
func (w *mandateWorld) pickMandate(pred func(*mpMandate) bool) *mpMandate {
	var open, match []*mpMandate
	for _, m := range w.mandates {
		if !mpTerminal(m.status) {
			open = append(open, m)
			if pred != nil && pred(m) {
				match = append(match, m)
			}
		}
	}
	switch {
	case len(match) > 0 && w.chance(0.8):
		return match[w.rng.Intn(len(match))]
	case len(open) > 0 && w.chance(0.85):
		return open[w.rng.Intn(len(open))]
	case len(w.mandates) > 0:
		return w.mandates[w.rng.Intn(len(w.mandates))]
	}
	return nil
}

func (w *mandateWorld) other(p *mpParty) *mpParty {
	if p == w.parties[0] {
		return w.parties[1]
	}
	return w.parties[0]
}

func (w *mandateWorld) build(tx *mpTx, signers []chain.PrivKey, msg proto.Message) *mpTx {
	tx.raw = w.txBy(signers, msg)
	tx.signer = signers[0].PubKey().Address()
	return tx
}

// ---- tx generators ----

func (w *mandateWorld) genGrant(immediate, draft bool) *mpTx {
	p := w.parties[w.rng.Intn(2)]
	terms, o := w.genTerms(immediate)
	kind := "grant"
	if immediate {
		kind = "grant_immediate"
	}
	if draft {
		kind = "draft"
	}
	tx := &mpTx{kind: kind, party: p, terms: terms, immediate: immediate, checkout: o,
		desc: fmt.Sprintf("%s %s→%s %v", kind, p.name, p.agentID, terms)}
	if draft {
		signer := p.person
		if w.chance(0.5) {
			signer = p.agent // the agent drafts, the person activates
		}
		return w.build(tx, []chain.PrivKey{signer}, &pb.MsgDraftMandate{Person: addr(p.person), AgentId: p.agentID, Terms: terms})
	}
	return w.build(tx, []chain.PrivKey{p.person}, &pb.MsgGrantMandate{Person: addr(p.person), AgentId: p.agentID, Terms: terms})
}

func (w *mandateWorld) genActivate() *mpTx {
	m := w.pickMandate(func(m *mpMandate) bool { return m.status == mpInactive })
	if m == nil {
		return w.genGrant(false, true)
	}
	signer, auth := m.party.person, true
	if m.party.noScope != nil && w.chance(0.15) {
		signer, auth = m.party.noScope, false
	}
	tx := &mpTx{kind: "activate", m: m, authorized: auth, desc: fmt.Sprintf("activate %s by %s", m.id, signer.PubKey().Address())}
	return w.build(tx, []chain.PrivKey{signer}, &pb.MsgActivateMandate{MandateId: m.id})
}

func (w *mandateWorld) genUpdate() *mpTx {
	m := w.pickMandate(func(m *mpMandate) bool { return !m.immediate })
	if m == nil {
		return w.genGrant(false, false)
	}
	u := &pb.MsgUpdateMandate{MandateId: m.id}
	tx := &mpTx{kind: "update", m: m, authorized: true}
	set := func(s string) *string { return &s }
	if w.chance(0.5) {
		var b chain.Amount
		switch r := w.rng.Intn(6); {
		case r == 0: // raise
			b = mpAdd(m.budget, w.usd(w.pickS("1", "20", "200")))
		case r == 1 && !m.consumed.IsZero(): // below what is spent: refused
			b, _ = m.consumed.Sub(chain.NewAmount(1))
			if b.IsZero() {
				b = mpAdd(m.consumed, chain.NewAmount(0))
			}
		case r == 2: // exactly what is spent: finishes (if nothing is reserved)
			b = m.consumed
			if b.IsZero() {
				b = w.usd("1")
			}
		case r == 3: // over the wallet limit for one mandate
			b = w.usd("1001")
		default: // lower, but not below what is spent
			b = mpAdd(m.consumed, w.usd(w.pickS("0.000001", "1", "5")))
		}
		tx.newBudget = &b
		u.Budget = set(b.String())
	}
	if w.chance(0.3) {
		u.MaxPayment = set(w.pickS("", w.usd("5").String(), w.usd("30").String()))
	}
	if w.chance(0.2) {
		u.PerPeriod = set(w.pickS("", w.usd("10").String(), w.usd("100").String()))
	}
	if w.chance(0.15) {
		n := uint32(w.rng.Intn(4))
		u.PerPeriodCount = &n
	}
	if w.chance(0.2) {
		u.ApprovalAbove = set(w.pickS("", w.usd("2").String(), w.usd("15").String()))
		tx.newApproval = u.ApprovalAbove
	}
	if w.chance(0.1) {
		e := w.now.Unix() + int64(1+w.rng.Intn(20))*86400
		tx.newExpires = &e
		u.ExpiresAt = &e
	}
	if u.Budget == nil && u.MaxPayment == nil && u.PerPeriod == nil && u.PerPeriodCount == nil && u.ApprovalAbove == nil && u.ExpiresAt == nil {
		b := mpAdd(m.budget, w.usd("1"))
		tx.newBudget = &b
		u.Budget = set(b.String())
	}
	signer := m.party.person
	if w.chance(0.1) {
		signer, tx.authorized = m.party.approver, m.party.approver == m.party.person
	}
	tx.limits = u.MaxPayment != nil || u.PerPeriod != nil || u.PerPeriodCount != nil
	tx.desc = fmt.Sprintf("update %s %v by %s", m.id, u, signer.PubKey().Address())
	return w.build(tx, []chain.PrivKey{signer}, u)
}

func (w *mandateWorld) genRevoke() *mpTx {
	m := w.pickMandate(nil)
	if m == nil {
		return w.genGrant(false, false)
	}
	signer, auth := m.party.revokers[w.rng.Intn(len(m.party.revokers))], true
	if w.chance(0.1) {
		signer, auth = w.other(m.party).person, false
	}
	tx := &mpTx{kind: "revoke", m: m, authorized: auth, desc: fmt.Sprintf("revoke %s by %s", m.id, signer.PubKey().Address())}
	return w.build(tx, []chain.PrivKey{signer}, &pb.MsgRevokeMandate{MandateId: m.id})
}

func (w *mandateWorld) genClose() *mpTx {
	m := w.pickMandate(nil)
	if m == nil {
		return w.genGrant(false, false)
	}
	signer, auth := m.party.agent, true
	if w.chance(0.15) {
		signer, auth = w.other(m.party).agent, false
	}
	tx := &mpTx{kind: "close", m: m, authorized: auth, desc: fmt.Sprintf("close %s by %s", m.id, signer.PubKey().Address())}
	return w.build(tx, []chain.PrivKey{signer}, &pb.MsgCloseMandate{MandateId: m.id})
}

// genOrder makes a direct pay, an authorisation or (kind "dup") a pay of an
// order already paid or held by a live token.
func (w *mandateWorld) genOrder(kind string) *mpTx {
	m := w.pickMandate(func(m *mpMandate) bool { return m.status == mpActivated })
	if m == nil {
		return w.genGrant(w.chance(0.3), false)
	}
	tx := &mpTx{kind: kind, m: m, rightAgent: true}
	agent := m.party.agent
	if w.chance(0.05) {
		agent, tx.rightAgent = w.other(m.party).agent, false
	}
	switch {
	case kind == "dup":
		var taken []mpOrder
		taken = append(taken, w.paidList...)
		for _, tk := range w.tokens {
			if !tk.captured && !tk.gone {
				taken = append(taken, tk.order)
			}
		}
		if len(taken) == 0 {
			tx.kind, kind = "pay", "pay"
			tx.order = mpOrder{merchant: w.merchantIdx(), amount: w.usd("1"), ref: w.freshRef()}
		} else {
			tx.order = taken[w.rng.Intn(len(taken))]
		}
	case m.immediate && w.chance(0.75):
		tx.order = m.checkout
	case m.immediate:
		tx.order = m.checkout
		if w.chance(0.5) {
			tx.order.amount = mpAdd(tx.order.amount, w.usd("0.000001"))
		} else {
			tx.order.ref = w.freshRef()
		}
	default:
		tx.order = mpOrder{merchant: w.merchantIdx(), amount: w.usd(w.pickS(mpPayAmounts...)), ref: w.freshRef()}
	}
	signers := []chain.PrivKey{agent}
	if th, ok := w.approvals[m.id]; ok && tx.order.amount.Cmp(th) > 0 {
		if w.chance(0.6) {
			signers, tx.cosigned = append(signers, m.party.approver), true
		}
	} else if !m.immediate && w.chance(0.1) {
		signers, tx.cosigned = append(signers, m.party.approver), true
	}
	if len(signers) == 2 && signers[0] == signers[1] {
		signers = signers[:1]
	}
	mer := addr(w.merchants[tx.order.merchant].key)
	tx.desc = fmt.Sprintf("%s %s %s USD at merchant %d order %s by %s cosigned=%v", kind, m.id,
		chain.FormatDecimal(tx.order.amount, 18), tx.order.merchant, tx.order.ref, agent.PubKey().Address(), tx.cosigned)
	if kind == "authorize" {
		return w.build(tx, signers, &pb.MsgAuthorize{MandateId: m.id, Merchant: mer, Amount: mpCoin(tx.order.amount), OrderHash: orderHash(tx.order.ref)})
	}
	return w.build(tx, signers, &pb.MsgPay{MandateId: m.id, Merchant: mer, Amount: mpCoin(tx.order.amount), OrderHash: orderHash(tx.order.ref)})
}

func (w *mandateWorld) genCapture() *mpTx {
	var live, done []*mpToken
	for _, tk := range w.tokens {
		switch {
		case !tk.captured && !tk.gone:
			live = append(live, tk)
		default:
			done = append(done, tk)
		}
	}
	var tk *mpToken
	if len(live) == 0 && w.chance(0.7) {
		return w.genOrder("authorize")
	}
	switch {
	case len(live) > 0 && (len(done) == 0 || w.chance(0.85)):
		tk = live[w.rng.Intn(len(live))]
	case len(done) > 0:
		tk = done[w.rng.Intn(len(done))]
	default:
		return w.genOrder("authorize")
	}
	tx := &mpTx{kind: "capture", tok: tk, m: tk.m, rightMerchant: true, order: tk.order}
	asset, ref, amt := "USD", tk.order.ref, tk.order.amount
	signer := w.merchants[tk.order.merchant].key
	switch r := w.rng.Intn(20); {
	case r < 4: // partial capture: allowed
		if half, _ := amt.MulDiv(1, 2); !half.IsZero() {
			amt, tx.partial = half, true
		}
	case r < 5: // more than authorised
		amt, tx.badCapture = mpAdd(amt, chain.NewAmount(1)), true
	case r < 7: // another order
		ref, tx.badCapture = w.freshRef(), true
	case r < 8: // another asset
		asset, tx.badCapture = "EUR", true
	case r < 9: // the other merchant signs
		signer, tx.rightMerchant = w.merchants[1-tk.order.merchant].key, false
	case r < 11: // the acquirer captures for the merchant
		signer = w.issuer
	}
	tx.order.amount = amt
	tx.desc = fmt.Sprintf("capture %s (%s, %s) amount %s %s order %s by %s", tk.id, tk.m.id, chain.FormatDecimal(tk.order.amount, 18),
		chain.FormatDecimal(amt, 18), asset, ref, signer.PubKey().Address())
	return w.build(tx, []chain.PrivKey{signer}, &pb.MsgCapture{TokenId: tk.id, Amount: &pb.Coin{Asset: asset, Amount: amt.String()}, OrderHash: orderHash(ref)})
}

func (w *mandateWorld) genMint() *mpTx {
	p := w.parties[w.rng.Intn(2)]
	amt := w.pickS("50", "150", "300")
	tx := &mpTx{kind: "mint", desc: fmt.Sprintf("mint %s USD to %s", amt, p.name)}
	return w.build(tx, []chain.PrivKey{w.issuer}, mintMsg(w.t, w.issuer.PubKey().Address(), p.person.PubKey().Address(), amt))
}

func (w *mandateWorld) genTx() *mpTx {
	r := w.rng.Intn(100)
	switch {
	case r < 10:
		return w.genGrant(false, false)
	case r < 15:
		return w.genGrant(true, false)
	case r < 20:
		return w.genGrant(w.chance(0.3), true)
	case r < 25:
		return w.genActivate()
	case r < 32:
		return w.genUpdate()
	case r < 36:
		return w.genRevoke()
	case r < 39:
		return w.genClose()
	case r < 51:
		return w.genOrder("authorize")
	case r < 65:
		return w.genCapture()
	case r < 93:
		return w.genOrder("pay")
	case r < 96:
		return w.genOrder("dup")
	default:
		return w.genMint()
	}
}

// step advances the block time (seconds to days) and runs one block of
// 1-4 random txs.
func (w *mandateWorld) step() {
	var dt time.Duration
	switch r := w.rng.Intn(100); {
	case r < 75:
		dt = time.Duration(1+w.rng.Intn(30)) * time.Second
	case r < 88:
		dt = time.Duration(1+w.rng.Intn(180)) * time.Minute
	case r < 97:
		dt = time.Duration(20+w.rng.Intn(10)) * time.Hour
	default:
		dt = time.Duration(7*24+w.rng.Intn(48)) * time.Hour
	}
	w.now = w.now.Add(dt)
	txs := make([]*mpTx, 1+w.rng.Intn(4))
	for i := range txs {
		txs[i] = w.genTx()
	}
	w.runBlock(txs)
}

// advanceTo runs empty blocks, one per day, until t.
func (w *mandateWorld) advanceTo(t time.Time) {
	for w.now.Before(t) {
		w.now = w.now.Add(24 * time.Hour)
		w.runBlock(nil)
	}
}

// ---- running a block and checking ----

func (w *mandateWorld) fail(format string, args ...any) {
	w.t.Helper()
	tail := w.trace
	if len(tail) > 40 {
		tail = tail[len(tail)-40:]
	}
	w.t.Fatalf("seed %d, height %d, time %s: %s\nlast txs:\n  %s", w.seed, w.height, w.now.Format(time.RFC3339),
		fmt.Sprintf(format, args...), strings.Join(tail, "\n  "))
}

// runBlock runs txs as a block at w.now. Half the blocks go through
// PrepareProposal (which puts revocations first and drops txs that fail the
// stateless checks) and ProcessProposal, as on a live chain; now and then
// the node restarts after the block.
func (w *mandateWorld) runBlock(txs []*mpTx) {
	w.t.Helper()
	failed := map[chain.Address]bool{}
	raws := make([][]byte, len(txs))
	for i, tx := range txs {
		raws[i] = tx.raw
	}
	if len(txs) > 0 && w.chance(0.5) {
		ctx := context.Background()
		prep, err := w.app.PrepareProposal(ctx, &abci.PrepareProposalRequest{Txs: raws, MaxTxBytes: 1 << 20, Height: w.height + 1, Time: w.now})
		if err != nil {
			w.fail("PrepareProposal: %v", err)
		}
		byRaw := map[string]*mpTx{}
		for _, tx := range txs {
			byRaw[string(tx.raw)] = tx
		}
		var ordered []*mpTx
		for _, r := range prep.Txs {
			tx := byRaw[string(r)]
			if tx == nil {
				w.fail("PrepareProposal returned a tx it was not given")
			}
			delete(byRaw, string(r))
			ordered = append(ordered, tx)
		}
		for _, tx := range byRaw { // dropped: not in the block, its nonce unused
			failed[tx.signer] = true
			w.stats["dropped_by_proposer"]++
			w.trace = append(w.trace, fmt.Sprintf("h%d dropped by the proposer: %s", w.height+1, tx.desc))
		}
		proc, err := w.app.ProcessProposal(ctx, &abci.ProcessProposalRequest{Txs: prep.Txs, Height: w.height + 1, Time: w.now})
		if err != nil || proc.Status != abci.PROCESS_PROPOSAL_STATUS_ACCEPT {
			w.fail("ProcessProposal rejected the proposer's own block: %v %v", proc, err)
		}
		txs, raws = ordered, prep.Txs
	}
	for _, m := range w.mandates {
		m.cur, m.curBudget, m.curConsumed, m.curExpires, m.uncertain, m.touched = m.status, m.budget, m.consumed, m.expiresAt, false, false
	}
	resp := w.blockTime(w.now, raws...)
	h, at := w.height, w.now.Unix()
	for i, tx := range txs {
		res := resp.TxResults[i]
		outcome := "ok"
		if res.Code != 0 {
			outcome = fmt.Sprintf("code %d %s", res.Code, res.Log)
		}
		w.trace = append(w.trace, fmt.Sprintf("h%d #%d %s → %s", h, i, tx.desc, outcome))
		w.apply(tx, res, h, at, failed)
	}
	if w.chance(0.015) {
		w.restart()
		w.stats["restart"]++
		w.trace = append(w.trace, fmt.Sprintf("h%d restart", h))
	}
	for _, a := range w.accounts {
		w.nonces[a] = w.app.committedNonce(a)
	}
	w.check(h%10 == 0)
}

// orderTaken: the merchant already has a payment or a live token for the
// order.
func (w *mandateWorld) orderTaken(o mpOrder, h int64) bool {
	if w.paid[o.key()] {
		return true
	}
	for _, tk := range w.tokens {
		if !tk.captured && h <= tk.expiresHeight && tk.order.merchant == o.merchant && tk.order.ref == o.ref {
			return true
		}
	}
	return false
}

func createdOf(r *abci.ExecTxResult) string {
	for _, e := range r.Events {
		if e.Type == "created" {
			return e.Attributes[0].Value
		}
	}
	return ""
}

func eventAttr(r *abci.ExecTxResult, typ, key string) string {
	for _, e := range r.Events {
		if e.Type == typ {
			for _, a := range e.Attributes {
				if a.Key == key {
					return a.Value
				}
			}
		}
	}
	return ""
}

// payable is the property under test: a payment succeeds only under a
// mandate activated and unexpired at that point of the block.
func (w *mandateWorld) payable(tx *mpTx, at int64) {
	w.t.Helper()
	m := tx.m
	if m.cur != mpActivated || at >= m.curExpires {
		w.fail("%s succeeded under %s, which is %s (expires %d, block time %d)", tx.desc, m.id, m.cur, m.curExpires, at)
	}
}

func (w *mandateWorld) spend(tx *mpTx, r *abci.ExecTxResult, at int64, amt chain.Amount, reservedAt int64) {
	w.t.Helper()
	m := tx.m
	w.withinTerms(tx, amt, reservedAt)
	m.curConsumed = mpAdd(m.curConsumed, amt)
	m.payments++
	if m.curConsumed.Cmp(m.curBudget) > 0 {
		w.fail("%s took %s over its budget: consumed %s, budget %s", tx.desc, m.id, m.curConsumed, m.curBudget)
	}
	if m.immediate || m.curConsumed.Cmp(m.curBudget) == 0 {
		m.cur = mpFinished
	}
	id := createdOf(r)
	if !strings.HasPrefix(id, "payment-") {
		w.fail("%s: no payment created: %v", tx.desc, r.Events)
	}
	rel := eventAttr(r, "payment_captured", "release_at")
	if want := fmt.Sprint(at + w.merchants[tx.order.merchant].window); rel != want {
		w.fail("%s: release_at %s, want %s", tx.desc, rel, want)
	}
	w.payments = append(w.payments, &mpPayment{id: id, m: m, amount: amt, releaseAt: at + w.merchants[tx.order.merchant].window})
	w.paid[tx.order.key()] = true
	w.paidList = append(w.paidList, tx.order)
}

func (w *mandateWorld) apply(tx *mpTx, res *abci.ExecTxResult, h, at int64, failed map[chain.Address]bool) {
	w.t.Helper()
	ok := res.Code == 0
	if !ok {
		e, registered := chain.ErrorByCode(res.Code)
		if !registered || res.Code == chain.ErrInternal.Code {
			w.fail("%s: unregistered or internal code %d: %s", tx.desc, res.Code, res.Log)
		}
		w.stats[tx.kind+":"+e.Reason]++
	} else {
		w.stats[tx.kind+":ok"]++
	}
	if res.Code == chain.ErrNonceTooHigh.Code {
		if !failed[tx.signer] {
			w.fail("%s: nonce_too_high but no earlier tx of the signer failed in the block", tx.desc)
		}
		return
	}
	if !ok {
		failed[tx.signer] = true
	}
	m := tx.m
	if m != nil {
		m.touched = true
	}
	var want *chain.Error
	known := false
	expect := func(e *chain.Error) { want, known = e, true }

	switch tx.kind {
	case "grant", "grant_immediate", "draft":
		if !ok {
			break
		}
		id := createdOf(res)
		if _, err := delegation.ParseMandateID(id); err != nil || w.byID[id] != nil {
			w.fail("%s: created %q", tx.desc, id)
		}
		nm := &mpMandate{id: id, party: tx.party, immediate: tx.immediate, checkout: tx.checkout, cur: mpActivated,
			curExpires: tx.terms.ExpiresAt, touched: true, terms: proto.Clone(tx.terms).(*pb.Terms), activatedAt: at,
			periods: map[int64]*mpPeriod{}}
		if tx.kind == "draft" {
			nm.cur, nm.activatedAt = mpInactive, 0
		}
		if tx.immediate {
			nm.curBudget = tx.checkout.amount
		} else {
			nm.curBudget, _ = chain.ParseBaseUnits(tx.terms.Constraints.Budget.Amount)
			if s := tx.terms.Constraints.ApprovalAbove; s != "" {
				w.approvals[id], _ = chain.ParseBaseUnits(s)
			}
		}
		w.mandates = append(w.mandates, nm)
		w.byID[id] = nm

	case "mint":
		expect(nil)

	case "activate":
		if tx.authorized && !m.uncertain && m.cur != mpInactive {
			expect(mpStatusErr(m.cur))
		}
		if ok {
			if m.cur != mpInactive {
				w.fail("%s succeeded on a mandate that is %s", tx.desc, m.cur)
			}
			m.cur, m.activatedAt = mpActivated, at
			w.stats["status:activated_by_activate"]++
		}

	case "revoke", "close":
		if tx.authorized && !m.uncertain {
			if mpTerminal(m.cur) {
				expect(mpStatusErr(m.cur))
			} else {
				expect(nil)
			}
		}
		if !tx.authorized && tx.kind == "close" {
			expect(delegation.ErrMandateNotOwned)
		}
		if ok {
			if mpTerminal(m.cur) {
				w.fail("%s succeeded on a mandate that is %s", tx.desc, m.cur)
			}
			if tx.kind == "revoke" {
				m.cur = mpRevoked
			} else {
				m.cur = mpFinished
			}
		}

	case "update":
		if tx.authorized && !m.uncertain {
			switch {
			case mpTerminal(m.cur):
				expect(mpStatusErr(m.cur))
			case m.immediate:
				expect(delegation.ErrInvalidMandate)
			case tx.newBudget != nil && tx.newBudget.Cmp(m.curConsumed) < 0:
				expect(delegation.ErrInvalidMandate)
			}
		}
		if ok {
			if mpTerminal(m.cur) || m.immediate || (tx.newBudget != nil && tx.newBudget.Cmp(m.curConsumed) < 0) {
				w.fail("%s succeeded on %s (%s, immediate %v, consumed %s)", tx.desc, m.id, m.cur, m.immediate, m.curConsumed)
			}
			if tx.newBudget != nil {
				m.curBudget = *tx.newBudget
			}
			if tx.newExpires != nil {
				m.curExpires = *tx.newExpires
			}
			if tx.limits {
				m.limitsChanged = true
			}
			if tx.newApproval != nil {
				if *tx.newApproval == "" {
					delete(w.approvals, m.id)
				} else {
					w.approvals[m.id] = w.amountOf(*tx.newApproval)
				}
			}
			if m.curBudget.Cmp(m.curConsumed) == 0 {
				m.uncertain = true // finished unless something is reserved
			}
		}

	case "pay", "authorize", "dup":
		switch {
		case !tx.rightAgent:
			expect(delegation.ErrMandateNotOwned)
		case w.orderTaken(tx.order, h):
			expect(payments.ErrDuplicateOrder)
		case m.uncertain:
		case m.cur != mpActivated:
			expect(mpStatusErr(m.cur))
		case at >= m.curExpires:
			expect(delegation.ErrMandateExpired)
		case m.immediate && (tx.order.merchant != m.checkout.merchant || tx.order.ref != m.checkout.ref || tx.order.amount.Cmp(m.checkout.amount) != 0):
			expect(delegation.ErrOrderInconsistent)
		}
		if ok {
			w.payable(tx, at)
			if tx.kind == "authorize" {
				id := createdOf(res)
				eh := eventAttr(res, "payment_authorized", "expires_height")
				if !strings.HasPrefix(id, "token-") || eh != fmt.Sprint(h+mpValidity) {
					w.fail("%s: token %q expires at %q, want height %d", tx.desc, id, eh, h+mpValidity)
				}
				w.tokens = append(w.tokens, &mpToken{id: id, m: m, order: tx.order, expiresHeight: h + mpValidity, reservedAt: at})
			} else {
				w.spend(tx, res, at, tx.order.amount, at)
				if tx.order.amount.Cmp(w.usd("0.000001")) == 0 {
					w.stats["pay:tiny"]++
				}
			}
			if th, ok := w.approvals[m.id]; ok && tx.order.amount.Cmp(th) > 0 {
				w.stats[tx.kind+":approved"]++
				if !tx.cosigned {
					w.fail("%s: above the approval threshold %s without a co-signature", tx.desc, th)
				}
			}
		}

	case "capture":
		tk := tx.tok
		switch {
		case tk.captured || h > tk.expiresHeight:
			expect(payments.ErrTokenInvalid)
			if tk.captured {
				w.stats["double_capture"]++
			} else {
				w.stats["capture_after_expiry"]++
			}
		case !tx.rightMerchant:
			expect(chain.ErrUnauthorized)
		case tx.badCapture:
			expect(delegation.ErrOrderInconsistent)
		case m.uncertain:
		case m.cur != mpActivated:
			expect(mpStatusErr(m.cur))
		case at >= m.curExpires:
			expect(delegation.ErrMandateExpired)
		}
		if !tk.captured && h <= tk.expiresHeight && (res.Code == payments.ErrTokenInvalid.Code || res.Code == payments.ErrTokenExpired.Code) {
			w.fail("%s: live token (expires at height %d) refused: %s", tx.desc, tk.expiresHeight, res.Log)
		}
		if ok {
			w.payable(tx, at)
			tk.captured = true
			if tx.order.amount.Cmp(tk.order.amount) > 0 {
				w.fail("%s captured more than its token's %s", tx.desc, tk.order.amount)
			}
			w.spend(tx, res, at, tx.order.amount, tk.reservedAt)
			if tx.partial {
				w.stats["capture:partial"]++
				if m.immediate {
					w.stats["capture:partial_immediate"]++
				}
			}
		}
	default:
		w.fail("unknown kind %s", tx.kind)
	}
	if known {
		var got *chain.Error
		if !ok {
			got, _ = chain.ErrorByCode(res.Code)
		}
		if got != want {
			name := func(e *chain.Error) string {
				if e == nil {
					return "success"
				}
				return fmt.Sprintf("%s (%d)", e.Reason, e.Code)
			}
			w.fail("%s: got %s (%s), want %s", tx.desc, name(got), res.Log, name(want))
		}
	}
}

func (w *mandateWorld) amountOf(s string) chain.Amount {
	a, err := chain.ParseBaseUnits(s)
	if err != nil {
		w.fail("bad amount %q: %v", s, err)
	}
	return a
}

// check runs the per-block properties; full also looks at terminal
// mandates, live tokens and payments not yet due.
func (w *mandateWorld) check(full bool) {
	w.t.Helper()
	h, at := w.height, w.now.Unix()

	// Money is conserved (the guarantee pool holds the fees of releases).
	var sum chain.Amount
	for _, a := range append(w.accounts, payments.EscrowAccount, payments.PoolAccount, payments.BondAccount) {
		sum = mpAdd(sum, w.amountOf(w.balance(a)))
	}
	var supply bank.BalanceView
	if r := w.query("/bank/supply/USD", &supply); r.Code != 0 {
		w.fail("supply query: %s", r.Log)
	}
	if sum.Cmp(w.amountOf(supply.BaseUnits)) != 0 {
		w.fail("the accounts hold %s base units, the supply is %s", sum, supply.BaseUnits)
	}

	// S1: the budgets a person activated today stay within the daily limit.
	for _, p := range w.parties {
		var l delegation.LimitsView
		if r := w.query("/delegation/limits/"+p.person.PubKey().Address().String()+"/USD", &l); r.Code != 0 {
			w.fail("limits of %s: %s", p.name, r.Log)
		}
		if w.usd(l.DelegatedToday).Cmp(w.usd(l.MaxDaily)) > 0 {
			w.fail("%s delegated %s today, over the daily limit %s", p.name, l.DelegatedToday, l.MaxDaily)
		}
	}

	// Mandates.
	for _, m := range w.mandates {
		if !full && mpTerminal(m.status) && !m.touched {
			continue
		}
		var v delegation.MandateView
		if r := w.query("/delegation/mandate/"+m.id, &v); r.Code != 0 {
			w.fail("mandate %s: %s", m.id, r.Log)
		}
		budget, consumed, reserved := w.amountOf(v.Raw.Budget), w.amountOf(v.Raw.Consumed), w.amountOf(v.Raw.Reserved)
		if consumed.Cmp(budget) > 0 {
			w.fail("%s consumed %s over its budget %s", m.id, consumed, budget)
		}
		if consumed.Cmp(m.curConsumed) != 0 || v.Payments != m.payments {
			w.fail("%s consumed %s in %d payments, the test saw %s in %d", m.id, consumed, v.Payments, m.curConsumed, m.payments)
		}
		if v.ActivatedAt != m.activatedAt {
			w.fail("%s activated at %d, the test saw %d", m.id, v.ActivatedAt, m.activatedAt)
		}
		if budget.Cmp(m.curBudget) != 0 || v.ExpiresAt != m.curExpires {
			w.fail("%s budget %s expires %d, the test set %s, %d", m.id, budget, v.ExpiresAt, m.curBudget, m.curExpires)
		}
		var bills []payments.PaymentView
		if r := w.query("/payments/bills/"+m.id, &bills); r.Code != 0 {
			w.fail("bills %s: %s", m.id, r.Log)
		}
		var billed chain.Amount
		for _, b := range bills {
			if b.MandateID != m.id {
				w.fail("bill %s of %s lists mandate %s", b.ID, m.id, b.MandateID)
			}
			billed = mpAdd(billed, w.amountOf(b.BaseUnits))
		}
		if billed.Cmp(consumed) != 0 || len(bills) != int(v.Payments) {
			w.fail("%s consumed %s in %d payments, its %d bills add up to %s", m.id, consumed, v.Payments, len(bills), billed)
		}

		// Status transitions.
		old, now := m.status, v.Status
		switch {
		case mpTerminal(old):
			if now != old {
				w.fail("%s left terminal status %s for %s", m.id, old, now)
			}
		case mpTerminal(m.cur) && !m.uncertain:
			if now != m.cur {
				w.fail("%s is %s, the block's txs made it %s", m.id, now, m.cur)
			}
		default:
			legal := now == m.cur ||
				(now == mpExpired && at >= m.curExpires) ||
				(now == mpFinished && m.cur == mpActivated && consumed.Cmp(budget) == 0)
			if !legal {
				w.fail("%s went from %s to %s (model %s, expires %d, consumed %s of %s)", m.id, old, now, m.cur, m.curExpires, consumed, budget)
			}
		}
		if !mpTerminal(now) && at >= v.ExpiresAt {
			w.fail("%s is still %s at %d, past its expiry %d", m.id, now, at, v.ExpiresAt)
		}
		if now == mpActivated && consumed.Cmp(budget) == 0 && reserved.IsZero() {
			w.fail("%s spent its whole budget %s, reserves nothing and is still activated", m.id, budget)
		}
		if now != old && mpTerminal(now) {
			w.stats["status:"+now]++
		}
		m.status, m.cur, m.budget, m.consumed, m.expiresAt = now, now, budget, consumed, v.ExpiresAt
		m.curBudget, m.curConsumed, m.curExpires = budget, consumed, v.ExpiresAt
	}

	// Tokens: gone at the end of their last block; live ones readable.
	for _, tk := range w.tokens {
		if tk.captured || tk.gone {
			if full || tk.captured && !tk.gone {
				if r := w.query("/payments/token/"+tk.id, nil); r.Code != payments.ErrTokenInvalid.Code {
					w.fail("%s (captured %v) still readable: code %d", tk.id, tk.captured, r.Code)
				}
				tk.gone = true
			}
			continue
		}
		var v payments.TokenView
		r := w.query("/payments/token/"+tk.id, &v)
		switch {
		case tk.expiresHeight <= h:
			if r.Code != payments.ErrTokenInvalid.Code {
				w.fail("%s expired at height %d and is still live (code %d)", tk.id, tk.expiresHeight, r.Code)
			}
			tk.gone = true
			w.stats["token_released"]++
		case r.Code != 0 || v.BaseUnits != tk.order.amount.String() || v.MandateID != tk.m.id:
			w.fail("%s: code %d %s, view %+v", tk.id, r.Code, r.Log, v)
		}
	}

	// Escrow: released at the first block at or after release_at.
	for _, p := range w.payments {
		if p.released || (!full && p.releaseAt > at) {
			continue
		}
		var v payments.PaymentView
		if r := w.query("/payments/payment/"+p.id, &v); r.Code != 0 {
			w.fail("payment %s: %s", p.id, r.Log)
		}
		want := "escrowed"
		if p.releaseAt <= at {
			want = "released"
		}
		if v.Status != want || v.BaseUnits != p.amount.String() || v.MandateID != p.m.id {
			w.fail("payment %s: %+v, want %s of %s under %s", p.id, v, want, p.amount, p.m.id)
		}
		if want == "released" {
			p.released = true
			w.stats["escrow_released"]++
		}
	}
}

// withinTerms: a payment that went through respects the mandate's terms:
// an IMMEDIATE one its checkout, an AUTONOMOUS one its merchant scope and,
// while no update changed them, its per-payment maximum and its limits for
// the period the payment was reserved in.
func (w *mandateWorld) withinTerms(tx *mpTx, amt chain.Amount, reservedAt int64) {
	w.t.Helper()
	m, o := tx.m, tx.order
	mer := w.merchants[o.merchant]
	if m.immediate {
		if o.merchant != m.checkout.merchant || o.ref != m.checkout.ref || amt.Cmp(m.checkout.amount) > 0 {
			w.fail("%s paid %s (merchant %d, order %s) under checkout %+v", tx.desc, amt, o.merchant, o.ref, m.checkout)
		}
		return
	}
	c := m.terms.Constraints
	in := func(list [][]byte) bool {
		for _, b := range list {
			if string(b) == string(addr(mer.key)) {
				return true
			}
		}
		return false
	}
	has := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return len(list) == 0
	}
	if (len(c.Merchants) > 0 && !in(c.Merchants)) || in(c.BlockedMerchants) || !has(c.Mccs, mer.mcc) || !has(c.Countries, mer.country) {
		w.fail("%s paid merchant %d outside %s's scope %v", tx.desc, o.merchant, m.id, c)
	}
	if c.MinPayment != "" && tx.kind != "capture" && amt.Cmp(w.amountOf(c.MinPayment)) < 0 {
		w.fail("%s below %s's min_payment %s", tx.desc, m.id, c.MinPayment)
	}
	if m.limitsChanged {
		return
	}
	if c.MaxPayment != "" && amt.Cmp(w.amountOf(c.MaxPayment)) > 0 {
		w.fail("%s above %s's max_payment %s", tx.desc, m.id, c.MaxPayment)
	}
	length := int64(c.PeriodSeconds)
	if length == 0 {
		length = 86400
	}
	if m.activatedAt == 0 || reservedAt < m.activatedAt {
		w.fail("%s reserved at %d, %s activated at %d", tx.desc, reservedAt, m.id, m.activatedAt)
	}
	pi := (reservedAt - m.activatedAt) / length
	p := m.periods[pi]
	if p == nil {
		p = &mpPeriod{}
		m.periods[pi] = p
		if len(m.periods) > 1 && (c.PerPeriod != "" || c.PerPeriodCount > 0) {
			w.stats["period_rollover"]++
		}
	}
	p.spent, p.count = mpAdd(p.spent, amt), p.count+1
	if c.PerPeriod != "" && p.spent.Cmp(w.amountOf(c.PerPeriod)) > 0 {
		w.fail("%s: %s spent %s in period %d, over per_period %s", tx.desc, m.id, p.spent, pi, c.PerPeriod)
	}
	if c.PerPeriodCount > 0 && p.count > c.PerPeriodCount {
		w.fail("%s: %s made %d payments in period %d, over per_period_count %d", tx.desc, m.id, p.count, pi, c.PerPeriodCount)
	}
}
