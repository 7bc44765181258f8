package payments

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
)

// Guarantee reports: per merchant and per agent, the claims on their
// payments and how they ended, against the number of their payments that
// left escrow (released, or refunded in full from it). A merchant "loses" a
// claim it contested (or its rule denied) that was then decided for the
// person; an agent loses those too, and every approved unauthorized claim.
// Lost claims lower the agent's trust rating; after
// payments.suspend_after_lost_claims of them the ledger suspends the agent
// (identity.LedgerIssuer).

func merchantReportKey(a chain.Address) []byte { return append([]byte("gm/"), a[:]...) }
func agentReportKey(n uint64) []byte           { return be64k("ga/", n) }

func (k *Keeper) loadReport(ctx *module.Context, key []byte) (*pb.GuaranteeReport, error) {
	r := &pb.GuaranteeReport{}
	if v := st(ctx).Get(key); v != nil {
		if err := proto.Unmarshal(v, r); err != nil {
			return nil, chain.Wrapf(chain.ErrInternal, "stored report %x: %v", key, err)
		}
	}
	return r, nil
}

func (k *Keeper) updateReports(ctx *module.Context, merchant []byte, agent uint64, fn func(r *pb.GuaranteeReport, isAgent bool) error) error {
	for i, key := range [][]byte{merchantReportKey(address(merchant)), agentReportKey(agent)} {
		r, err := k.loadReport(ctx, key)
		if err != nil {
			return err
		}
		if err := fn(r, i == 1); err != nil {
			return err
		}
		save(ctx, key, r)
	}
	return nil
}

// reportAmount returns the report's amounts entry of an asset.
func reportAmount(r *pb.GuaranteeReport, asset string) *pb.ReportAmount {
	for _, a := range r.Amounts {
		if a.Asset == asset {
			return a
		}
	}
	a := &pb.ReportAmount{Asset: asset}
	r.Amounts = append(r.Amounts, a)
	return a
}

// countPayment counts a payment that left escrow.
func (k *Keeper) countPayment(ctx *module.Context, p *pb.Payment) error {
	return k.updateReports(ctx, p.Merchant, p.Agent, func(r *pb.GuaranteeReport, _ bool) error {
		r.Payments++
		return nil
	})
}

// addPayments counts n payments that left escrow in one report.
func (k *Keeper) addPayments(ctx *module.Context, key []byte, n uint64) error {
	r, err := k.loadReport(ctx, key)
	if err != nil {
		return err
	}
	r.Payments += n
	save(ctx, key, r)
	return nil
}

func (k *Keeper) reportFiled(ctx *module.Context, c *pb.Claim) error {
	return k.updateReports(ctx, c.Merchant, c.Agent, func(r *pb.GuaranteeReport, _ bool) (err error) {
		r.Filed++
		a := reportAmount(r, c.Asset)
		a.Claimed, err = addAmount(a.Claimed, amount(c.Amount))
		return err
	})
}

func (k *Keeper) reportDecided(ctx *module.Context, c *pb.Claim, refunded bool) error {
	return k.updateReports(ctx, c.Merchant, c.Agent, func(r *pb.GuaranteeReport, isAgent bool) (err error) {
		if !refunded {
			r.Denied++
			return nil
		}
		r.Refunded++
		a := reportAmount(r, c.Asset)
		if a.Refunded, err = addAmount(a.Refunded, amount(c.Refund)); err != nil {
			return err
		}
		switch {
		case isAgent && c.Lost:
			r.Lost++
			r.LostSinceSuspension++
		case !isAgent && c.ContestedAt != 0:
			r.Lost++
		}
		return nil
	})
}

// suspendIfRepeated suspends the agent in the ledger's name once it has
// lost payments.suspend_after_lost_claims claims since the last time.
func (k *Keeper) suspendIfRepeated(ctx *module.Context, agent uint64) error {
	var limit uint64
	if err := k.params.Get(ctx, ParamSuspendAfter, &limit); err != nil {
		return err
	}
	key := agentReportKey(agent)
	r, err := k.loadReport(ctx, key)
	if err != nil {
		return err
	}
	if limit == 0 || r.LostSinceSuspension < limit {
		return nil
	}
	made, err := k.identity.SuspendByLedger(ctx, identity.AgentID(agent),
		fmt.Sprintf("lost %d money-back claims (payments.suspend_after_lost_claims = %d)", r.LostSinceSuspension, limit))
	if err != nil {
		return err
	}
	if made {
		r.Suspensions++
	}
	r.LostSinceSuspension = 0
	save(ctx, key, r)
	return nil
}

