package payments

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
	"github.com/amp-ledger/amp/modules/trust"
)

// Name is the module's store prefix and query path.
const Name = "payments"

// Errors of this module (601-649); the Intent Guard's mandate reasons are
// the delegation module's.
var (
	ErrTokenInvalid     = chain.RegisterError(601, "token_invalid", "no live payment token has that id (unknown, already captured, or expired and released), or it is not this merchant's")
	ErrTokenExpired     = chain.RegisterError(602, "token_expired", "the payment token's validity has passed")
	ErrDuplicateOrder   = chain.RegisterError(603, "duplicate_order", "the merchant already has a token or a payment for that order")
	ErrUnknownPayment   = chain.RegisterError(604, "unknown_payment", "no payment has that id")
	ErrWindowOutOfRange = chain.RegisterError(605, "window_out_of_range", "the protection window is longer than the chain's maximum, or shorter than the chain's window by more than a bonded merchant may (payments.bonded_min_window_seconds)")
	// The money-back guarantee (docs/guarantee.md).
	ErrUnknownClaim      = chain.RegisterError(606, "unknown_claim", "no claim has that id")
	ErrInvalidClaim      = chain.RegisterError(607, "invalid_claim", "a claim, response or ruling is malformed: unknown reason, response or decision, or an evidence hash that is not 32 bytes")
	ErrNotClaimant       = chain.RegisterError(608, "not_claimant", "only the payer, a device of theirs with the claim scope, or the payment's agent may claim on a payment")
	ErrNotClaimable      = chain.RegisterError(609, "not_claimable", "the payment has been refunded in full: nothing is left to claim")
	ErrClaimOpen         = chain.RegisterError(610, "claim_open", "the payment already has an open claim; one claim at a time")
	ErrClaimWindowClosed = chain.RegisterError(611, "claim_window_closed", "the claim window of that reason, counted from the payment's capture, has passed")
	ErrClaimAmount       = chain.RegisterError(612, "claim_amount", "the amount is in another asset than the payment, or more than is left to claim (or, for a ruling, than was claimed)")
	ErrNotClaimMerchant  = chain.RegisterError(613, "not_claim_merchant", "only the payment's merchant or its acquirer may respond to the claim")
	ErrNotArbiter        = chain.RegisterError(614, "not_arbiter", "the signer is not the claim's designated arbiter (the person's wallet member, or a member with the arbiter role, per payments.arbiter)")
	ErrClaimState        = chain.RegisterError(615, "claim_state", "the claim is not at that step: responses go to open claims, rulings to contested ones; decided claims are final")
	ErrDeadlinePassed    = chain.RegisterError(616, "deadline_passed", "the response or arbitration deadline has passed: silence has decided the claim for the person")
	ErrInsufficientBond  = chain.RegisterError(617, "insufficient_bond", "the merchant's active bond in that asset is smaller than the amount to unbond")
	ErrBondRequired      = chain.RegisterError(618, "bond_required", "a protection window shorter than the chain's needs an active bond of at least payments.min_bond")
	ErrTooManyUnbondings = chain.RegisterError(619, "too_many_unbondings", "the merchant already has the most unbonding entries in progress; wait for one to complete")
)

// Payment statuses (docs/guarantee.md#payment-states). A payment is held
// (escrowed, or disputed while a claim on it is open) and then settles in
// exactly one of released, partially_refunded and refunded. refunded is
// final; released and partially_refunded become final once the payment's
// last claim window has passed with no claim open: until then a claim may
// move released to partially_refunded or refunded, and partially_refunded
// to refunded — never back, since refunds only add up (to at most the
// amount).
const (
	StatusEscrowed          uint32 = 1 // captured; amount - refunded held in escrow until release_at
	StatusReleased          uint32 = 2 // settled: paid out to the merchant (less the guarantee fee), nothing refunded
	StatusDisputed          uint32 = 3 // escrowed with a claim open: the release waits for the claim
	StatusRefunded          uint32 = 4 // final: the whole amount refunded to the person (paid, or queued for the pool)
	StatusPartiallyRefunded uint32 = 5 // settled: part refunded, the rest paid out to the merchant
)

var statusNames = map[uint32]string{StatusEscrowed: "escrowed", StatusReleased: "released", StatusDisputed: "disputed",
	StatusRefunded: "refunded", StatusPartiallyRefunded: "partially_refunded"}

// held reports whether a payment's unrefunded amount is in escrow.
func held(status uint32) bool { return status == StatusEscrowed || status == StatusDisputed }

