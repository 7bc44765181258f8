package chain

import (
	"strings"

	"github.com/holiman/uint256"
)

// MaxDecimals bounds an asset's decimals so that one whole unit always fits
// in 256 bits with room for large totals (10^36 < 2^120).
const MaxDecimals = 36

// Amount is a non-negative quantity of an asset's base units, exact and
// bounded by 2^256-1. Arithmetic is checked: overflow and underflow are
// errors, never wrap-around. The zero value is 0.
type Amount struct{ v uint256.Int }

// NewAmount returns n base units.
func NewAmount(n uint64) Amount {
	var a Amount
	a.v.SetUint64(n)
	return a
}

// IsZero reports whether a is 0.
func (a Amount) IsZero() bool { return a.v.IsZero() }

// Cmp returns -1, 0 or +1 as a is less than, equal to or greater than b.
func (a Amount) Cmp(b Amount) int { return a.v.Cmp(&b.v) }

// Uint256 returns a copy of the underlying integer.
func (a Amount) Uint256() *uint256.Int { return a.v.Clone() }

// Add returns a+b, or ErrOverflow.
func (a Amount) Add(b Amount) (Amount, error) {
	var r Amount
	if _, over := r.v.AddOverflow(&a.v, &b.v); over {
		return Amount{}, Wrapf(ErrOverflow, "%s + %s", a, b)
	}
	return r, nil
}

// Sub returns a-b, or ErrInvalidAmount when b > a.
func (a Amount) Sub(b Amount) (Amount, error) {
	var r Amount
	if _, under := r.v.SubOverflow(&a.v, &b.v); under {
		return Amount{}, Wrapf(ErrInvalidAmount, "%s - %s is negative", a, b)
	}
	return r, nil
}

// MulDiv returns a*num/den rounded down, computed in 512 bits so that the
// intermediate product cannot overflow; ErrOverflow if the result does not
// fit, ErrInvalidAmount if den is 0. Fees in basis points use it.
func (a Amount) MulDiv(num, den uint64) (Amount, error) {
	if den == 0 {
		return Amount{}, Wrapf(ErrInvalidAmount, "division by zero")
	}
	var r Amount
	n, d := uint256.NewInt(num), uint256.NewInt(den)
	if _, over := r.v.MulDivOverflow(&a.v, n, d); over {
		return Amount{}, Wrapf(ErrOverflow, "%s * %d / %d", a, num, den)
	}
	return r, nil
}

// String prints the base units in decimal.
func (a Amount) String() string { return a.v.Dec() }

// Bytes32 returns the big-endian 32-byte form used in state keys and values.
func (a Amount) Bytes32() [32]byte { return a.v.Bytes32() }

// AmountFromBytes32 is the inverse of Bytes32.
func AmountFromBytes32(b []byte) (Amount, error) {
	if len(b) != 32 {
		return Amount{}, Wrapf(ErrInvalidAmount, "stored amount has %d bytes, want 32", len(b))
	}
	var a Amount
	a.v.SetBytes32(b)
	return a, nil
}

// ParseBaseUnits parses a canonical decimal integer of base units, the form
// used on the wire: digits only, no sign, no leading zeros ("0" is zero).
func ParseBaseUnits(s string) (Amount, error) {
	if s == "" {
		return Amount{}, Wrapf(ErrInvalidAmount, "empty amount")
	}
	if len(s) > 78 { // 2^256-1 has 78 digits
		return Amount{}, Wrapf(ErrOverflow, "amount %.20q… has %d digits", s, len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return Amount{}, Wrapf(ErrInvalidAmount, "amount %q: only digits are allowed in base units", s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return Amount{}, Wrapf(ErrInvalidAmount, "amount %q has leading zeros", s)
	}
	var a Amount
	if err := a.v.SetFromDecimal(s); err != nil {
		return Amount{}, Wrapf(ErrOverflow, "amount %q does not fit in 256 bits", s)
	}
	return a, nil
}

// ParseDecimal parses a human amount such as "1000", "0.000001" or "12.5"
// into base units of an asset with the given decimals. More fractional
// digits than the asset has is an error, never a silent rounding.
func ParseDecimal(s string, decimals uint8) (Amount, error) {
	if decimals > MaxDecimals {
		return Amount{}, Wrapf(ErrInvalidAmount, "asset has %d decimals, at most %d allowed", decimals, MaxDecimals)
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") {
		return Amount{}, Wrapf(ErrInvalidAmount, "amount %q: want digits, optionally '.' and more digits", s)
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return Amount{}, Wrapf(ErrInvalidAmount, "amount %q: unexpected character %q", s, part[i])
			}
		}
	}
	if len(frac) > int(decimals) {
		return Amount{}, Wrapf(ErrInvalidAmount, "amount %q has %d decimals, the asset allows %d", s, len(frac), decimals)
	}
	whole = strings.TrimLeft(whole, "0")
	digits := whole + frac + strings.Repeat("0", int(decimals)-len(frac))
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return Amount{}, nil
	}
	if len(digits) > 78 {
		return Amount{}, Wrapf(ErrOverflow, "amount %q does not fit in 256 bits", s)
	}
	var a Amount
	if err := a.v.SetFromDecimal(digits); err != nil {
		return Amount{}, Wrapf(ErrOverflow, "amount %q does not fit in 256 bits", s)
	}
	return a, nil
}

// FormatDecimal prints a in whole units of an asset with the given decimals,
// exactly, without trailing fractional zeros: 10^12 with 18 decimals is
// "0.000001". ParseDecimal(FormatDecimal(a, d), d) == a for every a.
func FormatDecimal(a Amount, decimals uint8) string {
	s := a.v.Dec()
	if decimals == 0 {
		return s
	}
	d := int(decimals)
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	whole, frac := s[:len(s)-d], strings.TrimRight(s[len(s)-d:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}
