package rules

import (
	"context"
	"fmt"
	"strconv"

	"github.com/holiman/uint256"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/contracts"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/payments"
)

// The rules module is the payments module's Rules.
var _ payments.Rules = (*Keeper)(nil)

// The rules module is also a module with work at the block start.
var _ module.HasBeginBlock = (*Keeper)(nil)

// bufferedHost is a rule's view of its merchant's state. Writes are kept
// in guest order and applied only if the evaluation ends well, so a rule
// that traps leaves no trace even when its caller goes on (a claim).
type bufferedHost struct {
	s        module.Store
	prefix   []byte
	readOnly bool
	writes   []write
	pending  map[string]int // key → index in writes, once there are indexAfter writes
}

// indexAfter is how many distinct keys a rule writes before its writes get
// an index: most rules write one or two keys, which a scan finds faster
// than a map costs to make, and a rule writing hundreds must not make
// every write a scan.
const indexAfter = 8

type write struct {
	key, value []byte
	del        bool
}

func newHost(ctx *module.Context, merchant chain.Address, readOnly bool) *bufferedHost {
	return &bufferedHost{s: st(ctx), prefix: statePrefix(merchant), readOnly: readOnly}
}

// find returns the index of key's buffered write, or -1.
func (h *bufferedHost) find(key []byte) int {
	if h.pending != nil {
		if i, ok := h.pending[string(key)]; ok {
			return i
		}
		return -1
	}
	for i := range h.writes {
		if string(h.writes[i].key) == string(key) {
			return i
		}
	}
	return -1
}

func (h *bufferedHost) Get(key []byte) ([]byte, bool, error) {
	if i := h.find(key); i >= 0 {
		w := h.writes[i]
		return w.value, !w.del, nil
	}
	v := h.s.Get(append(append(make([]byte, 0, len(h.prefix)+len(key)), h.prefix...), key...))
	return v, v != nil, nil
}

// put buffers a write. key and value are views into the rule's memory
// (contracts.Host): they are copied here.
func (h *bufferedHost) put(key, value []byte, del bool) error {
	if h.readOnly {
		return fmt.Errorf("rules: state writes in a read-only evaluation") // the engine traps the guest
	}
	w := write{value: append([]byte(nil), value...), del: del}
	if i := h.find(key); i >= 0 {
		w.key = h.writes[i].key
		h.writes[i] = w
		return nil
	}
	w.key = append([]byte(nil), key...)
	h.writes = append(h.writes, w)
	if h.pending != nil {
		h.pending[string(w.key)] = len(h.writes) - 1
	} else if len(h.writes) > indexAfter {
		h.pending = make(map[string]int, 2*len(h.writes))
		for i := range h.writes {
			h.pending[string(h.writes[i].key)] = i
		}
	}
	return nil
}

func (h *bufferedHost) Set(key, value []byte) error { return h.put(key, value, false) }

func (h *bufferedHost) Delete(key []byte) error { return h.put(key, nil, true) }

// apply writes the buffered state in guest order.
func (h *bufferedHost) apply() {
	for _, w := range h.writes {
		k := append(append([]byte(nil), h.prefix...), w.key...)
		if w.del {
			h.s.Delete(k)
		} else {
			h.s.Set(k, w.value)
		}
	}
}

// u128 gives an amount as the ABI carries it; amounts beyond 2^128-1 base
// units (10^20 USD) read as the maximum.
func u128(a chain.Amount) contracts.U128 {
	v := a.Uint256()
	if v.BitLen() > 128 {
		return contracts.U128{Lo: ^uint64(0), Hi: ^uint64(0)}
	}
	return contracts.U128{Lo: v[0], Hi: v[1]}
}

func amountOf(u contracts.U128) chain.Amount {
	var v uint256.Int
	v[0], v[1] = u.Lo, u.Hi
	a, _ := chain.ParseBaseUnits(v.Dec())
	return a
}