// StatusName names a payment status.
func StatusName(s uint32) string { return statusNames[s] }

// Parameters.
const (
	ParamTokenValidity    = "payments.token_validity_blocks"
	ParamProtectionWindow = "payments.protection_window_seconds"
	ParamMaxWindow        = "payments.max_protection_window_seconds"
	// The money-back guarantee.
	ParamClaimWindows      = "payments.claim_window_seconds"
	ParamResponseWindow    = "payments.response_window_seconds"
	ParamArbitrationWindow = "payments.arbitration_window_seconds"
	ParamArbiter           = "payments.arbiter"
	ParamFee               = "payments.guarantee_fee_bp"
	ParamMinBond           = "payments.min_bond"
	ParamBondedMinWindow   = "payments.bonded_min_window_seconds"
	ParamUnbonding         = "payments.unbonding_seconds"
	ParamSuspendAfter      = "payments.suspend_after_lost_claims"
)

// EscrowAccount holds every escrowed payment.
var EscrowAccount = bank.ModuleAddress("payments/escrow")

// BondAccount holds the merchants' bonds, active and unbonding.
var BondAccount = bank.ModuleAddress("payments/bonds")

// PoolAccount is the guarantee pool: the guarantee fee of every released
// payment goes there, and it pays the refunds that escrow and bonds cannot.
var PoolAccount = bank.ModuleAddress("payments/guarantee-pool")

// Store layout under "payments/":
//
//	t/<token 8>                       Token (protobuf), while live
//	te/<expires height 8><token 8>    token expiry queue
//	p/<payment 8>                     Payment (protobuf)
//	pm/<mandate 8><payment 8>         index: a mandate's payments (bills)
//	r/<release_at 8><payment 8>       escrow release queue (block time)
//	o/<merchant 20><order hash 32>    "t"+token or "p"+payment: one token or payment per order
//	w/<merchant 20>                   the merchant's protection window, seconds (8 bytes)
//	c/<claim 8>                       Claim (protobuf)
//	cp/<payment 8><claim 8>           index: a payment's claims
//	cu/<person 20><claim 8>           index: a person's claims
//	cm/<merchant 20><claim 8>         index: claims against a merchant
//	ca/<agent 8><claim 8>             index: claims on an agent's payments
//	cd/<deadline 8><claim 8>          response and arbitration deadlines (block time)
//	b/<merchant 20><asset>            Bond
//	u/<unbonding 8>                   Unbonding
//	um/<merchant 20><unbonding 8>     index: a merchant's unbondings, oldest first
//	uq/<complete_at 8><unbonding 8>   unbonding completion queue (block time)
//	pl/<asset>                        PoolRecord
//	q/<asset len 1><asset><seq 8>     QueuedRefund: the pool's FIFO queue per asset
//	gm/<merchant 20>, ga/<agent 8>    GuaranteeReport
//	n/token, n/payment, n/claim, n/unbonding, n/queue   last numbers
func tokenKey(n uint64) []byte { return be64k("t/", n) }
func tokenExpiryKey(h int64, n uint64) []byte {
	return binary.BigEndian.AppendUint64(be64k("te/", uint64(h)), n)
}
func paymentKey(n uint64) []byte { return be64k("p/", n) }
func billKey(mandate, n uint64) []byte {
	return binary.BigEndian.AppendUint64(be64k("pm/", mandate), n)
}
func releaseKey(at int64, n uint64) []byte {
	return binary.BigEndian.AppendUint64(be64k("r/", uint64(at)), n)
}
func orderKey(merchant chain.Address, order []byte) []byte {
	return append(append([]byte("o/"), merchant[:]...), order...)
}

// SparseKeyPrefixes: every payment and token reads its order key, which is
// almost never there.
func (*Keeper) SparseKeyPrefixes() []string { return []string{"o/"} }

func windowKey(merchant chain.Address) []byte { return append([]byte("w/"), merchant[:]...) }

func be64k(prefix string, n uint64) []byte { return binary.BigEndian.AppendUint64([]byte(prefix), n) }

// Keeper is the payments module.
type Keeper struct {
	params     *params.Keeper
	bank       *bank.Keeper
	identity   *identity.Keeper
	delegation *delegation.Keeper
	trust      *trust.Keeper
	rules      Rules
}

// New returns the module and declares its parameters.
func New(ps *params.Keeper, b *bank.Keeper, id *identity.Keeper, d *delegation.Keeper, tr *trust.Keeper) *Keeper {
	for _, a := range []chain.Address{EscrowAccount, BondAccount, PoolAccount} {
		b.ProtectAccount(a)
	}
	declareParams(ps)
	return &Keeper{params: ps, bank: b, identity: id, delegation: d, trust: tr}
}

