package rules

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/contracts"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
	"github.com/amp-ledger/amp/modules/trust"
)

// Name is the module's store prefix and query path.
const Name = "rules"

// Errors of this module (701-749).
var (
	ErrRuleInvalid      = chain.RegisterError(701, "rule_invalid", "the code fails the deploy-time checks (see amp rules check)")
	ErrUnknownRule      = chain.RegisterError(702, "unknown_rule", "no rule has that id")
	ErrHookBound        = chain.RegisterError(703, "hook_bound", "a rule is already bound to that hook: upgrade or unbind it")
	ErrHookUnbound      = chain.RegisterError(704, "hook_unbound", "no rule is bound to that hook")
	ErrRuleRejected     = chain.RegisterError(705, "rule_rejected", "the merchant's rule rejected the payment (the rule's own code and message follow)")
	ErrRuleFailed       = chain.RegisterError(706, "rule_failed", "the merchant's rule trapped, ran out of gas, aborted or answered malformed output: the payment is rejected")
	ErrRuleNotOwned     = chain.RegisterError(707, "rule_not_owned", "the rule was deployed by another merchant")
	ErrInvalidRuleState = chain.RegisterError(708, "invalid_rule_state", "a rule state key must be 1-64 bytes and a value at most 1024 bytes")
)

// Parameters.
const (
	ParamLimits      = "rules.limits"
	ParamGasSchedule = "rules.gas_schedule"
)

// Hook names as the CLI and queries spell them.
var hookNames = map[pb.Hook]string{pb.Hook_HOOK_PAYMENT: "payment", pb.Hook_HOOK_CLAIM: "claim", pb.Hook_HOOK_QUERY: "query"}

// HookName names a hook.
func HookName(h pb.Hook) string { return hookNames[h] }

// ParseHook reads a hook name.
func ParseHook(s string) (pb.Hook, error) {
	for h, n := range hookNames {
		if n == s {
			return h, nil
		}
	}
	return 0, chain.Wrapf(chain.ErrInvalidRequest, "hook %q: want payment, claim or query", s)
}

// Store layout under "rules/":
//
//	r/<rule 8>                   Rule (JSON)
//	c/<code hash 32>             the deployed code
//	m/<metered hash 32>          the code with metering injected (what nodes compile)
//	b/<merchant 20><hook 1>      binding: rule 8, version 4, metered hash 32
//	bv/<merchant 20><hook 1>     last version of that hook's binding, 4 (versions never repeat)
//	s/<merchant 20><key>         rule state
//	n/rule                       last rule number
func ruleKey(n uint64) []byte      { return binary.BigEndian.AppendUint64([]byte("r/"), n) }
func codeKey(h [32]byte) []byte    { return append([]byte("c/"), h[:]...) }
func meteredKey(h [32]byte) []byte { return append([]byte("m/"), h[:]...) }
func bindingKey(m chain.Address, h pb.Hook) []byte {
	return append(append([]byte("b/"), m[:]...), byte(h))
}
func versionKey(m chain.Address, h pb.Hook) []byte {
	return append(append([]byte("bv/"), m[:]...), byte(h))
}
func statePrefix(m chain.Address) []byte { return append([]byte("s/"), m[:]...) }

// Rule is a deployed rule.
type Rule struct {
	ID                 string        `json:"rule_id"`
	Merchant           chain.Address `json:"merchant"`
	Label              string        `json:"label,omitempty"`
	CodeHash           string        `json:"code_hash"`    // SHA-256 of the deployed code, hex
	MeteredHash        string        `json:"metered_hash"` // SHA-256 of the metered code, hex
	Size               int           `json:"size"`
	ABI                string        `json:"abi"`
	GasScheduleVersion uint32        `json:"gas_schedule_version"`
	InstrumentVersion  uint32        `json:"instrument_version"`
	DeployGas          uint64        `json:"deploy_gas"`
	DeployedHeight     int64         `json:"deployed_height"`
}

// Binding is a hook's current rule.
type Binding struct {
	Rule    uint64
	Version uint32
	Metered [32]byte
}

// Evaluator runs metered code: contracts.Engine in a node. It is node-local
// (a compilation cache) and must give every node the same result.
type Evaluator interface {
	Evaluate(ctx context.Context, code contracts.Code, call contracts.Call) (contracts.Result, error)
}

// Keeper is the rules module.
type Keeper struct {
	params   *params.Keeper
	bank     *bank.Keeper
	identity *identity.Keeper
	trust    *trust.Keeper
	engine   Evaluator
	// consensus evaluates the payment and claim hooks: the engine's pool of
	// instances reset between txs (see contracts.Pool) when the engine has
	// one, else the engine. Queries always use engine (fresh instances):
	// they may run concurrently with a block and must not depend on it.
	consensus Evaluator
	pool      *contracts.Pool
	// metered caches metered code by hash (see code).
	metered sync.Map
	// config caches the parsed limits and gas schedule with the raw JSON
	// they came from: every payment to a merchant with a rule reads them,
	// and a different JSON is parsed afresh, so the cache never decides.
	config atomic.Pointer[config]
}

