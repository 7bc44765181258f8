package delegation

import (
	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/trust"
)

// Payment is what the Intent Guard checks: the agent that signed, the
// merchant paid, the amount and the order.
type Payment struct {
	Agent     *identity.AgentStatus
	Merchant  *identity.MerchantInfo
	Coin      chain.Coin
	OrderHash []byte
}

// Reservation is what Reserve counted, so that Consume and Release undo
// exactly that.
type Reservation struct {
	// Mandate is the mandate as Reserve left it, or as the caller loaded it
	// in this tx (a token captured later): Consume works on it.
	Mandate     *pb.Mandate
	PeriodIndex int64
	Day         int64
	// Approver is the device (or the person) whose signature approved an
	// amount above the approval threshold; zero if none was needed.
	Approver chain.Address
	// Tier is the agent's trust tier as Reserve checked it in this tx; nil
	// for a reservation rebuilt from a token at capture.
	Tier *trust.TierCaps
	// checked: Reserve ran the usability checks in this very tx, so a
	// direct payment's Consume need not read the agent and binding again.
	checked bool
}

// usable fails unless the mandate is activated and unexpired at the block
// time, and its agent may act and is still bound to the person.
func (k *Keeper) usable(ctx *module.Context, m *pb.Mandate) error {
	return k.usableWith(ctx, m, nil)
}

// usableWith is usable with the agent's status already read in this tx
// (nil: read it).
func (k *Keeper) usableWith(ctx *module.Context, m *pb.Mandate, agent *identity.AgentStatus) error {
	if m.Status != StatusActivated {
		return statusError(m)
	}
	if ctx.Time.Unix() >= m.Terms.ExpiresAt {
		return chain.Wrapf(ErrMandateExpired, "%s expired at %d", MandateID(m.Id), m.Terms.ExpiresAt)
	}
	if agent == nil {
		if _, err := k.identity.ActiveAgent(ctx, m.Agent); err != nil {
			return err
		}
	} else if err := k.identity.CheckActive(ctx, agent); err != nil {
		return err
	}
	person, _ := chain.AddressFromBytes(m.Person)
	if !k.identity.Bound(ctx, person, m.Agent) {
		return chain.Wrapf(ErrAgentNotBound, "%s is no longer bound to %s's wallet", agentID(m.Agent), person)
	}
	return nil
}

// periodOf returns the index of the mandate's period at time now.
func periodOf(m *pb.Mandate, now int64) int64 {
	if m.Terms.Type != pb.MandateType_MANDATE_TYPE_AUTONOMOUS || now < m.ActivatedAt {
		return 0
	}
	p := int64(m.Terms.Constraints.PeriodSeconds)
	if p == 0 {
		p = defaultPeriod
	}
	return (now - m.ActivatedAt) / p
}

// Reserve is the Intent Guard's S2 for a payment token (and the first half
// of a direct payment): every constraint of the mandate, the approval
// threshold and the agent's tier caps; then it reserves the amount against
// the budget, the period and the agent's day.
//
// m is the mandate as loaded in this tx; Reserve updates and saves it.
func (k *Keeper) Reserve(ctx *module.Context, m *pb.Mandate, p Payment) (*Reservation, error) {
	r, err := k.reserve(ctx, m, p)
	if err != nil {
		return nil, err
	}
	k.save(ctx, m)
	return r, nil
}

// ReserveToConsume is Reserve for a payment that Consume settles in the
// same tx: the mandate is saved once, by Consume, instead of twice. If the
// tx does not reach Consume it must fail, which discards its writes.
func (k *Keeper) ReserveToConsume(ctx *module.Context, m *pb.Mandate, p Payment) (*Reservation, error) {
	return k.reserve(ctx, m, p)
}

