package payments

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
)

// PaymentView is a payment as a wallet, an agent or a merchant sees it.
type PaymentView struct {
	ID             string         `json:"payment_id"`
	Status         string         `json:"status"`
	TokenID        string         `json:"token_id,omitempty"`
	MandateID      string         `json:"mandate_id"`
	AgentID        string         `json:"agent_id"`
	Person         chain.Address  `json:"person"`
	Merchant       chain.Address  `json:"merchant"`
	Settlement     chain.Address  `json:"settlement"`
	Asset          string         `json:"asset"`
	Amount         string         `json:"amount"`
	BaseUnits      string         `json:"base_units"`
	OrderHash      string         `json:"order_hash"`
	CapturedAt     int64          `json:"captured_at"`
	CapturedHeight int64          `json:"captured_height"`
	ReleaseAt      int64          `json:"release_at"`
	ReleasedHeight int64          `json:"released_height,omitempty"`
	Approver       *chain.Address `json:"approved_by,omitempty"`
	// The money-back guarantee: refunds decided so far (paid or queued),
	// the open claim, the claims ever filed, the fee taken at release.
	Refunded          string `json:"refunded,omitempty"`
	RefundedBaseUnits string `json:"refunded_base_units,omitempty"`
	OpenClaim         string `json:"open_claim,omitempty"`
	Claims            uint32 `json:"claims,omitempty"`
	Fee               string `json:"fee,omitempty"`
}

// TokenView is a live payment token.
type TokenView struct {
	ID            string         `json:"token_id"`
	MandateID     string         `json:"mandate_id"`
	Merchant      chain.Address  `json:"merchant"`
	Asset         string         `json:"asset"`
	Amount        string         `json:"amount"`
	BaseUnits     string         `json:"base_units"`
	OrderHash     string         `json:"order_hash"`
	ExpiresHeight int64          `json:"expires_height"`
	Approver      *chain.Address `json:"approved_by,omitempty"`
}

func (k *Keeper) decimal(ctx *module.Context, asset, base string) string {
	if as, err := k.bank.Asset(ctx, asset); err == nil {
		return chain.FormatDecimal(amount(base), as.Decimals)
	}
	return base
}

func approver(b []byte) *chain.Address {
	if len(b) != chain.AddressLen {
		return nil
	}
	var a chain.Address
	copy(a[:], b)
	return &a
}

func (k *Keeper) paymentView(ctx *module.Context, p *pb.Payment) PaymentView {
	addr := func(b []byte) chain.Address { a, _ := chain.AddressFromBytes(b); return a }
	v := PaymentView{ID: PaymentID(p.Id), Status: StatusName(p.Status), MandateID: delegation.MandateID(p.Mandate),
		AgentID: identity.AgentID(p.Agent), Person: addr(p.Person), Merchant: addr(p.Merchant), Settlement: addr(p.Settlement),
		Asset: p.Asset, Amount: k.decimal(ctx, p.Asset, p.Amount), BaseUnits: p.Amount, OrderHash: hex.EncodeToString(p.OrderHash),
		CapturedAt: p.CapturedAt, CapturedHeight: p.CapturedHeight, ReleaseAt: p.ReleaseAt, ReleasedHeight: p.ReleasedHeight,
		Approver: approver(p.Approver)}
	if p.Token != 0 {
		v.TokenID = TokenID(p.Token)
	}
	if r := optAmount(p.Refunded); !r.IsZero() {
		v.Refunded, v.RefundedBaseUnits = k.decimal(ctx, p.Asset, p.Refunded), p.Refunded
	}
	if p.OpenClaim != 0 {
		v.OpenClaim = ClaimID(p.OpenClaim)
	}
	v.Claims = p.Claims
	if p.Fee != "" {
		v.Fee = k.decimal(ctx, p.Asset, p.Fee)
	}
	return v
}

