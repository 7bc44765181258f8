package payments

import (
	"encoding/hex"
	"fmt"
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
	return v
}

// Query answers, under /payments/:
//
//	payment/<payment-id>
//	token/<token-id>           a live token
//	bills/<mandate-id>         the mandate's payments, newest first, at most 100
//	window/<merchant address>  the merchant's protection window in seconds
func (k *Keeper) Query(ctx *module.Context, path []string) (any, error) {
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

// Invariants: the escrow account holds exactly the escrowed payments, per
// asset; every mandate's reservation is exactly the sum of its live tokens.
func (k *Keeper) Invariants() []module.Invariant {
	return []module.Invariant{
		{Name: "payments/escrow", Check: k.checkEscrow},
		{Name: "payments/reservations", Check: k.checkReservations},
	}
}

func (k *Keeper) checkEscrow(ctx *module.Context) error {
	held := map[string]chain.Amount{}
	var err error
	st(ctx).Iterate([]byte("p/"), func(_, v []byte) bool {
		p := &pb.Payment{}
		if err = proto.Unmarshal(v, p); err != nil {
			return false
		}
		if p.Status == StatusEscrowed {
			held[p.Asset], err = held[p.Asset].Add(amount(p.Amount))
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
