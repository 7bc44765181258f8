package client

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/contracts"
	"github.com/amp-ledger/amp/modules/rules"
)

// Rule returns a deployed rule.
func (c *Client) Rule(ctx context.Context, id string) (*rules.Rule, error) {
	var v rules.Rule
	return &v, c.Query(ctx, "/rules/rule/"+id, &v)
}

// MerchantRules returns the hooks a merchant bound.
func (c *Client) MerchantRules(ctx context.Context, merchant chain.Address) (*rules.MerchantView, error) {
	var v rules.MerchantView
	return &v, c.Query(ctx, "/rules/merchant/"+merchant.String(), &v)
}

// RuleState reads one key of a merchant's rule state.
func (c *Client) RuleState(ctx context.Context, merchant chain.Address, key []byte) (*rules.StateView, error) {
	var v rules.StateView
	return &v, c.Query(ctx, "/rules/state/"+merchant.String()+"/"+hex.EncodeToString(key), &v)
}

// ExplainRule runs a merchant's query rule on body.
func (c *Client) ExplainRule(ctx context.Context, merchant chain.Address, body []byte) (*rules.ExplainView, error) {
	var v rules.ExplainView
	return &v, c.Query(ctx, "/rules/explain/"+merchant.String()+"/"+hex.EncodeToString(body), &v)
}

// RuleParams returns the chain's rule limits and gas schedule.
func (c *Client) RuleParams(ctx context.Context) (contracts.Limits, contracts.GasSchedule, error) {
	var lim contracts.Limits
	var sched contracts.GasSchedule
	for _, p := range []struct {
		key string
		out any
	}{{rules.ParamLimits, &lim}, {rules.ParamGasSchedule, &sched}} {
		v, err := c.Param(ctx, p.key)
		if err != nil {
			return lim, sched, err
		}
		if err := json.Unmarshal(v.Value, p.out); err != nil {
			return lim, sched, fmt.Errorf("%w: parameter %s: %w", ErrNode, p.key, err)
		}
	}
	return lim, sched, nil
}
