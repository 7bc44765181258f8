package delegation

import (
	"errors"
	"testing"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

func TestValidateTerms(t *testing.T) {
	merchant := make([]byte, 20)
	merchant[0] = 1
	order := make([]byte, 32)
	coin := func(a string) *pb.Coin { return &pb.Coin{Asset: "USD", Amount: a} }
	auto := func(c *pb.Constraints) *pb.Terms {
		if c.Budget == nil {
			c.Budget = coin("100")
		}
		return &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, ExpiresAt: 10, Constraints: c}
	}
	cases := []struct {
		name  string
		terms *pb.Terms
		want  *chain.Error // nil: valid
	}{
		{"autonomous", auto(&pb.Constraints{MaxPayment: "20", ApprovalAbove: "15", Mccs: []string{"5411"}, Countries: []string{"SG"}}), nil},
		{"immediate", &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_IMMEDIATE, ExpiresAt: 10, Checkout: &pb.Checkout{Merchant: merchant, Amount: coin("5"), OrderHash: order}}, nil},
		{"missing", nil, ErrInvalidMandate},
		{"no type", &pb.Terms{ExpiresAt: 10}, ErrInvalidMandate},
		{"no expiry", &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, Constraints: &pb.Constraints{Budget: coin("1")}}, ErrInvalidMandate},
		{"immediate with constraints", &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_IMMEDIATE, ExpiresAt: 10, Checkout: &pb.Checkout{Merchant: merchant, Amount: coin("5"), OrderHash: order}, Constraints: &pb.Constraints{}}, ErrInvalidMandate},
		{"immediate short order", &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_IMMEDIATE, ExpiresAt: 10, Checkout: &pb.Checkout{Merchant: merchant, Amount: coin("5"), OrderHash: order[:31]}}, ErrInvalidMandate},
		{"zero budget", auto(&pb.Constraints{Budget: coin("0")}), chain.ErrInvalidAmount},
		{"leading zero", auto(&pb.Constraints{Budget: coin("01")}), chain.ErrInvalidAmount},
		{"min above max", auto(&pb.Constraints{MinPayment: "30", MaxPayment: "20"}), ErrInvalidMandate},
		{"min above budget", auto(&pb.Constraints{MinPayment: "101"}), ErrInvalidMandate},
		{"zero max", auto(&pb.Constraints{MaxPayment: "0"}), ErrInvalidMandate},
		{"bad amount", auto(&pb.Constraints{PerPeriod: "1.5"}), ErrInvalidMandate},
		{"overflow", auto(&pb.Constraints{MaxPayment: "1157920892373161954235709850086879078532699846656405640394575840079131296399360"}), ErrInvalidMandate},
		{"bad mcc", auto(&pb.Constraints{Mccs: []string{"54a1"}}), ErrInvalidMandate},
		{"bad country", auto(&pb.Constraints{Countries: []string{"sg"}}), ErrInvalidMandate},
		{"bad merchant", auto(&pb.Constraints{Merchants: [][]byte{{1, 2}}}), ErrInvalidMandate},
		{"merchant twice", auto(&pb.Constraints{Merchants: [][]byte{merchant, merchant}}), ErrInvalidMandate},
		{"allowed and blocked", auto(&pb.Constraints{Merchants: [][]byte{merchant}, BlockedMerchants: [][]byte{merchant}}), ErrInvalidMandate},
		{"period too short", auto(&pb.Constraints{PeriodSeconds: 59}), ErrInvalidMandate},
		{"description control chars", &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, ExpiresAt: 10, Description: "a\x00", Constraints: &pb.Constraints{Budget: coin("1")}}, ErrInvalidMandate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := validateTerms(c.terms)
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %s", err, c.want.Reason)
			}
		})
	}
}
