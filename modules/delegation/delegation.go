package delegation

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
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
	"github.com/amp-ledger/amp/modules/trust"
)

// Name is the module's store prefix and query path.
const Name = "delegation"

// The Intent Guard's reasons and the module's other errors (401-449).
// Every rejection of a mandate change or a payment carries one of them.
var (
	ErrUnknownMandate      = chain.RegisterError(401, "unknown_mandate", "no mandate has that id")
	ErrMandateNotActive    = chain.RegisterError(402, "mandate_not_active", "the mandate is not activated yet (inactive): the person must activate it")
	ErrMandateRevoked      = chain.RegisterError(403, "mandate_revoked", "the person revoked the mandate")
	ErrMandateExpired      = chain.RegisterError(404, "mandate_expired", "the mandate is past its expiry")
	ErrMandateFinished     = chain.RegisterError(405, "mandate_finished", "the mandate is finished: its budget is used up, its single checkout is paid, or its task was closed")
	ErrInvalidMandate      = chain.RegisterError(406, "invalid_mandate", "the mandate's terms or the change to them are malformed or inconsistent")
	ErrOverWalletLimit     = chain.RegisterError(407, "over_wallet_limit", "the mandate's budget exceeds the person's wallet-level delegation limit for one mandate or for the day (S1)")
	ErrAgentNotBound       = chain.RegisterError(408, "agent_not_bound", "the agent is not bound to the person's wallet")
	ErrOverBudget          = chain.RegisterError(409, "over_budget", "the payment would take the mandate over its budget")
	ErrOverPeriodLimit     = chain.RegisterError(410, "over_period_limit", "the payment would take the mandate over its limit for the period")
	ErrOverPaymentCount    = chain.RegisterError(411, "over_payment_count", "the mandate's number of payments for the period is reached")
	ErrMerchantOutOfScope  = chain.RegisterError(412, "merchant_out_of_scope", "the merchant (or its country) is not allowed by the mandate")
	ErrCategoryOutOfScope  = chain.RegisterError(413, "category_out_of_scope", "the merchant's category (MCC) is not allowed by the mandate")
	ErrPaymentOutOfRange   = chain.RegisterError(414, "payment_out_of_range", "the amount is below the mandate's minimum or above its maximum per payment")
	ErrApprovalRequired    = chain.RegisterError(415, "approval_required", "the amount is above the mandate's approval threshold: a device of the person with the approve scope (and a high enough limit) must co-sign")
	ErrOverTierCap         = chain.RegisterError(416, "over_tier_cap", "the agent's trust tier does not allow this: autonomous mandates, the amount of one payment, or its daily volume")
	ErrAssetMismatch       = chain.RegisterError(417, "asset_mismatch", "the payment is in another asset than the mandate")
	ErrOrderInconsistent   = chain.RegisterError(418, "order_inconsistent", "the payment does not match the order it is bound to: merchant, amount, asset or order hash differ")
	ErrMandateNotOwned     = chain.RegisterError(419, "mandate_not_owned", "the signer is not the mandate's person (or a device with the scope), nor its agent where the agent may act")
	ErrTooManyOpenMandates = chain.RegisterError(420, "too_many_mandates", "the person has reached the maximum number of open mandates")
)

// Status of a mandate (AMP's states).
const (
	StatusInactive  uint32 = 1 // drafted, not yet authorised by the person
	StatusActivated uint32 = 2 // usable
	StatusRevoked   uint32 = 3 // terminal: the person stopped it
	StatusExpired   uint32 = 4 // terminal: past its expiry
	StatusFinished  uint32 = 5 // terminal: budget used up, checkout paid, or task closed
)

var statusNames = map[uint32]string{StatusInactive: "inactive", StatusActivated: "activated", StatusRevoked: "revoked", StatusExpired: "expired", StatusFinished: "finished"}

// StatusName is the status as AMP names it.
func StatusName(s uint32) string { return statusNames[s] }

// Terminal reports whether a status is final.
func Terminal(s uint32) bool { return s >= StatusRevoked }

// Type names as AMP spells them.
const (
	TypeImmediate  = "IMMEDIATE"
	TypeAutonomous = "AUTONOMOUS"
)

