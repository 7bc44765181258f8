package payments

import (
	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/module"
)

// PaymentFacts is what a merchant's payment rule sees of a payment.
type PaymentFacts struct {
	Merchant  chain.Address
	Payer     chain.Address
	Agent     uint64
	Mandate   uint64
	Coin      chain.Coin
	OrderHash []byte
	// TierKnown: the Intent Guard read the agent's trust score and tier in
	// this tx (a direct payment), so the rule need not read them again.
	TierKnown             bool
	TrustScore, TrustTier uint32
}

// ClaimFacts is what a merchant's claim rule sees of a claim.
type ClaimFacts struct {
	Merchant   chain.Address
	Payer      chain.Address
	Agent      uint64
	Payment    uint64
	Claim      uint64
	Reason     uint32 // see ClaimReasons: 1 unauthorized … 6 other
	Claimed    chain.Coin
	Paid       chain.Coin
	CapturedAt int64
}

// ClaimVerdict is a claim rule's answer.
type ClaimVerdict int

const (
	// ClaimNoAnswer leaves the claim to the merchant's response.
	ClaimNoAnswer ClaimVerdict = iota
	// ClaimApprove refunds at once (Refund, at most the claimed amount).
	ClaimApprove
	// ClaimDeny counts as the merchant contesting the claim.
	ClaimDeny
)

// Rules is the merchant-rules module as payments sees it: the merchant's
// own WebAssembly rules decide first. Nil means no rules.
type Rules interface {
	// CheckPayment runs the merchant's payment rule, if one is bound. An
	// error rejects the payment (the rule's rejection, or its trap or
	// out-of-gas, deterministically); hold > 0 keeps the payment in escrow
	// that many seconds instead of the merchant's window.
	CheckPayment(ctx *module.Context, f PaymentFacts) (hold int64, err error)
	// CheckClaim runs the merchant's claim rule, if one is bound.
	CheckClaim(ctx *module.Context, f ClaimFacts) (v ClaimVerdict, refund chain.Amount, err error)
}

// SetRules plugs in the merchant-rules module.
func (k *Keeper) SetRules(r Rules) { k.rules = r }
