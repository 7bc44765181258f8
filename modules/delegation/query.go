package delegation

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/module"
)

// MandateView is a mandate as a wallet shows it. Amounts are decimals in
// whole units of the asset ("12.5"); base units are in Raw.
type MandateView struct {
	ID          string        `json:"mandate_id"`
	Type        string        `json:"type"`
	Status      string        `json:"status"`
	Person      chain.Address `json:"person"`
	AgentID     string        `json:"agent_id"`
	Description string        `json:"description,omitempty"`
	Asset       string        `json:"asset"`
	Budget      string        `json:"budget"`
	Consumed    string        `json:"consumed"`
	Reserved    string        `json:"reserved"`
	Available   string        `json:"available"`
	// Utilisation is consumed / budget in basis points (10000 = all).
	Utilisation int              `json:"utilisation_bp"`
	Payments    uint32           `json:"payments"`
	Checkout    *CheckoutView    `json:"checkout,omitempty"`
	Constraints *ConstraintsView `json:"constraints,omitempty"`
	Period      *PeriodView      `json:"period,omitempty"`
	CreatedAt   int64            `json:"created_at"`
	ActivatedAt int64            `json:"activated_at,omitempty"`
	ExpiresAt   int64            `json:"expires_at"`
	ClosedAt    int64            `json:"closed_at,omitempty"`
	DraftedBy   chain.Address    `json:"drafted_by"`
	Raw         RawAmounts       `json:"base_units"`
}

// RawAmounts are a mandate's amounts in base units.
type RawAmounts struct {
	Budget   string `json:"budget"`
	Consumed string `json:"consumed"`
	Reserved string `json:"reserved"`
}

// CheckoutView is an IMMEDIATE mandate's fixed checkout.
type CheckoutView struct {
	Merchant  chain.Address `json:"merchant"`
	Amount    string        `json:"amount"`
	OrderHash string        `json:"order_hash"`
}

// ConstraintsView is an AUTONOMOUS mandate's constraints; empty lists and
// amounts mean no constraint.
type ConstraintsView struct {
	Merchants        []chain.Address `json:"merchants,omitempty"`
	BlockedMerchants []chain.Address `json:"blocked_merchants,omitempty"`
	MCCs             []string        `json:"mccs,omitempty"`
	Countries        []string        `json:"countries,omitempty"`
	MinPayment       string          `json:"min_payment,omitempty"`
	MaxPayment       string          `json:"max_payment,omitempty"`
	PeriodSeconds    uint64          `json:"period_seconds"`
	PerPeriod        string          `json:"per_period,omitempty"`
	PerPeriodCount   uint32          `json:"per_period_count,omitempty"`
	ApprovalAbove    string          `json:"approval_above,omitempty"`
}

// PeriodView is the spend of the current period.
type PeriodView struct {
	Index  int64  `json:"index"`
	Start  int64  `json:"start"`
	Spent  string `json:"spent"`
	Count  uint32 `json:"count"`
	Length uint64 `json:"length_seconds"`
}