type config struct {
	rawLimits, rawSched string
	limits              contracts.Limits
	sched               contracts.GasSchedule
}

// settings returns the chain's current rule limits and gas schedule.
func (k *Keeper) settings(ctx *module.Context) (*config, error) {
	rl, err := k.params.Raw(ctx, ParamLimits)
	if err != nil {
		return nil, err
	}
	rs, err := k.params.Raw(ctx, ParamGasSchedule)
	if err != nil {
		return nil, err
	}
	if c := k.config.Load(); c != nil && c.rawLimits == string(rl) && c.rawSched == string(rs) {
		return c, nil
	}
	c := &config{rawLimits: string(rl), rawSched: string(rs)}
	if err := json.Unmarshal(rl, &c.limits); err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "stored %s: %v", ParamLimits, err)
	}
	if err := json.Unmarshal(rs, &c.sched); err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "stored %s: %v", ParamGasSchedule, err)
	}
	k.config.Store(c)
	return c, nil
}

// New returns the module and declares its parameters. engine runs the rules.
func New(ps *params.Keeper, b *bank.Keeper, id *identity.Keeper, tr *trust.Keeper, engine Evaluator) *Keeper {
	ps.Declare(params.Def{Key: ParamLimits, Default: contracts.DefaultLimits(),
		Doc: "what a rule may be (code size, function bodies, locals, memory, tables) and do (call depth, gas per evaluation)",
		Validate: func(raw json.RawMessage) error {
			var l contracts.Limits
			if err := json.Unmarshal(raw, &l); err != nil {
				return err
			}
			return l.Validate()
		}})
	ps.Declare(params.Def{Key: ParamGasSchedule, Default: contracts.DefaultGasSchedule(),
		Doc: "the gas price of each kind of instruction and host call, versioned; rules deployed under a schedule keep it",
		Validate: func(raw json.RawMessage) error {
			var s contracts.GasSchedule
			if err := json.Unmarshal(raw, &s); err != nil {
				return err
			}
			return s.Validate()
		}})
	k := &Keeper{params: ps, bank: b, identity: id, trust: tr, engine: engine, consensus: engine}
	if e, ok := engine.(interface{ NewPool() *contracts.Pool }); ok {
		k.pool = e.NewPool()
		k.consensus = k.pool
	}
	return k
}

// BeginBlock empties the instance pool: no instance outlives its block
// (the pool also drops instances of another height on its own).
func (k *Keeper) BeginBlock(*module.Context) error {
	if k.pool != nil {
		k.pool.Reset(context.Background())
	}
	return nil
}

func (*Keeper) Name() string { return Name }

func st(ctx *module.Context) module.Store { return ctx.Store(Name + "/") }

// RuleID formats a rule number.
func RuleID(n uint64) string { return "rule-" + strconv.FormatUint(n, 10) }

// ParseRuleID parses "rule-<n>".
func ParseRuleID(id string) (uint64, error) {
	s, ok := strings.CutPrefix(id, "rule-")
	if ok && s != "" && s[0] != '0' && len(s) <= 20 {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, chain.Wrapf(ErrUnknownRule, "%q is not a rule id (rule-<n>)", id)
}

// Rule returns a deployed rule.
func (k *Keeper) Rule(ctx *module.Context, n uint64) (*Rule, error) {
	b := st(ctx).Get(ruleKey(n))
	if b == nil {
		return nil, chain.Wrapf(ErrUnknownRule, "%s", RuleID(n))
	}
	var r Rule
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "stored %s: %v", RuleID(n), err)
	}
	return &r, nil
}

// BindingOf returns the rule bound to a merchant's hook, if any.
func (k *Keeper) BindingOf(ctx *module.Context, merchant chain.Address, h pb.Hook) (*Binding, bool) {
	v := st(ctx).Get(bindingKey(merchant, h))
	if len(v) != 44 {
		return nil, false
	}
	b := &Binding{Rule: binary.BigEndian.Uint64(v[:8]), Version: binary.BigEndian.Uint32(v[8:12])}
	copy(b.Metered[:], v[12:])
	return b, true
}

func (k *Keeper) limits(ctx *module.Context) (contracts.Limits, error) {
	c, err := k.settings(ctx)
	if err != nil {
		return contracts.Limits{}, err
	}
	return c.limits, nil
}

// Check runs the deploy-time validation and the metering on code as the
// chain's current parameters say, without state: what `amp rules check`
// shows a merchant before they deploy.
func Check(code []byte, lim contracts.Limits, sched contracts.GasSchedule) ([]byte, []contracts.Problem) {
	if problems := contracts.Validate(code, lim); len(problems) > 0 {
		return nil, problems
	}
	metered, err := contracts.Instrument(code, sched)
	if err != nil {
		return nil, []contracts.Problem{{Code: contracts.ProblemInstrumented, Message: err.Error()}}
	}
	return metered, nil
}

func hexHash(h [32]byte) string { return hex.EncodeToString(h[:]) }

func sum(b []byte) [32]byte { return sha256.Sum256(b) }

func hexDecode32(s string) ([32]byte, error) {
	var h [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("bad hash %q", s)
	}
	copy(h[:], b)
	return h, nil
}
