package client

import (
	"context"
	"crypto/sha256"
	"strings"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/payments"
)

// OrderHash is the order hash of an order reference as the ledger stores
// it: SHA-256 of the reference's bytes. Agents and merchants hash the same
// reference, so a capture matches the token it was authorised for.
func OrderHash(ref string) []byte {
	h := sha256.Sum256([]byte(ref))
	return h[:]
}

// Mandate returns a mandate by id ("mandate-3").
func (c *Client) Mandate(ctx context.Context, id string) (*delegation.MandateView, error) {
	var v delegation.MandateView
	if err := c.Query(ctx, "/delegation/mandate/"+id, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Mandates returns up to 100 mandates, newest first, of a person or an
// agent. ref is what a person types: an Agent ID, or a key name or address
// (a person's, or an agent key's: the node tells them apart).
func (c *Client) Mandates(ctx context.Context, ref string) ([]delegation.MandateView, error) {
	r, err := c.AgentRef(ref)
	if err != nil {
		return nil, err
	}
	v := []delegation.MandateView{}
	if err := c.Query(ctx, "/delegation/mandates/"+r, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// WalletLimits returns a person's wallet-level delegation limits for an
// asset (the chain's defaults until the person sets their own).
func (c *Client) WalletLimits(ctx context.Context, person chain.Address, asset string) (*delegation.LimitsView, error) {
	if asset == "" {
		asset = chain.DefaultAsset
	}
	var v delegation.LimitsView
	if err := c.Query(ctx, "/delegation/limits/"+person.String()+"/"+strings.ToUpper(asset), &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Payment returns a captured payment by id ("payment-7").
func (c *Client) Payment(ctx context.Context, id string) (*payments.PaymentView, error) {
	var v payments.PaymentView
	if err := c.Query(ctx, "/payments/payment/"+id, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// PaymentToken returns a live payment token by id ("token-2"); a captured
// or expired one is payments.ErrTokenInvalid.
func (c *Client) PaymentToken(ctx context.Context, id string) (*payments.TokenView, error) {
	var v payments.TokenView
	if err := c.Query(ctx, "/payments/token/"+id, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Bills returns a mandate's payments, newest first, at most 100.
func (c *Client) Bills(ctx context.Context, mandateID string) ([]payments.PaymentView, error) {
	v := []payments.PaymentView{}
	if err := c.Query(ctx, "/payments/bills/"+mandateID, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// ProtectionWindow returns how many seconds a merchant's payments stay in
// escrow.
func (c *Client) ProtectionWindow(ctx context.Context, merchant chain.Address) (int64, error) {
	var v struct {
		Seconds int64 `json:"seconds"`
	}
	if err := c.Query(ctx, "/payments/window/"+merchant.String(), &v); err != nil {
		return 0, err
	}
	return v.Seconds, nil
}

// EvidenceHash is the evidence hash of an evidence reference (a document's
// id, a URL, a file's name) as claims carry it: SHA-256 of its bytes.
func EvidenceHash(ref string) []byte {
	if ref == "" {
		return nil
	}
	h := sha256.Sum256([]byte(ref))
	return h[:]
}

// Claim returns a money-back claim by id ("claim-3").
func (c *Client) Claim(ctx context.Context, id string) (*payments.ClaimView, error) {
	var v payments.ClaimView
	if err := c.Query(ctx, "/payments/claim/"+id, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Claims returns up to 100 claims, newest first: of a payment
// ("payment-7"), on an agent's payments ("agent-1"), or filed by (a person)
// or against (a merchant) an address; ref may be a key name.
func (c *Client) Claims(ctx context.Context, ref string) ([]payments.ClaimView, error) {
	if !strings.HasPrefix(ref, "payment-") && !strings.HasPrefix(ref, "agent-") {
		a, err := c.Resolve(ref)
		if err != nil {
			return nil, err
		}
		ref = a.String()
	}
	v := []payments.ClaimView{}
	if err := c.Query(ctx, "/payments/claims/"+ref, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// GuaranteePool returns the guarantee pool, per asset, with its queue.
func (c *Client) GuaranteePool(ctx context.Context) (*payments.PoolView, error) {
	var v payments.PoolView
	if err := c.Query(ctx, "/payments/pool", &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// MerchantBond returns a merchant's bonds and unbonding entries.
func (c *Client) MerchantBond(ctx context.Context, merchant chain.Address) (*payments.BondView, error) {
	var v payments.BondView
	if err := c.Query(ctx, "/payments/bond/"+merchant.String(), &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// GuaranteeReport returns the guarantee report of a merchant or an agent:
// an Agent ID, or a key name or address (the merchant's, or the agent's key).
func (c *Client) GuaranteeReport(ctx context.Context, ref string) (*payments.ReportView, error) {
	r, err := c.AgentRef(ref)
	if err != nil {
		return nil, err
	}
	var v payments.ReportView
	if err := c.Query(ctx, "/payments/report/"+r, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