// View renders a mandate; decimals is its asset's.
func View(m *pb.Mandate, decimals uint8) MandateView {
	dec := func(s string) string {
		if s == "" {
			return ""
		}
		return chain.FormatDecimal(amount(s), decimals)
	}
	zero := func(s string) string {
		if s == "" {
			return "0"
		}
		return s
	}
	budget, consumed, reserved := amount(m.Budget), amount(m.Consumed), amount(m.Reserved)
	avail, err := budget.Sub(consumed)
	if err == nil {
		if avail, err = avail.Sub(reserved); err != nil {
			avail = chain.Amount{}
		}
	} else {
		avail = chain.Amount{}
	}
	person, _ := chain.AddressFromBytes(m.Person)
	drafter, _ := chain.AddressFromBytes(m.DraftedBy)
	v := MandateView{
		ID: MandateID(m.Id), Type: TypeName(m.Terms.Type), Status: StatusName(m.Status), Person: person,
		AgentID: agentID(m.Agent), Description: m.Terms.Description, Asset: m.Asset,
		Budget: dec(m.Budget), Consumed: chain.FormatDecimal(consumed, decimals), Reserved: chain.FormatDecimal(reserved, decimals),
		Available: chain.FormatDecimal(avail, decimals), Payments: m.Payments,
		CreatedAt: m.CreatedAt, ActivatedAt: m.ActivatedAt, ExpiresAt: m.Terms.ExpiresAt, ClosedAt: m.ClosedAt, DraftedBy: drafter,
		Raw: RawAmounts{Budget: zero(m.Budget), Consumed: zero(m.Consumed), Reserved: zero(m.Reserved)},
	}
	if !budget.IsZero() {
		bp, err := consumed.MulDiv(10000, 1)
		if err == nil {
			v.Utilisation = int(ratio(bp, budget))
		}
	}
	switch m.Terms.Type {
	case pb.MandateType_MANDATE_TYPE_IMMEDIATE:
		c := m.Terms.Checkout
		ma, _ := chain.AddressFromBytes(c.Merchant)
		v.Checkout = &CheckoutView{Merchant: ma, Amount: dec(c.Amount.Amount), OrderHash: fmt.Sprintf("%x", c.OrderHash)}
	case pb.MandateType_MANDATE_TYPE_AUTONOMOUS:
		c := m.Terms.Constraints
		cv := &ConstraintsView{MCCs: c.Mccs, Countries: c.Countries, MinPayment: dec(c.MinPayment), MaxPayment: dec(c.MaxPayment),
			PeriodSeconds: c.PeriodSeconds, PerPeriod: dec(c.PerPeriod), PerPeriodCount: c.PerPeriodCount, ApprovalAbove: dec(c.ApprovalAbove)}
		if cv.PeriodSeconds == 0 {
			cv.PeriodSeconds = defaultPeriod
		}
		for _, b := range c.Merchants {
			a, _ := chain.AddressFromBytes(b)
			cv.Merchants = append(cv.Merchants, a)
		}
		for _, b := range c.BlockedMerchants {
			a, _ := chain.AddressFromBytes(b)
			cv.BlockedMerchants = append(cv.BlockedMerchants, a)
		}
		v.Constraints = cv
		if m.Status == StatusActivated {
			v.Period = &PeriodView{Index: m.PeriodIndex, Start: m.ActivatedAt + m.PeriodIndex*int64(cv.PeriodSeconds),
				Spent: chain.FormatDecimal(amount(m.PeriodSpent), decimals), Count: m.PeriodCount, Length: cv.PeriodSeconds}
		}
	}
	return v
}

// ratio is a/b for a < 2^64·b, as a whole number.
func ratio(a, b chain.Amount) uint64 {
	q := a.Uint256()
	q.Div(q, b.Uint256())
	return q.Uint64()
}

// LimitsView is a person's wallet-level delegation limits for an asset.
type LimitsView struct {
	Person         chain.Address `json:"person"`
	Asset          string        `json:"asset"`
	MaxPerMandate  string        `json:"max_per_mandate"`
	MaxDaily       string        `json:"max_daily"`
	DelegatedToday string        `json:"delegated_today"`
	Own            bool          `json:"own"` // false: the chain's defaults
}

