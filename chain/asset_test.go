package chain_test

import (
	"strings"
	"testing"

	"github.com/amp-ledger/amp/chain"
)

func TestValidateSymbol(t *testing.T) {
	good := []string{"USD", "EU", "USDC", "USDC2", "A1", "ABCDEFGHIJKLMNOP"}
	bad := []string{"", "U", "usd", "Usd", "1USD", "US-D", "US D", "USD ", "ABCDEFGHIJKLMNOPQ", "ÜSD", "US.D", "US_D"}
	for _, s := range good {
		if err := chain.ValidateSymbol(s); err != nil {
			t.Errorf("ValidateSymbol(%q): %v", s, err)
		}
	}
	for _, s := range bad {
		err := chain.ValidateSymbol(s)
		if err == nil {
			t.Errorf("ValidateSymbol(%q) accepted", s)
			continue
		}
		wantErr(t, err, chain.ErrInvalidRequest)
	}
}

func TestSplitCoin(t *testing.T) {
	tests := []struct{ in, amount, symbol string }{
		{"12.5USD", "12.5", "USD"},
		{"0.000001USD", "0.000001", "USD"},
		{"5", "5", chain.DefaultAsset},
		{"  5  ", "5", chain.DefaultAsset},
		{"0.000001 usd", "0.000001", "USD"},
		{" 1000.000001 USD ", "1000.000001", "USD"},
		{"10USDC2", "10", "USDC2"},
		{"7eur", "7", "EUR"},
		{"USD", "", "USD"},
		{"", "", chain.DefaultAsset},
		{"-5USD", "-5", "USD"},
	}
	for _, tc := range tests {
		a, s := chain.SplitCoin(tc.in)
		if a != tc.amount || s != tc.symbol {
			t.Errorf("SplitCoin(%q) = (%q, %q), want (%q, %q)", tc.in, a, s, tc.amount, tc.symbol)
		}
	}
}

func TestParseCoin(t *testing.T) {
	assets := map[string]chain.Asset{
		"USD": {Symbol: "USD", Name: "US dollar", Decimals: chain.DefaultDecimals},
		"JPY": {Symbol: "JPY", Decimals: 0},
	}
	lookup := func(s string) (chain.Asset, bool) { a, ok := assets[s]; return a, ok }
	tests := []struct {
		in, asset, base string
		err             *chain.Error
	}{
		{"0.000001USD", "USD", pow10(12), nil},
		{"1000.000001USD", "USD", "1000000001000000000000", nil},
		{"5", "USD", "5" + strings.Repeat("0", 18), nil},
		{"2.5 usd", "USD", "25" + strings.Repeat("0", 17), nil},
		{"1500JPY", "JPY", "1500", nil},
		{"0USD", "USD", "0", nil},
		{"1.5JPY", "", "", chain.ErrInvalidAmount},
		{"0.0000000000000000001USD", "", "", chain.ErrInvalidAmount},
		{"-1USD", "", "", chain.ErrInvalidAmount},
		{"USD", "", "", chain.ErrInvalidAmount},
		{"1EUR", "", "", chain.ErrUnknownAsset},
		{"1e18", "", "", chain.ErrUnknownAsset}, // "E18" is a symbol, not an exponent
	}
	for _, tc := range tests {
		c, err := chain.ParseCoin(tc.in, lookup)
		if tc.err != nil {
			if err == nil {
				t.Errorf("ParseCoin(%q) = %v, want %s", tc.in, c, tc.err.Reason)
				continue
			}
			wantErr(t, err, tc.err)
			continue
		}
		if err != nil {
			t.Errorf("ParseCoin(%q): %v", tc.in, err)
			continue
		}
		if c.Asset != tc.asset || c.Amount.String() != tc.base {
			t.Errorf("ParseCoin(%q) = %s %s, want %s %s", tc.in, c.Amount, c.Asset, tc.base, tc.asset)
		}
		// FormatCoin prints what ParseCoin reads back.
		back, err := chain.ParseCoin(chain.FormatCoin(c, assets[c.Asset].Decimals), lookup)
		if err != nil || back.Asset != c.Asset || back.Amount.Cmp(c.Amount) != 0 {
			t.Errorf("ParseCoin(FormatCoin(%v)) = %v, %v", c, back, err)
		}
	}
	if got := chain.FormatCoin(chain.Coin{Asset: "USD", Amount: amt(t, "1000000001000000000000")}, 18); got != "1000.000001USD" {
		t.Errorf("FormatCoin = %q", got)
	}
	if chain.ErrUnknownAsset.Code != 101 {
		t.Errorf("ErrUnknownAsset has code %d, want 101 (bank range)", chain.ErrUnknownAsset.Code)
	}
}
