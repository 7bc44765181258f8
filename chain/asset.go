package chain

import (
	"strings"
)

// DefaultAsset is the asset of the dev chain and of amounts given without one.
const DefaultAsset = "USD"

// DefaultDecimals is USD's precision on the ledger: 10^-18, so that
// agent-to-agent nano-payments of $0.000001 and far below stay exact.
const DefaultDecimals = 18

// Asset describes a currency or token the ledger holds.
type Asset struct {
	Symbol   string `json:"symbol"`
	Name     string `json:"name,omitempty"`
	Decimals uint8  `json:"decimals"`
}

// ValidateSymbol checks an asset symbol: 2 to 16 characters, upper-case
// letters and digits, starting with a letter.
func ValidateSymbol(s string) error {
	if len(s) < 2 || len(s) > 16 {
		return Wrapf(ErrInvalidRequest, "asset symbol %q must have 2 to 16 characters", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return Wrapf(ErrInvalidRequest, "asset symbol %q: only A-Z and 0-9, starting with a letter", s)
		}
	}
	return nil
}

// Coin is an amount of one asset.
type Coin struct {
	Asset  string
	Amount Amount
}

// SplitCoin splits "12.5USD" into "12.5" and "USD". An amount without a
// symbol gets DefaultAsset.
func SplitCoin(s string) (amount, symbol string) {
	s = strings.TrimSpace(s)
	// Amounts hold no letters, so the first letter starts the symbol (which
	// may itself end in digits, as in "USDC2").
	i := strings.IndexFunc(s, func(r rune) bool { return (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') })
	if i < 0 {
		return s, DefaultAsset
	}
	return strings.TrimSpace(s[:i]), strings.ToUpper(s[i:])
}

// ParseCoin parses "0.000001USD" (or "5" for DefaultAsset) given the asset's
// decimals, found by lookup.
func ParseCoin(s string, lookup func(symbol string) (Asset, bool)) (Coin, error) {
	num, sym := SplitCoin(s)
	asset, ok := lookup(sym)
	if !ok {
		return Coin{}, Wrapf(ErrUnknownAsset, "asset %q is not registered", sym)
	}
	amt, err := ParseDecimal(num, asset.Decimals)
	if err != nil {
		return Coin{}, err
	}
	return Coin{Asset: asset.Symbol, Amount: amt}, nil
}

// FormatCoin prints a coin as "1000.000001USD".
func FormatCoin(c Coin, decimals uint8) string {
	return FormatDecimal(c.Amount, decimals) + c.Asset
}

// ErrUnknownAsset is the bank's code for an asset that is not registered;
// it lives here because parsing needs it.
var ErrUnknownAsset = RegisterError(101, "unknown_asset", "the asset is not registered on this chain")