// Query answers, under /delegation/:
//
//	mandate/<mandate-id>
//	mandates/<person address | agent-id>     newest first, at most 100
//	limits/<person address>/<ASSET>
func (k *Keeper) Query(ctx *module.Context, path []string) (any, error) {
	switch {
	case len(path) == 2 && path[0] == "mandate":
		m, err := k.MandateByID(ctx, path[1])
		if err != nil {
			return nil, err
		}
		return k.view(ctx, m)
	case len(path) == 2 && path[0] == "mandates":
		var prefix []byte
		if strings.HasPrefix(path[1], "agent-") {
			n, err := k.identity.ResolveAgent(ctx, path[1])
			if err != nil {
				return nil, err
			}
			prefix = be64key("am/", agentNumber(n))
		} else {
			a, err := chain.ParseAddress(path[1])
			if err != nil {
				return nil, err
			}
			if ag, err := k.identity.AgentByKey(ctx, a); err == nil {
				prefix = be64key("am/", agentNumber(ag.ID))
			} else {
				prefix = append([]byte("pm/"), a[:]...)
			}
		}
		var ids []uint64
		st(ctx).Iterate(prefix, func(key, _ []byte) bool {
			ids = append(ids, be64(key[len(key)-8:]))
			return true
		})
		out := []MandateView{}
		for i := len(ids) - 1; i >= 0 && len(out) < 100; i-- {
			m, err := k.Mandate(ctx, ids[i])
			if err != nil {
				return nil, err
			}
			v, err := k.view(ctx, m)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case len(path) == 3 && path[0] == "limits":
		a, err := chain.ParseAddress(path[1])
		if err != nil {
			return nil, err
		}
		asset := strings.ToUpper(path[2])
		as, err := k.bank.Asset(ctx, asset)
		if err != nil {
			return nil, err
		}
		per, daily, own, err := k.Limits(ctx, a, asset)
		if err != nil {
			return nil, err
		}
		today := getAmt(st(ctx), walletDayKey(a, utcDay(ctx.Time.Unix()), asset))
		return LimitsView{Person: a, Asset: asset, MaxPerMandate: chain.FormatDecimal(per, as.Decimals),
			MaxDaily: chain.FormatDecimal(daily, as.Decimals), DelegatedToday: chain.FormatDecimal(today, as.Decimals), Own: own}, nil
	}
	return nil, chain.Wrapf(chain.ErrNotFound, "no delegation query %q", strings.Join(path, "/"))
}

func (k *Keeper) view(ctx *module.Context, m *pb.Mandate) (MandateView, error) {
	as, err := k.bank.Asset(ctx, m.Asset)
	if err != nil {
		return MandateView{}, err
	}
	return View(m, as.Decimals), nil
}

func be64key(prefix string, n uint64) []byte { return binary.BigEndian.AppendUint64([]byte(prefix), n) }

// Invariants: consumed never exceeds the budget; the person's count of open
// mandates and the expiry queue hold exactly the non-terminal mandates.
func (k *Keeper) Invariants() []module.Invariant {
	return []module.Invariant{{Name: "delegation/mandates", Check: k.checkMandates}}
}

func (k *Keeper) checkMandates(ctx *module.Context) error {
	open := map[chain.Address]uint64{}
	var err error
	queued := 0
	st(ctx).Iterate([]byte("m/"), func(_, v []byte) bool {
		m := &pb.Mandate{}
		if err = unmarshal(v, m); err != nil {
			return false
		}
		if amount(m.Consumed).Cmp(amount(m.Budget)) > 0 {
			err = fmt.Errorf("%s consumed %s over its budget %s", MandateID(m.Id), m.Consumed, m.Budget)
			return false
		}
		inQueue := st(ctx).Get(expiryKey(m.Terms.ExpiresAt, m.Id)) != nil
		if inQueue == Terminal(m.Status) {
			err = fmt.Errorf("%s (%s): in expiry queue %v", MandateID(m.Id), StatusName(m.Status), inQueue)
			return false
		}
		if !Terminal(m.Status) {
			p, _ := chain.AddressFromBytes(m.Person)
			open[p]++
			queued++
		}
		return true
	})
	if err != nil {
		return err
	}
	n := 0
	st(ctx).Iterate([]byte("x/"), func(_, _ []byte) bool { n++; return true })
	if n != queued {
		return fmt.Errorf("%d open mandates but %d expiry entries", queued, n)
	}
	st(ctx).Iterate([]byte("o/"), func(key, v []byte) bool {
		var p chain.Address
		copy(p[:], key[2:])
		if got := be64(v); got != open[p] {
			err = fmt.Errorf("%s: open count %d, %d open mandates", p, got, open[p])
			return false
		}
		delete(open, p)
		return true
	})
	if err == nil && len(open) > 0 {
		return fmt.Errorf("%d people with open mandates lack a count", len(open))
	}
	return err
}