// TypeName is a mandate type's name.
func TypeName(t pb.MandateType) string {
	switch t {
	case pb.MandateType_MANDATE_TYPE_IMMEDIATE:
		return TypeImmediate
	case pb.MandateType_MANDATE_TYPE_AUTONOMOUS:
		return TypeAutonomous
	}
	return "UNSPECIFIED"
}

// Parameters.
const (
	ParamDefaultMaxPerMandate = "delegation.default_max_per_mandate"
	ParamDefaultMaxDaily      = "delegation.default_max_daily"
	ParamMaxMandateDays       = "delegation.max_mandate_days"
)

// Limits of stored state.
const (
	MaxOpenMandates = 256 // non-terminal mandates per person
	maxListed       = 64  // merchants, MCCs or countries in one constraint list
	maxDescription  = 256
	day             = 86400
	defaultPeriod   = day
)

// Store layout under "delegation/":
//
//	m/<mandate 8>                     Mandate (protobuf)
//	pm/<person 20><mandate 8>         index: a person's mandates
//	am/<agent 8><mandate 8>           index: an agent's mandates
//	x/<expires_at 8><mandate 8>       expiry queue of non-terminal mandates
//	o/<person 20>                     number of the person's open (non-terminal) mandates, 8 bytes
//	w/<person 20><asset>              wallet limits (JSON)
//	wd/<person 20><day 8><asset>      budgets activated by the person that UTC day
//	ad/<agent 8><day 8><asset>        the agent's captured and reserved volume that day
//	n/mandate                         last mandate number
func mandateKey(n uint64) []byte { return binary.BigEndian.AppendUint64([]byte("m/"), n) }
func personMandateKey(p chain.Address, n uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte("pm/"), p[:]...), n)
}
func agentMandateKey(agent, n uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte("am/"), agent), n)
}
func expiryKey(at int64, n uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte("x/"), uint64(at)), n)
}
func openKey(p chain.Address) []byte { return append([]byte("o/"), p[:]...) }
func walletKey(p chain.Address, asset string) []byte {
	return append(append([]byte("w/"), p[:]...), asset...)
}
func walletDayKey(p chain.Address, d int64, asset string) []byte {
	return append(binary.BigEndian.AppendUint64(append([]byte("wd/"), p[:]...), uint64(d)), asset...)
}
func agentDayKey(agent uint64, d int64, asset string) []byte {
	return append(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte("ad/"), agent), uint64(d)), asset...)
}

// Keeper is the delegation module.
type Keeper struct {
	params   *params.Keeper
	bank     *bank.Keeper
	identity *identity.Keeper
	trust    *trust.Keeper
}

// New returns the module and declares its parameters.
func New(ps *params.Keeper, b *bank.Keeper, id *identity.Keeper, tr *trust.Keeper) *Keeper {
	declareParams(ps)
	return &Keeper{params: ps, bank: b, identity: id, trust: tr}
}

func (*Keeper) Name() string { return Name }

func st(ctx *module.Context) module.Store { return ctx.Store(Name + "/") }

// MandateID formats a mandate number.
func MandateID(n uint64) string { return "mandate-" + strconv.FormatUint(n, 10) }

// ParseMandateID parses "mandate-<n>".
func ParseMandateID(id string) (uint64, error) {
	s, ok := strings.CutPrefix(id, "mandate-")
	if !ok || s == "" || s[0] == '0' || len(s) > 20 {
		return 0, chain.Wrapf(ErrUnknownMandate, "%q is not a mandate id (mandate-<n>)", id)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, chain.Wrapf(ErrUnknownMandate, "%q is not a mandate id (mandate-<n>)", id)
	}
	return n, nil
}

// Mandate returns a stored mandate by number.
func (k *Keeper) Mandate(ctx *module.Context, n uint64) (*pb.Mandate, error) {
	b := st(ctx).Get(mandateKey(n))
	if b == nil {
		return nil, chain.Wrapf(ErrUnknownMandate, "%s", MandateID(n))
	}
	m := &pb.Mandate{}
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "stored %s: %v", MandateID(n), err)
	}
	return m, nil
}

