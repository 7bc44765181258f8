package rules

import (
	"encoding/hex"
	"strings"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/module"
)

// BindingView is one bound hook.
type BindingView struct {
	Hook        string `json:"hook"`
	RuleID      string `json:"rule_id"`
	Version     uint32 `json:"version"`
	MeteredHash string `json:"metered_hash"`
}

// MerchantView is a merchant's rules.
type MerchantView struct {
	Merchant chain.Address `json:"merchant"`
	Bindings []BindingView `json:"bindings"`
}

// StateView is one key of a merchant's rule state.
type StateView struct {
	Key   string `json:"key"` // hex
	Value string `json:"value,omitempty"`
	Found bool   `json:"found"`
}

// ExplainView is the answer of a merchant's query rule.
type ExplainView struct {
	Class    string `json:"class"`
	Decision uint32 `json:"decision"`
	Output   string `json:"output"` // hex
	GasUsed  uint64 `json:"gas_used"`
}

// Query answers, under /rules/:
//
//	rule/<rule-id>
//	merchant/<address>                  the merchant's bound hooks
//	state/<address>/<hex key>           one key of the merchant's rule state
//	explain/<address>/<hex body>        the merchant's query rule, read-only, at the last block
func (k *Keeper) Query(ctx *module.Context, path []string) (any, error) {
	if len(path) < 2 {
		return nil, chain.Wrapf(chain.ErrNotFound, "no rules query %q", strings.Join(path, "/"))
	}
	switch {
	case len(path) == 2 && path[0] == "rule":
		n, err := ParseRuleID(path[1])
		if err != nil {
			return nil, err
		}
		return k.Rule(ctx, n)
	case path[0] == "merchant" || path[0] == "state" || path[0] == "explain":
		a, err := chain.ParseAddress(path[1])
		if err != nil {
			return nil, err
		}
		switch {
		case path[0] == "merchant" && len(path) == 2:
			v := MerchantView{Merchant: a, Bindings: []BindingView{}}
			for _, h := range []pb.Hook{pb.Hook_HOOK_PAYMENT, pb.Hook_HOOK_CLAIM, pb.Hook_HOOK_QUERY} {
				if b, ok := k.BindingOf(ctx, a, h); ok {
					v.Bindings = append(v.Bindings, BindingView{Hook: HookName(h), RuleID: RuleID(b.Rule), Version: b.Version, MeteredHash: hexHash(b.Metered)})
				}
			}
			return v, nil
		case path[0] == "state" && len(path) == 3:
			key, err := hex.DecodeString(path[2])
			if err != nil || len(key) == 0 {
				return nil, chain.Wrapf(chain.ErrInvalidRequest, "the key must be hex")
			}
			v := st(ctx).Get(append(statePrefix(a), key...))
			return StateView{Key: path[2], Value: hex.EncodeToString(v), Found: v != nil}, nil
		case path[0] == "explain" && len(path) <= 3:
			var body []byte
			if len(path) == 3 {
				if body, err = hex.DecodeString(path[2]); err != nil {
					return nil, chain.Wrapf(chain.ErrInvalidRequest, "the query body must be hex")
				}
			}
			res, err := k.Explain(ctx, a, body)
			if err != nil {
				return nil, err
			}
			return ExplainView{Class: res.Class.String(), Decision: uint32(res.Decision), Output: hex.EncodeToString(res.Output), GasUsed: res.GasUsed}, nil
		}
	}
	return nil, chain.Wrapf(chain.ErrNotFound, "no rules query %q", strings.Join(path, "/"))
}