// run evaluates the rule bound to a merchant's hook (b, read by the
// caller). The rule's state writes are applied when it ends well.
// Queries (read-only) take fresh instances; the payment and claim hooks,
// which run in FinalizeBlock, take the consensus evaluator (the pool).
func (k *Keeper) run(ctx *module.Context, merchant chain.Address, b *Binding, hook pb.Hook, entry contracts.Entry, body []byte, readOnly bool) (contracts.Result, error) {
	metered, err := k.code(ctx, b)
	if err != nil {
		return contracts.Result{}, err
	}
	cfg, err := k.settings(ctx)
	if err != nil {
		return contracts.Result{}, err
	}
	lim, sched := cfg.limits, cfg.sched
	host := newHost(ctx, merchant, readOnly)
	// Instruction prices are in the metered code since deploy; host calls
	// and instantiation are priced by the chain's schedule now.
	ev := k.consensus
	if readOnly {
		ev = k.engine
	}
	res, err := ev.Evaluate(context.Background(), contracts.Code{Hash: b.Metered, Wasm: metered, Schedule: &sched}, contracts.Call{
		Entry: entry, Height: uint64(ctx.Height), Time: ctx.Time.Unix(), RuleVersion: b.Version, Body: body,
		Limits: &lim, Host: host,
	})
	if err != nil {
		// A node fault (the engine broke), not the rule's doing: the
		// app halts the tx deterministically as internal.
		return contracts.Result{}, chain.Wrapf(chain.ErrInternal, "rules engine: %v", err)
	}
	ctx.UseGas(res.GasUsed)
	if res.Class == contracts.ClassOK {
		host.apply()
	}
	ctx.Emit("rule_evaluated",
		module.Attr{Key: "merchant", Value: merchant.String()},
		module.Attr{Key: "rule_id", Value: RuleID(b.Rule), Index: true},
		module.Attr{Key: "hook", Value: HookName(hook)},
		module.Attr{Key: "class", Value: res.Class.String()},
		module.Attr{Key: "decision", Value: strconv.FormatUint(uint64(res.Decision), 10)},
		module.Attr{Key: "gas_used", Value: strconv.FormatUint(res.GasUsed, 10)})
	return res, nil
}

// code returns a binding's metered code. Code is stored under its hash,
// never changed and never deleted, and a binding only ever names code that
// its deploy stored with it, so once read from state it can be kept by hash
// (node-locally: a node that has not read it yet reads it, and a missing
// code is the same internal error on every node). This saves reading 2 KB
// to 2 MB from the store at every evaluation.
func (k *Keeper) code(ctx *module.Context, b *Binding) ([]byte, error) {
	if v, ok := k.metered.Load(b.Metered); ok {
		return v.([]byte), nil
	}
	metered := st(ctx).Get(meteredKey(b.Metered))
	if metered == nil {
		return nil, chain.Wrapf(chain.ErrInternal, "metered code %x of %s is missing", b.Metered, RuleID(b.Rule))
	}
	metered = append([]byte(nil), metered...) // the store may reuse its buffer
	k.metered.Store(b.Metered, metered)
	return metered, nil
}

// failure is the error of an evaluation that did not end well.
func failure(b *Binding, res contracts.Result) error {
	if res.Class == contracts.ClassAbort {
		return chain.Wrapf(ErrRuleFailed, "%s aborted with code %d", RuleID(b.Rule), res.AbortCode)
	}
	return chain.Wrapf(ErrRuleFailed, "%s ended with %s after %d gas", RuleID(b.Rule), res.Class, res.GasUsed)
}

// CheckPayment runs the merchant's payment rule: accept, reject (with the
// rule's code), or hold the payment in escrow longer.
func (k *Keeper) CheckPayment(ctx *module.Context, f payments.PaymentFacts) (int64, error) {
	b, bound := k.BindingOf(ctx, f.Merchant, pb.Hook_HOOK_PAYMENT)
	if !bound {
		return 0, nil
	}
	decimals, err := k.decimals(ctx, f.Coin.Asset)
	if err != nil {
		return 0, err
	}
	p := contracts.Payment{Amount: u128(f.Coin.Amount), Decimals: decimals, Asset: f.Coin.Asset, Payer: f.Payer, Merchant: f.Merchant,
		Agent: f.Agent, Mandate: f.Mandate}
	copy(p.OrderHash[:], f.OrderHash)
	if f.TierKnown {
		p.TrustScore, p.TrustTier = f.TrustScore, f.TrustTier
	} else if tc, err := k.trust.Tier(ctx, identity.AgentID(f.Agent)); err == nil {
		p.TrustScore, p.TrustTier = uint32(tc.Score), uint32(tc.Index)
	}
	body, err := p.Encode()
	if err != nil {
		return 0, chain.Wrapf(ErrRuleFailed, "%v", err)
	}
	res, err := k.run(ctx, f.Merchant, b, pb.Hook_HOOK_PAYMENT, contracts.EntryPayment, body, false)
	if err != nil {
		return 0, err
	}
	if res.Class != contracts.ClassOK {
		return 0, failure(b, res)
	}
	switch res.Decision {
	case contracts.DecisionAccept:
		return 0, nil
	case contracts.DecisionReject:
		code, msg, _ := contracts.ReasonCode(res.Output)
		return 0, chain.Wrapf(ErrRuleRejected, "%s: code %d: %s", RuleID(b.Rule), code, msg)
	case contracts.DecisionHold:
		secs, _ := contracts.HoldSeconds(res.Output)
		return int64(min(secs, 1<<40)), nil
	}
	return 0, failure(b, contracts.Result{Class: contracts.ClassInvalidOutput, GasUsed: res.GasUsed})
}