// MandateByID returns a stored mandate by id.
func (k *Keeper) MandateByID(ctx *module.Context, id string) (*pb.Mandate, error) {
	n, err := ParseMandateID(id)
	if err != nil {
		return nil, err
	}
	return k.Mandate(ctx, n)
}

func (k *Keeper) save(ctx *module.Context, m *pb.Mandate) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("delegation: encode mandate: %v", err)) // a plain message always encodes
	}
	st(ctx).Set(mandateKey(m.Id), b)
}

// amount reads a stored base-unit amount ("" is zero).
func amount(s string) chain.Amount {
	if s == "" {
		return chain.Amount{}
	}
	a, err := chain.ParseBaseUnits(s)
	if err != nil {
		panic(fmt.Sprintf("delegation: corrupt stored amount %q", s)) // written only by this module
	}
	return a
}

// optAmount reads an optional limit: ok is false when there is none.
func optAmount(s string) (chain.Amount, bool) {
	if s == "" {
		return chain.Amount{}, false
	}
	return amount(s), true
}

func str(a chain.Amount) string { return a.String() }

func getU64(s module.Store, key []byte) uint64 {
	if v := s.Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func setU64(s module.Store, key []byte, n uint64) {
	if n == 0 {
		s.Delete(key)
		return
	}
	s.Set(key, binary.BigEndian.AppendUint64(nil, n))
}

func getAmt(s module.Store, key []byte) chain.Amount {
	v := s.Get(key)
	if v == nil {
		return chain.Amount{}
	}
	a, err := chain.AmountFromBytes32(v)
	if err != nil {
		panic(fmt.Sprintf("delegation: corrupt amount at %q", key))
	}
	return a
}

func setAmt(s module.Store, key []byte, a chain.Amount) {
	if a.IsZero() {
		s.Delete(key)
		return
	}
	b := a.Bytes32()
	s.Set(key, b[:])
}

func nextMandate(ctx *module.Context) uint64 {
	n := getU64(st(ctx), []byte("n/mandate")) + 1
	setU64(st(ctx), []byte("n/mandate"), n)
	return n
}

func agentNumber(id string) uint64 {
	n, _ := identity.ParseAgentID(id) // ids come from the identity module
	return n
}

func agentID(n uint64) string { return identity.AgentID(n) }

func utcDay(unix int64) int64 { return unix / day }

func declareParams(ps *params.Keeper) {
	wholeAmount := func(raw json.RawMessage) error {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("want a decimal string of whole units, e.g. \"1000\"")
		}
		if _, err := chain.ParseDecimal(s, 0); err != nil {
			return fmt.Errorf("want a decimal string of whole units, e.g. \"1000\": %v", err)
		}
		return nil
	}
	ps.Declare(params.Def{Key: ParamDefaultMaxPerMandate, Default: "1000", Validate: wholeAmount,
		Doc: "a person's limit for the budget of any one mandate, in whole units of its asset, until the person sets their own (S1)"})
	ps.Declare(params.Def{Key: ParamDefaultMaxDaily, Default: "5000", Validate: wholeAmount,
		Doc: "a person's limit for the budgets activated per UTC day, in whole units of the asset, until the person sets their own (S1)"})
	ps.Declare(params.Def{Key: ParamMaxMandateDays, Default: 366,
		Doc: "how far after activation a mandate may expire, in days",
		Validate: func(raw json.RawMessage) error {
			var n int64
			if err := json.Unmarshal(raw, &n); err != nil || n < 1 || n > 3660 {
				return fmt.Errorf("want a whole number of days from 1 to 3660")
			}
			return nil
		}})
}

func be64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func unmarshal(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }

// EachMandate calls fn for every mandate in number order until fn returns
// false: for invariants and tests, never for state transitions.
func (k *Keeper) EachMandate(ctx *module.Context, fn func(*pb.Mandate) bool) error {
	var err error
	st(ctx).Iterate([]byte("m/"), func(_, v []byte) bool {
		m := &pb.Mandate{}
		if err = proto.Unmarshal(v, m); err != nil {
			return false
		}
		return fn(m)
	})
	return err
}