func (k *Keeper) reserve(ctx *module.Context, m *pb.Mandate, p Payment) (*Reservation, error) {
	var err error
	if m.Agent != p.Agent.Number {
		return nil, chain.Wrapf(ErrMandateNotOwned, "%s is a mandate of %s, not of %s", MandateID(m.Id), agentID(m.Agent), p.Agent.ID())
	}
	if err := k.usableWith(ctx, m, p.Agent); err != nil {
		return nil, err
	}
	if p.Coin.Asset != m.Asset {
		return nil, chain.Wrapf(ErrAssetMismatch, "the payment is in %s, %s in %s", p.Coin.Asset, MandateID(m.Id), m.Asset)
	}
	if err := merchantInScope(m.Terms, p.Merchant.Address, p.Merchant.MCC, p.Merchant.Country); err != nil {
		return nil, err
	}
	amt := p.Coin.Amount
	t := m.Terms
	if t.Type == pb.MandateType_MANDATE_TYPE_IMMEDIATE {
		if amount(t.Checkout.Amount.Amount).Cmp(amt) != 0 || string(t.Checkout.OrderHash) != string(p.OrderHash) {
			return nil, chain.Wrapf(ErrOrderInconsistent, "the payment differs from the checkout the person confirmed (amount or order)")
		}
	} else {
		c := t.Constraints
		if lo, ok := optAmount(c.MinPayment); ok && amt.Cmp(lo) < 0 {
			return nil, chain.Wrapf(ErrPaymentOutOfRange, "%s base units is below the mandate's minimum %s", amt, lo)
		}
		if hi, ok := optAmount(c.MaxPayment); ok && amt.Cmp(hi) > 0 {
			return nil, chain.Wrapf(ErrPaymentOutOfRange, "%s base units is above the mandate's maximum per payment %s", amt, hi)
		}
	}
	held, err := amount(m.Consumed).Add(amount(m.Reserved))
	after, err2 := held.Add(amt)
	if err != nil || err2 != nil || after.Cmp(amount(m.Budget)) > 0 {
		return nil, chain.Wrapf(ErrOverBudget, "%s base units spent or reserved plus %s is over the budget of %s", held, amt, m.Budget)
	}
	now := ctx.Time.Unix()
	if pi := periodOf(m, now); pi != m.PeriodIndex {
		m.PeriodIndex, m.PeriodSpent, m.PeriodCount = pi, "", 0
	}
	spent, err := amount(m.PeriodSpent).Add(amt)
	if err != nil {
		return nil, chain.Wrapf(ErrOverPeriodLimit, "period spend overflows")
	}
	if t.Type == pb.MandateType_MANDATE_TYPE_AUTONOMOUS {
		c := t.Constraints
		if lim, ok := optAmount(c.PerPeriod); ok && spent.Cmp(lim) > 0 {
			return nil, chain.Wrapf(ErrOverPeriodLimit, "%s base units this period plus %s is over the limit of %s", m.PeriodSpent, amt, lim)
		}
		if c.PerPeriodCount > 0 && m.PeriodCount+1 > c.PerPeriodCount {
			return nil, chain.Wrapf(ErrOverPaymentCount, "%d payments this period already, the limit is %d", m.PeriodCount, c.PerPeriodCount)
		}
	}
	r := &Reservation{Mandate: m, PeriodIndex: m.PeriodIndex, Day: utcDay(now), checked: true}
	if t.Type == pb.MandateType_MANDATE_TYPE_AUTONOMOUS {
		if th, ok := optAmount(t.Constraints.ApprovalAbove); ok && amt.Cmp(th) > 0 {
			if r.Approver, err = k.approval(ctx, m, p.Coin); err != nil {
				return nil, err
			}
		}
	}
	tc, today, err := k.checkTier(ctx, m, p)
	if err != nil {
		return nil, err
	}
	r.Tier = &tc
	reserved, _ := amount(m.Reserved).Add(amt)
	m.Reserved, m.PeriodSpent, m.PeriodCount = str(reserved), str(spent), m.PeriodCount+1
	dv, _ := today.Add(amt) // bounded by the tier cap just checked
	setAmt(st(ctx), agentDayKey(m.Agent, r.Day, m.Asset), dv)
	return r, nil
}

// approval finds the co-signature that approves an amount above the
// threshold: the person's own key, or a device of theirs with the approve
// scope whose approval limit (if any) covers the amount.
func (k *Keeper) approval(ctx *module.Context, m *pb.Mandate, c chain.Coin) (chain.Address, error) {
	person, _ := chain.AddressFromBytes(m.Person)
	d, err := k.identity.Authorize(ctx, person, identity.ScopeApprove)
	if err != nil {
		return chain.Address{}, chain.Wrapf(ErrApprovalRequired, "%s base units is above %s's approval threshold %s: a device of the person with the approve scope must co-sign (%v)",
			c.Amount, MandateID(m.Id), m.Terms.Constraints.ApprovalAbove, err)
	}
	if d == nil {
		return person, nil
	}
	if d.ApproveLimit != nil {
		lim, err := d.ApproveLimit.Coin()
		if err != nil || lim.Asset != c.Asset || lim.Amount.Cmp(c.Amount) < 0 {
			return chain.Address{}, chain.Wrapf(ErrApprovalRequired, "device %s (%s) may approve only up to %s %s base units", d.Address, d.Label, d.ApproveLimit.BaseUnits, d.ApproveLimit.Asset)
		}
	}
	return d.Address, nil
}