// CheckClaim runs the merchant's claim rule: approve a refund at once, deny
// (the merchant contests), or leave the claim to the merchant's response —
// which is also the answer of a rule that fails.
func (k *Keeper) CheckClaim(ctx *module.Context, f payments.ClaimFacts) (payments.ClaimVerdict, chain.Amount, error) {
	b, bound := k.BindingOf(ctx, f.Merchant, pb.Hook_HOOK_CLAIM)
	if !bound {
		return payments.ClaimNoAnswer, chain.Amount{}, nil
	}
	decimals, err := k.decimals(ctx, f.Claimed.Asset)
	if err != nil {
		return payments.ClaimNoAnswer, chain.Amount{}, err
	}
	c := contracts.Claim{Amount: u128(f.Claimed.Amount), Decimals: decimals, Asset: f.Claimed.Asset, Payer: f.Payer, Merchant: f.Merchant,
		Agent: f.Agent, Payment: f.Payment, PaymentAmount: u128(f.Paid.Amount), Reason: f.Reason, CapturedAt: f.CapturedAt, Claim: f.Claim}
	body, err := c.Encode()
	if err != nil {
		return payments.ClaimNoAnswer, chain.Amount{}, nil
	}
	res, err := k.run(ctx, f.Merchant, b, pb.Hook_HOOK_CLAIM, contracts.EntryClaim, body, false)
	if err != nil {
		return payments.ClaimNoAnswer, chain.Amount{}, err
	}
	if res.Class != contracts.ClassOK {
		return payments.ClaimNoAnswer, chain.Amount{}, nil
	}
	switch res.Decision {
	case contracts.DecisionApproveRefund:
		amt, full, ok := contracts.RefundAmount(res.Output)
		if !ok {
			return payments.ClaimNoAnswer, chain.Amount{}, nil
		}
		refund := f.Claimed.Amount
		if !full {
			if a := amountOf(amt); a.Cmp(refund) < 0 {
				refund = a
			}
		}
		return payments.ClaimApprove, refund, nil
	case contracts.DecisionDeny:
		return payments.ClaimDeny, chain.Amount{}, nil
	}
	return payments.ClaimNoAnswer, chain.Amount{}, nil
}

// Explain runs a merchant's query hook read-only on the caller's bytes.
func (k *Keeper) Explain(ctx *module.Context, merchant chain.Address, body []byte) (contracts.Result, error) {
	if len(body) > contracts.MaxQuery {
		return contracts.Result{}, chain.Wrapf(chain.ErrInvalidRequest, "query body of %d bytes, at most %d", len(body), contracts.MaxQuery)
	}
	b, bound := k.BindingOf(ctx, merchant, pb.Hook_HOOK_QUERY)
	if !bound {
		return contracts.Result{}, chain.Wrapf(ErrHookUnbound, "merchant %s has no query rule", merchant)
	}
	return k.run(ctx, merchant, b, pb.Hook_HOOK_QUERY, contracts.EntryQuery, body, true)
}

func (k *Keeper) decimals(ctx *module.Context, asset string) (uint8, error) {
	a, err := k.bank.Asset(ctx, asset)
	if err != nil {
		return 0, err
	}
	return a.Decimals, nil
}
