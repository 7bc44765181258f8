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
	ErrWindowOutOfRange = chain.RegisterError(605, "window_out_of_range", "the protection window is shorter than the chain's or longer than its maximum")
)

// Payment statuses. The money-back issue adds claim states between
// escrowed and the terminal ones.
const (
	StatusEscrowed uint32 = 1 // captured; held in escrow until release_at
	StatusReleased uint32 = 2 // terminal: paid out to the merchant's settlement account
)

var statusNames = map[uint32]string{StatusEscrowed: "escrowed", StatusReleased: "released"}

// StatusName names a payment status.
func StatusName(s uint32) string { return statusNames[s] }

// Parameters.
const (
	ParamTokenValidity    = "payments.token_validity_blocks"
	ParamProtectionWindow = "payments.protection_window_seconds"
	ParamMaxWindow        = "payments.max_protection_window_seconds"
)

// EscrowAccount holds every escrowed payment.
var EscrowAccount = bank.ModuleAddress("payments/escrow")

// Store layout under "payments/":
//
//	t/<token 8>                       Token (protobuf), while live
//	te/<expires height 8><token 8>    token expiry queue
//	p/<payment 8>                     Payment (protobuf)
//	pm/<mandate 8><payment 8>         index: a mandate's payments (bills)
//	r/<release_at 8><payment 8>       escrow release queue (block time)
//	o/<merchant 20><order hash 32>    "t"+token or "p"+payment: one token or payment per order
//	w/<merchant 20>                   the merchant's protection window, seconds (8 bytes)
//	n/token, n/payment                last numbers
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
// choice, else the chain's.
func (k *Keeper) Window(ctx *module.Context, merchant chain.Address) (int64, error) {
	if v := st(ctx).Get(windowKey(merchant)); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	var w int64
	err := k.params.Get(ctx, ParamProtectionWindow, &w)
	return w, err
}

func amount(s string) chain.Amount {
	a, err := chain.ParseBaseUnits(s)
	if err != nil {
		panic(fmt.Sprintf("payments: corrupt stored amount %q", s))
	}
	return a
}

func beU64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