func (*Keeper) Name() string { return Name }

func st(ctx *module.Context) module.Store { return ctx.Store(Name + "/") }

func declareParams(ps *params.Keeper) {
	between := func(lo, hi int64, unit string) func(json.RawMessage) error {
		return func(raw json.RawMessage) error {
			var n int64
			if err := json.Unmarshal(raw, &n); err != nil || n < lo || n > hi {
				return fmt.Errorf("want a whole number of %s from %d to %d", unit, lo, hi)
			}
			return nil
		}
	}
	ps.Declare(params.Def{Key: ParamTokenValidity, Default: 60, Validate: between(1, 100_000, "blocks"),
		Doc: "blocks a payment token stays valid; unused, it expires at the end of that block and its reservation is released"})
	ps.Declare(params.Def{Key: ParamProtectionWindow, Default: 7 * 86400, Validate: between(0, 366*86400, "seconds"),
		Doc: "seconds a captured payment stays in escrow before it is released to the merchant (the buyer's protection window); merchants may choose longer"})
	ps.Declare(params.Def{Key: ParamMaxWindow, Default: 180 * 86400, Validate: between(0, 3660*86400, "seconds"),
		Doc: "the longest protection window a merchant may choose"})
	declareGuaranteeParams(ps, between)
}

// ID formats and parsing.
func TokenID(n uint64) string   { return "token-" + strconv.FormatUint(n, 10) }
func PaymentID(n uint64) string { return "payment-" + strconv.FormatUint(n, 10) }

func parseID(id, prefix string, e *chain.Error) (uint64, error) {
	s, ok := strings.CutPrefix(id, prefix)
	if ok && s != "" && s[0] != '0' && len(s) <= 20 {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, chain.Wrapf(e, "%q is not a %s<n> id", id, prefix)
}

func next(ctx *module.Context, counter string) uint64 {
	key := []byte("n/" + counter)
	var n uint64
	if v := st(ctx).Get(key); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	n++
	st(ctx).Set(key, binary.BigEndian.AppendUint64(nil, n))
	return n
}

func save(ctx *module.Context, key []byte, m proto.Message) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("payments: encode %T: %v", m, err))
	}
	st(ctx).Set(key, b)
}

// Token returns a live payment token.
func (k *Keeper) Token(ctx *module.Context, n uint64) (*pb.Token, error) {
	b := st(ctx).Get(tokenKey(n))
	if b == nil {
		return nil, chain.Wrapf(ErrTokenInvalid, "%s is not a live token (unknown, already captured, or expired)", TokenID(n))
	}
	t := &pb.Token{}
	if err := proto.Unmarshal(b, t); err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "stored %s: %v", TokenID(n), err)
	}
	return t, nil
}

// Payment returns a payment.
func (k *Keeper) Payment(ctx *module.Context, n uint64) (*pb.Payment, error) {
	b := st(ctx).Get(paymentKey(n))
	if b == nil {
		return nil, chain.Wrapf(ErrUnknownPayment, "%s", PaymentID(n))
	}
	p := &pb.Payment{}
	if err := proto.Unmarshal(b, p); err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "stored %s: %v", PaymentID(n), err)
	}
	return p, nil
}

// Window returns the merchant's protection window in seconds: its own
// choice, else the chain's. A choice shorter than the chain's window holds
// only while the merchant is bonded (an active bond of at least
// payments.min_bond), and never below payments.bonded_min_window_seconds.
func (k *Keeper) Window(ctx *module.Context, merchant chain.Address) (int64, error) {
	var def int64
	if err := k.params.Get(ctx, ParamProtectionWindow, &def); err != nil {
		return 0, err
	}
	v := st(ctx).Get(windowKey(merchant))
	if len(v) != 8 {
		return def, nil
	}
	w := int64(binary.BigEndian.Uint64(v))
	if w >= def {
		return w, nil
	}
	bonded, err := k.Bonded(ctx, merchant)
	if err != nil || !bonded {
		return def, err
	}
	var floor int64
	if err := k.params.Get(ctx, ParamBondedMinWindow, &floor); err != nil {
		return 0, err
	}
	return min(def, max(w, floor)), nil
}

func amount(s string) chain.Amount {
	a, err := chain.ParseBaseUnits(s)
	if err != nil {
		panic(fmt.Sprintf("payments: corrupt stored amount %q", s))
	}
	return a
}

func beU64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