// checkTier bounds every payment by the agent's trust tier, whatever the
// mandate allows: autonomous mandates, one payment, and the agent's volume
// across all its mandates today, which it returns.
func (k *Keeper) checkTier(ctx *module.Context, m *pb.Mandate, p Payment) (tc trust.TierCaps, today chain.Amount, err error) {
	tc, err = k.trust.Tier(ctx, p.Agent.ID())
	if err != nil {
		return tc, today, err
	}
	if m.Terms.Type == pb.MandateType_MANDATE_TYPE_AUTONOMOUS && !tc.Autonomous {
		return tc, today, chain.Wrapf(ErrOverTierCap, "%s is in tier %s (%s), which allows no AUTONOMOUS payments", p.Agent.ID(), tc.Name, tc.Label)
	}
	if p.Coin.Asset != "USD" {
		return tc, today, chain.Wrapf(ErrOverTierCap, "tier caps are set in USD and the ledger has no rate for %s", p.Coin.Asset)
	}
	if p.Coin.Amount.Cmp(tc.MaxPayment) > 0 {
		return tc, today, chain.Wrapf(ErrOverTierCap, "%s is in tier %s: at most %s USD base units per payment", p.Agent.ID(), tc.Name, tc.MaxPayment)
	}
	today = getAmt(st(ctx), agentDayKey(m.Agent, utcDay(ctx.Time.Unix()), p.Coin.Asset))
	if total, err := today.Add(p.Coin.Amount); err != nil || total.Cmp(tc.MaxDaily) > 0 {
		return tc, today, chain.Wrapf(ErrOverTierCap, "%s is in tier %s: at most %s USD base units a day, %s used", p.Agent.ID(), tc.Name, tc.MaxDaily, today)
	}
	return tc, today, nil
}

// Consume is the Intent Guard's S4, just before the debit: the mandate is
// still activated and unexpired, its agent still usable, and the captured
// amount (at most what was reserved) within the budget as it is now. The
// reservation becomes spend; what was reserved but not captured is freed.
// An IMMEDIATE mandate, or one whose budget is used up, finishes.
func (k *Keeper) Consume(ctx *module.Context, r *Reservation, reserved, captured chain.Amount) (*pb.Mandate, error) {
	m := r.Mandate
	if !r.checked {
		if err := k.usable(ctx, m); err != nil {
			return nil, err
		}
	}
	if captured.Cmp(reserved) > 0 {
		return nil, chain.Wrapf(ErrOrderInconsistent, "captures %s base units, more than the %s authorised", captured, reserved)
	}
	left, err := amount(m.Reserved).Sub(reserved)
	if err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "%s reserves %s, less than a token's %s", MandateID(m.Id), m.Reserved, reserved)
	}
	consumed, _ := amount(m.Consumed).Add(captured)
	if consumed.Cmp(amount(m.Budget)) > 0 {
		return nil, chain.Wrapf(ErrOverBudget, "capturing %s base units takes %s over its budget of %s (lowered since the token?)", captured, MandateID(m.Id), m.Budget)
	}
	m.Reserved, m.Consumed, m.Payments = str(left), str(consumed), m.Payments+1
	if unused, _ := reserved.Sub(captured); !unused.IsZero() {
		k.unreserve(ctx, m, r.PeriodIndex, r.Day, unused, false)
	}
	budgetLeft, _ := amount(m.Budget).Sub(consumed)
	switch {
	case m.Terms.Type == pb.MandateType_MANDATE_TYPE_IMMEDIATE:
		k.end(ctx, m, StatusFinished, "checkout paid")
	case budgetLeft.IsZero():
		k.end(ctx, m, StatusFinished, "budget used up")
	}
	k.save(ctx, m)
	return m, nil
}

// Release frees the reservation of a payment token that expired unused.
// It applies whatever the mandate's status: the accounting stays exact.
func (k *Keeper) Release(ctx *module.Context, mandate uint64, periodIndex, dayIndex int64, amt chain.Amount) error {
	m, err := k.Mandate(ctx, mandate)
	if err != nil {
		return err
	}
	left, err := amount(m.Reserved).Sub(amt)
	if err != nil {
		return chain.Wrapf(chain.ErrInternal, "%s reserves %s, less than a token's %s", MandateID(m.Id), m.Reserved, amt)
	}
	m.Reserved = str(left)
	k.unreserve(ctx, m, periodIndex, dayIndex, amt, true)
	if m.Status == StatusActivated && left.IsZero() && amount(m.Consumed).Cmp(amount(m.Budget)) == 0 {
		k.end(ctx, m, StatusFinished, "budget used up")
	}
	k.save(ctx, m)
	return nil
}

// unreserve takes an amount (and, for a whole token, one payment) back out
// of the period it was counted in, if that period is still the mandate's
// current one, and out of the agent's day.
func (k *Keeper) unreserve(ctx *module.Context, m *pb.Mandate, periodIndex, dayIndex int64, amt chain.Amount, count bool) {
	if periodIndex == m.PeriodIndex {
		if s, err := amount(m.PeriodSpent).Sub(amt); err == nil {
			m.PeriodSpent = str(s)
		}
		if count && m.PeriodCount > 0 {
			m.PeriodCount--
		}
	}
	dk := agentDayKey(m.Agent, dayIndex, m.Asset)
	if v, err := getAmt(st(ctx), dk).Sub(amt); err == nil {
		setAmt(st(ctx), dk, v)
	}
}