// Query answers, under /payments/:
//
//	payment/<payment-id>
//	token/<token-id>           a live token
//	bills/<mandate-id>         the mandate's payments, newest first, at most 100
//	window/<merchant address>  the merchant's protection window in seconds
//	claim/<claim-id>
//	claims/<payment-id | agent-id | address>   claims of a payment, on an agent's payments, or
//	                           filed by (a person) or against (a merchant) an address; newest first, at most 100
//	pool                       the guarantee pool per asset, with the head of its queue
//	bond/<merchant address>    the merchant's bonds and unbonding entries
//	report/<merchant address | agent-id | agent key address>   the guarantee report
func (k *Keeper) Query(ctx *module.Context, path []string) (any, error) {
	if v, ok, err := k.guaranteeQuery(ctx, path); ok {
		return v, err
	}
	switch {
	case len(path) == 2 && path[0] == "payment":
		n, err := parseID(path[1], "payment-", ErrUnknownPayment)
		if err != nil {
			return nil, err
		}
		p, err := k.Payment(ctx, n)
		if err != nil {
			return nil, err
		}
		return k.paymentView(ctx, p), nil
	case len(path) == 2 && path[0] == "token":
		n, err := parseID(path[1], "token-", ErrTokenInvalid)
		if err != nil {
			return nil, err
		}
		t, err := k.Token(ctx, n)
		if err != nil {
			return nil, err
		}
		ma, _ := chain.AddressFromBytes(t.Merchant)
		return TokenView{ID: TokenID(t.Id), MandateID: delegation.MandateID(t.Mandate), Merchant: ma, Asset: t.Asset,
			Amount: k.decimal(ctx, t.Asset, t.Amount), BaseUnits: t.Amount, OrderHash: hex.EncodeToString(t.OrderHash),
			ExpiresHeight: t.ExpiresHeight, Approver: approver(t.Approver)}, nil
	case len(path) == 2 && path[0] == "bills":
		n, err := delegation.ParseMandateID(path[1])
		if err != nil {
			return nil, err
		}
		if _, err := k.delegation.Mandate(ctx, n); err != nil {
			return nil, err
		}
		var ids []uint64
		st(ctx).Iterate(be64k("pm/", n), func(key, _ []byte) bool {
			ids = append(ids, beU64(key[len(key)-8:]))
			return true
		})
		out := []PaymentView{}
		for i := len(ids) - 1; i >= 0 && len(out) < 100; i-- {
			p, err := k.Payment(ctx, ids[i])
			if err != nil {
				return nil, err
			}
			out = append(out, k.paymentView(ctx, p))
		}
		return out, nil
	case len(path) == 2 && path[0] == "window":
		a, err := chain.ParseAddress(path[1])
		if err != nil {
			return nil, err
		}
		w, err := k.Window(ctx, a)
		return map[string]int64{"seconds": w}, err
	}
	return nil, chain.Wrapf(chain.ErrNotFound, "no payments query %q", strings.Join(path, "/"))
}

// Invariants: the escrow account holds exactly what is left (amount -
// refunded) of the held payments (escrowed and disputed), per asset; every
// mandate's reservation is exactly the sum of its live tokens; the claims,
// bonds and pool invariants are with their records (claims.go, bonds.go,
// pool.go).
func (k *Keeper) Invariants() []module.Invariant {
	return []module.Invariant{
		{Name: "payments/escrow", Check: k.checkEscrow},
		{Name: "payments/reservations", Check: k.checkReservations},
		{Name: "payments/claims", Check: k.checkClaims},
		{Name: "payments/bonds", Check: k.checkBonds},
		{Name: "payments/pool", Check: k.checkPool},
	}
}

