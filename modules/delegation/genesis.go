package delegation

import (
	"encoding/json"
	"fmt"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/module"
)

// Genesis is the module's part of app_state: AUTONOMOUS mandates granted
// and activated at the first block (a dev chain's demo mandate, a load
// test's thousands). Each is checked like MsgGrantMandate except for
// signatures: the person must be registered, the agent bound to them, the
// budget within their wallet limits and the agent's tier.
type Genesis struct {
	Mandates []GenesisMandate `json:"mandates,omitempty"`
}

// GenesisMandate grants one AUTONOMOUS mandate. Amounts are human amounts
// with their asset ("50USD"); optional ones may be empty.
type GenesisMandate struct {
	Person        chain.Address   `json:"person"`
	AgentKey      chain.Address   `json:"agent_key"` // address of the agent's key
	Description   string          `json:"description,omitempty"`
	Budget        string          `json:"budget"`
	MaxPayment    string          `json:"max_payment,omitempty"`
	ApprovalAbove string          `json:"approval_above,omitempty"`
	PerPeriod     string          `json:"per_period,omitempty"`
	PeriodSeconds uint64          `json:"period_seconds,omitempty"`
	Merchants     []chain.Address `json:"merchants,omitempty"`
	// ExpiresAt is Unix seconds, after the genesis time.
	ExpiresAt int64 `json:"expires_at"`
}

// InitGenesis grants the genesis mandates in order: mandate-1, mandate-2 …
func (k *Keeper) InitGenesis(ctx *module.Context, raw json.RawMessage) error {
	var g Genesis
	if err := json.Unmarshal(raw, &g); err != nil {
		return fmt.Errorf("delegation genesis: %w", err)
	}
	for i, gm := range g.Mandates {
		if err := k.genesisMandate(ctx, gm); err != nil {
			return fmt.Errorf("delegation genesis mandate %d: %w", i, err)
		}
	}
	return nil
}

func (k *Keeper) genesisMandate(ctx *module.Context, gm GenesisMandate) error {
	agent, err := k.identity.AgentByKey(ctx, gm.AgentKey)
	if err != nil {
		return err
	}
	lookup := func(sym string) (chain.Asset, bool) {
		a, err := k.bank.Asset(ctx, sym)
		return a, err == nil
	}
	budget, err := chain.ParseCoin(gm.Budget, lookup)
	if err != nil {
		return fmt.Errorf("budget: %w", err)
	}
	opt := func(s string) (string, error) {
		if s == "" {
			return "", nil
		}
		c, err := chain.ParseCoin(s, lookup)
		if err != nil {
			return "", err
		}
		if c.Asset != budget.Asset {
			return "", chain.Wrapf(ErrAssetMismatch, "%s is not in the budget's asset %s", s, budget.Asset)
		}
		return c.Amount.String(), nil
	}
	c := &pb.Constraints{Budget: bank.CoinProto(budget), PeriodSeconds: gm.PeriodSeconds}
	if c.MaxPayment, err = opt(gm.MaxPayment); err != nil {
		return err
	}
	if c.ApprovalAbove, err = opt(gm.ApprovalAbove); err != nil {
		return err
	}
	if c.PerPeriod, err = opt(gm.PerPeriod); err != nil {
		return err
	}
	for _, m := range gm.Merchants {
		c.Merchants = append(c.Merchants, m[:])
	}
	t := &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, Constraints: c, ExpiresAt: gm.ExpiresAt, Description: gm.Description}
	if _, _, err := validateTerms(t); err != nil {
		return err
	}
	m, err := k.draft(ctx, gm.Person, agent.ID, t, gm.Person)
	if err != nil {
		return err
	}
	return k.activate(ctx, m, gm.Person)
}