// ReportView is a merchant's or an agent's guarantee report.
type ReportView struct {
	Kind     string `json:"kind"` // merchant or agent
	Merchant string `json:"merchant,omitempty"`
	AgentID  string `json:"agent_id,omitempty"`
	// Payments that left escrow (released, or refunded in full from it):
	// the base of the rates.
	Payments       uint64 `json:"payments"`
	ClaimsFiled    uint64 `json:"claims_filed"`
	ClaimsOpen     uint64 `json:"claims_open"`
	ClaimsRefunded uint64 `json:"claims_refunded"`
	ClaimsDenied   uint64 `json:"claims_denied"`
	ClaimsLost     uint64 `json:"claims_lost"`
	// Rates in basis points of Payments (0 without payments).
	ClaimRate  uint64             `json:"claim_rate_bp"`
	RefundRate uint64             `json:"refund_rate_bp"`
	LossRate   uint64             `json:"loss_rate_bp"`
	Amounts    []ReportAmountView `json:"amounts"`
	// Agents: lost claims counted towards the next ledger suspension, and
	// the suspensions the ledger made.
	LostSinceSuspension *uint64 `json:"lost_since_suspension,omitempty"`
	LedgerSuspensions   *uint64 `json:"ledger_suspensions,omitempty"`
}

// ReportAmountView is what was claimed and refunded in one asset.
type ReportAmountView struct {
	Asset            string `json:"asset"`
	Claimed          string `json:"claimed"`
	Refunded         string `json:"refunded"`
	ClaimedBaseUnits string `json:"claimed_base_units"`
	RefundedBase     string `json:"refunded_base_units"`
}

func rate(n, of uint64) uint64 {
	if of == 0 {
		return 0
	}
	return n * 10_000 / of
}

func (k *Keeper) reportView(ctx *module.Context, r *pb.GuaranteeReport) ReportView {
	v := ReportView{Payments: r.Payments, ClaimsFiled: r.Filed, ClaimsRefunded: r.Refunded, ClaimsDenied: r.Denied, ClaimsLost: r.Lost,
		ClaimRate: rate(r.Filed, r.Payments), RefundRate: rate(r.Refunded, r.Payments), LossRate: rate(r.Lost, r.Payments),
		Amounts: []ReportAmountView{}}
	if r.Filed >= r.Refunded+r.Denied {
		v.ClaimsOpen = r.Filed - r.Refunded - r.Denied
	}
	for _, a := range r.Amounts {
		claimed, refunded := optAmount(a.Claimed), optAmount(a.Refunded)
		v.Amounts = append(v.Amounts, ReportAmountView{Asset: a.Asset, Claimed: k.decimal(ctx, a.Asset, claimed.String()),
			Refunded: k.decimal(ctx, a.Asset, refunded.String()), ClaimedBaseUnits: claimed.String(), RefundedBase: refunded.String()})
	}
	return v
}

// MerchantReport returns a merchant's guarantee report.
func (k *Keeper) MerchantReport(ctx *module.Context, merchant chain.Address) (ReportView, error) {
	r, err := k.loadReport(ctx, merchantReportKey(merchant))
	if err != nil {
		return ReportView{}, err
	}
	v := k.reportView(ctx, r)
	v.Kind, v.Merchant = "merchant", merchant.String()
	return v, nil
}

// AgentReport returns an agent's guarantee report.
func (k *Keeper) AgentReport(ctx *module.Context, agent uint64) (ReportView, error) {
	r, err := k.loadReport(ctx, agentReportKey(agent))
	if err != nil {
		return ReportView{}, err
	}
	v := k.reportView(ctx, r)
	v.Kind, v.AgentID = "agent", identity.AgentID(agent)
	v.LostSinceSuspension, v.LedgerSuspensions = &r.LostSinceSuspension, &r.Suspensions
	return v, nil
}