func (k *Keeper) checkEscrow(ctx *module.Context) error {
	isHeld := held
	held := map[string]chain.Amount{}
	var err error
	st(ctx).Iterate([]byte("p/"), func(_, v []byte) bool {
		p := &pb.Payment{}
		if err = proto.Unmarshal(v, p); err != nil {
			return false
		}
		if isHeld(p.Status) {
			left, e := amount(p.Amount).Sub(optAmount(p.Refunded))
			if e != nil {
				err = fmt.Errorf("%s refunds %s of %s", PaymentID(p.Id), p.Refunded, p.Amount)
				return false
			}
			held[p.Asset], err = held[p.Asset].Add(left)
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	assets, err := k.bank.Assets(ctx)
	if err != nil {
		return err
	}
	for _, as := range assets {
		if bal := k.bank.Balance(ctx, EscrowAccount, as.Symbol); bal.Cmp(held[as.Symbol]) != 0 {
			return fmt.Errorf("escrow holds %s %s base units, escrowed payments add up to %s", bal, as.Symbol, held[as.Symbol])
		}
	}
	return nil
}

func (k *Keeper) checkReservations(ctx *module.Context) error {
	byMandate := map[uint64]chain.Amount{}
	var err error
	st(ctx).Iterate([]byte("t/"), func(_, v []byte) bool {
		t := &pb.Token{}
		if err = proto.Unmarshal(v, t); err != nil {
			return false
		}
		byMandate[t.Mandate], err = byMandate[t.Mandate].Add(amount(t.Amount))
		return err == nil
	})
	if err != nil {
		return err
	}
	var bad error
	err = k.delegation.EachMandate(ctx, func(m *pb.Mandate) bool {
		r := chain.Amount{}
		if m.Reserved != "" {
			r = amount(m.Reserved)
		}
		if r.Cmp(byMandate[m.Id]) != 0 {
			bad = fmt.Errorf("%s reserves %s, its live tokens add up to %s", delegation.MandateID(m.Id), r, byMandate[m.Id])
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	return bad
}

// guaranteeQuery answers the money-back guarantee's paths; ok is false for
// other paths.
func (k *Keeper) guaranteeQuery(ctx *module.Context, path []string) (v any, ok bool, err error) {
	switch {
	case len(path) == 2 && path[0] == "claim":
		n, err := ParseClaimID(path[1])
		if err != nil {
			return nil, true, err
		}
		c, err := k.Claim(ctx, n)
		if err != nil {
			return nil, true, err
		}
		return k.claimView(ctx, c), true, nil
	case len(path) == 2 && path[0] == "claims":
		v, err := k.claimsOf(ctx, path[1])
		return v, true, err
	case len(path) == 1 && path[0] == "pool":
		v, err := k.poolView(ctx)
		return v, true, err
	case len(path) == 2 && path[0] == "bond":
		a, err := chain.ParseAddress(path[1])
		if err != nil {
			return nil, true, err
		}
		if _, err := k.identity.MerchantInfoOf(ctx, a); err != nil {
			return nil, true, err
		}
		v, err := k.bondView(ctx, a)
		return v, true, err
	case len(path) == 2 && path[0] == "report":
		v, err := k.report(ctx, path[1])
		return v, true, err
	}
	return nil, false, nil
}

// claimsOf lists, newest first and at most 100, the claims of a payment
// ("payment-7"), on an agent's payments ("agent-1" or the agent's key
// address), or filed by (a person) or against (a merchant) an address.
func (k *Keeper) claimsOf(ctx *module.Context, ref string) ([]ClaimView, error) {
	var prefixes [][]byte
	switch {
	case strings.HasPrefix(ref, "payment-"):
		n, err := parseID(ref, "payment-", ErrUnknownPayment)
		if err != nil {
			return nil, err
		}
		if _, err := k.Payment(ctx, n); err != nil {
			return nil, err
		}
		prefixes = [][]byte{append([]byte("cp/"), be64(n)...)}
	case strings.HasPrefix(ref, "agent-"):
		n, err := identity.ParseAgentID(ref)
		if err != nil {
			return nil, err
		}
		prefixes = [][]byte{append([]byte("ca/"), be64(n)...)}
	default:
		a, err := chain.ParseAddress(ref)
		if err != nil {
			return nil, err
		}
		if ag, err := k.identity.AgentByKey(ctx, a); err == nil {
			n, _ := identity.ParseAgentID(ag.ID)
			prefixes = [][]byte{append([]byte("ca/"), be64(n)...)}
		} else {
			prefixes = [][]byte{append([]byte("cu/"), a[:]...), append([]byte("cm/"), a[:]...)}
		}
	}
	var ids []uint64
	for _, p := range prefixes {
		st(ctx).Iterate(p, func(key, _ []byte) bool {
			ids = append(ids, beU64(key[len(key)-8:]))
			return true
		})
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] > ids[j] })
	out := []ClaimView{}
	for i, n := range ids {
		if len(out) == 100 {
			break
		}
		if i > 0 && ids[i-1] == n {
			continue
		}
		c, err := k.Claim(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, k.claimView(ctx, c))
	}
	return out, nil
}

// report returns the guarantee report of a merchant (address) or an agent
// (Agent ID or key address).
func (k *Keeper) report(ctx *module.Context, ref string) (ReportView, error) {
	if strings.HasPrefix(ref, "agent-") {
		n, err := identity.ParseAgentID(ref)
		if err != nil {
			return ReportView{}, err
		}
		if _, err := k.identity.AgentStatusOf(ctx, n); err != nil {
			return ReportView{}, err
		}
		return k.AgentReport(ctx, n)
	}
	a, err := chain.ParseAddress(ref)
	if err != nil {
		return ReportView{}, err
	}
	if _, err := k.identity.MerchantInfoOf(ctx, a); err == nil {
		return k.MerchantReport(ctx, a)
	}
	if ag, err := k.identity.AgentByKey(ctx, a); err == nil {
		n, _ := identity.ParseAgentID(ag.ID)
		return k.AgentReport(ctx, n)
	}
	return ReportView{}, chain.Wrapf(chain.ErrNotFound, "%s is neither a merchant nor an agent's key", a)
}
