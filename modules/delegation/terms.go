package delegation

import (
	"strings"
	"unicode/utf8"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
)

// validateTerms checks terms without state: the type's parts present and
// well formed, amounts canonical, limits consistent (AMP's S1, the part that
// needs no state). It returns the mandate's asset and budget.
func validateTerms(t *pb.Terms) (asset string, budget chain.Amount, err error) {
	if t == nil {
		return "", budget, chain.Wrapf(ErrInvalidMandate, "missing terms")
	}
	if len(t.Description) > maxDescription || !utf8.ValidString(t.Description) ||
		strings.IndexFunc(t.Description, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }) >= 0 {
		return "", budget, chain.Wrapf(ErrInvalidMandate, "description must be UTF-8 text of at most %d bytes", maxDescription)
	}
	if t.ExpiresAt <= 0 {
		return "", budget, chain.Wrapf(ErrInvalidMandate, "expires_at is required (Unix seconds)")
	}
	switch t.Type {
	case pb.MandateType_MANDATE_TYPE_IMMEDIATE:
		c := t.Checkout
		if c == nil || t.Constraints != nil {
			return "", budget, chain.Wrapf(ErrInvalidMandate, "an IMMEDIATE mandate has a checkout and no constraints")
		}
		if _, err := chain.AddressFromBytes(c.Merchant); err != nil {
			return "", budget, chain.Wrapf(ErrInvalidMandate, "checkout merchant: %v", err)
		}
		coin, err := bank.CoinFromProto(c.Amount)
		if err != nil {
			return "", budget, err
		}
		if len(c.OrderHash) != 32 {
			return "", budget, chain.Wrapf(ErrInvalidMandate, "checkout order_hash must be 32 bytes (SHA-256 of the order)")
		}
		return coin.Asset, coin.Amount, nil
	case pb.MandateType_MANDATE_TYPE_AUTONOMOUS:
		c := t.Constraints
		if c == nil || t.Checkout != nil {
			return "", budget, chain.Wrapf(ErrInvalidMandate, "an AUTONOMOUS mandate has constraints and no checkout")
		}
		coin, err := bank.CoinFromProto(c.Budget)
		if err != nil {
			return "", budget, err
		}
		if err := validateConstraints(c); err != nil {
			return "", budget, err
		}
		return coin.Asset, coin.Amount, validateLimits(coin.Amount, c.MinPayment, c.MaxPayment, c.PerPeriod, c.ApprovalAbove)
	}
	return "", budget, chain.Wrapf(ErrInvalidMandate, "type must be IMMEDIATE or AUTONOMOUS")
}

func validateConstraints(c *pb.Constraints) error {
	if len(c.Merchants) > maxListed || len(c.BlockedMerchants) > maxListed || len(c.Mccs) > maxListed || len(c.Countries) > maxListed {
		return chain.Wrapf(ErrInvalidMandate, "at most %d entries per merchant, category or country list", maxListed)
	}
	for _, list := range [][][]byte{c.Merchants, c.BlockedMerchants} {
		for i, m := range list {
			if _, err := chain.AddressFromBytes(m); err != nil {
				return chain.Wrapf(ErrInvalidMandate, "merchant list: %v", err)
			}
			for _, prev := range list[:i] {
				if string(prev) == string(m) {
					return chain.Wrapf(ErrInvalidMandate, "a merchant is listed twice")
				}
			}
		}
	}
	for _, m := range c.Merchants {
		for _, b := range c.BlockedMerchants {
			if string(m) == string(b) {
				return chain.Wrapf(ErrInvalidMandate, "a merchant is both allowed and blocked")
			}
		}
	}
	for _, mcc := range c.Mccs {
		if len(mcc) != 4 || strings.Trim(mcc, "0123456789") != "" {
			return chain.Wrapf(ErrInvalidMandate, "mcc %q must be 4 digits", mcc)
		}
	}
	for _, cc := range c.Countries {
		if len(cc) != 2 || strings.Trim(cc, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return chain.Wrapf(ErrInvalidMandate, "country %q must be an upper-case ISO 3166-1 alpha-2 code", cc)
		}
	}
	if c.PeriodSeconds != 0 && (c.PeriodSeconds < 60 || c.PeriodSeconds > 366*day) {
		return chain.Wrapf(ErrInvalidMandate, "period_seconds %d: from 60 seconds to 366 days", c.PeriodSeconds)
	}
	return nil
}

// validateLimits checks the optional per-payment, per-period and approval
// amounts against each other and the budget.
func validateLimits(budget chain.Amount, minS, maxS, perPeriod, approval string) error {
	vals := map[string]string{"min_payment": minS, "max_payment": maxS, "per_period": perPeriod, "approval_above": approval}
	parsed := map[string]chain.Amount{}
	for _, name := range []string{"min_payment", "max_payment", "per_period", "approval_above"} {
		s := vals[name]
		if s == "" {
			continue
		}
		a, err := chain.ParseBaseUnits(s)
		if err != nil {
			return chain.Wrapf(ErrInvalidMandate, "%s: %v", name, err)
		}
		parsed[name] = a
	}
	if budget.IsZero() {
		return chain.Wrapf(ErrInvalidMandate, "the budget must be positive")
	}
	minA, hasMin := parsed["min_payment"]
	maxA, hasMax := parsed["max_payment"]
	if hasMax && maxA.IsZero() {
		return chain.Wrapf(ErrInvalidMandate, "max_payment must be positive")
	}
	if hasMin && hasMax && minA.Cmp(maxA) > 0 {
		return chain.Wrapf(ErrInvalidMandate, "min_payment is above max_payment")
	}
	if hasMin && minA.Cmp(budget) > 0 {
		return chain.Wrapf(ErrInvalidMandate, "min_payment is above the budget")
	}
	if p, ok := parsed["per_period"]; ok && p.IsZero() {
		return chain.Wrapf(ErrInvalidMandate, "per_period must be positive")
	}
	return nil
}

// merchantInScope applies a mandate's merchant, country and category
// constraints (and an IMMEDIATE checkout's merchant) to a merchant.
func merchantInScope(t *pb.Terms, merchant chain.Address, mcc, country string) error {
	if t.Type == pb.MandateType_MANDATE_TYPE_IMMEDIATE {
		if string(t.Checkout.Merchant) != string(merchant[:]) {
			return chain.Wrapf(ErrOrderInconsistent, "the checkout is with another merchant")
		}
		return nil
	}
	c := t.Constraints
	for _, b := range c.BlockedMerchants {
		if string(b) == string(merchant[:]) {
			return chain.Wrapf(ErrMerchantOutOfScope, "the person blocked merchant %s", merchant)
		}
	}
	if len(c.Merchants) > 0 {
		found := false
		for _, m := range c.Merchants {
			found = found || string(m) == string(merchant[:])
		}
		if !found {
			return chain.Wrapf(ErrMerchantOutOfScope, "merchant %s is not on the mandate's list", merchant)
		}
	}
	if len(c.Countries) > 0 && !contains(c.Countries, country) {
		return chain.Wrapf(ErrMerchantOutOfScope, "the merchant's country %s is not among %s", country, strings.Join(c.Countries, ", "))
	}
	if len(c.Mccs) > 0 && !contains(c.Mccs, mcc) {
		return chain.Wrapf(ErrCategoryOutOfScope, "the merchant's category %s is not among %s", mcc, strings.Join(c.Mccs, ", "))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
