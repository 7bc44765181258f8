package chain_test

import (
	"math/big"
	"strings"
	"testing"

	"github.com/holiman/uint256"

	"github.com/amp-ledger/amp/chain"
)

var (
	two256   = new(big.Int).Lsh(big.NewInt(1), 256)
	maxU256  = new(big.Int).Sub(two256, big.NewInt(1))
	maxStr   = maxU256.String() // 78 digits
	over256  = two256.String()  // 2^256, one past the maximum
	maxFrac  = maxStr[:len(maxStr)-18] + "." + maxStr[len(maxStr)-18:]
	overFrac = over256[:len(over256)-18] + "." + over256[len(over256)-18:]
)

func pow10(n int) string { return "1" + strings.Repeat("0", n) }

func amt(t testing.TB, baseUnits string) chain.Amount {
	t.Helper()
	a, err := chain.ParseBaseUnits(baseUnits)
	if err != nil {
		t.Fatalf("ParseBaseUnits(%q): %v", baseUnits, err)
	}
	return a
}

func TestParseDecimal(t *testing.T) {
	if len(maxStr) != 78 {
		t.Fatalf("2^256-1 has %d digits, want 78", len(maxStr))
	}
	tests := []struct {
		in       string
		decimals uint8
		want     string // base units, when err is nil
		err      *chain.Error
	}{
		// The nano-payment case the asset's 18 decimals exist for.
		{"0.000001", 18, pow10(12), nil},
		{"1000.000001", 18, "1000000001000000000000", nil},
		{"1000", 18, "1000" + strings.Repeat("0", 18), nil},
		{"1", 18, pow10(18), nil},
		{"0.000000000000000001", 18, "1", nil},
		{"0", 18, "0", nil},
		{"0.0", 18, "0", nil},
		{"000.000", 18, "0", nil},
		{"007", 0, "7", nil},
		{"0012.50", 2, "1250", nil},
		{"12.5", 2, "1250", nil},
		{"12.05", 2, "1205", nil},
		{"5", 0, "5", nil},
		{"1", 36, pow10(36), nil},
		{"0." + strings.Repeat("0", 35) + "1", 36, "1", nil},
		{maxStr, 0, maxStr, nil},
		{maxFrac, 18, maxStr, nil},
		{strings.Repeat("0", 500) + "1", 0, "1", nil},

		// Too many decimals is an error, never a rounding.
		{"0.0000000000000000001", 18, "", chain.ErrInvalidAmount},
		{"12.505", 2, "", chain.ErrInvalidAmount},
		{"12.500", 2, "", chain.ErrInvalidAmount},
		{"1.0", 0, "", chain.ErrInvalidAmount},
		{"1", 37, "", chain.ErrInvalidAmount},
		{"0", 255, "", chain.ErrInvalidAmount},

		// Over 2^256-1.
		{over256, 0, "", chain.ErrOverflow},
		{overFrac, 18, "", chain.ErrOverflow},
		{maxStr, 1, "", chain.ErrOverflow},
		{"1" + strings.Repeat("0", 78), 0, "", chain.ErrOverflow},
		{strings.Repeat("9", 200), 0, "", chain.ErrOverflow},
		{"1", 36 /* fits */, pow10(36), nil},
		{pow10(42), 36, "", chain.ErrOverflow},

		// Malformed.
		{"", 18, "", chain.ErrInvalidAmount},
		{"+1", 18, "", chain.ErrInvalidAmount},
		{"-1", 18, "", chain.ErrInvalidAmount},
		{"-0", 18, "", chain.ErrInvalidAmount},
		{" 1", 18, "", chain.ErrInvalidAmount},
		{"1 ", 18, "", chain.ErrInvalidAmount},
		{"1 000", 18, "", chain.ErrInvalidAmount},
		{"1.", 18, "", chain.ErrInvalidAmount},
		{".5", 18, "", chain.ErrInvalidAmount},
		{".", 18, "", chain.ErrInvalidAmount},
		{"1..2", 18, "", chain.ErrInvalidAmount},
		{"1.2.3", 18, "", chain.ErrInvalidAmount},
		{"1,5", 18, "", chain.ErrInvalidAmount},
		{"1_000", 18, "", chain.ErrInvalidAmount},
		{"1e18", 18, "", chain.ErrInvalidAmount},
		{"0x10", 18, "", chain.ErrInvalidAmount},
		{"Inf", 18, "", chain.ErrInvalidAmount},
		{"NaN", 18, "", chain.ErrInvalidAmount},
		{"１", 18, "", chain.ErrInvalidAmount}, // fullwidth digit one
		{"٣", 18, "", chain.ErrInvalidAmount}, // Arabic-Indic digit three
		{"1\x00", 18, "", chain.ErrInvalidAmount},
		{"5USD", 18, "", chain.ErrInvalidAmount},
	}
	for _, tc := range tests {
		got, err := chain.ParseDecimal(tc.in, tc.decimals)
		if tc.err != nil {
			if err == nil {
				t.Errorf("ParseDecimal(%.40q, %d) = %s, want %s", tc.in, tc.decimals, got, tc.err.Reason)
				continue
			}
			wantErr(t, err, tc.err)
			if !got.IsZero() {
				t.Errorf("ParseDecimal(%.40q, %d) returned %s with its error, want 0", tc.in, tc.decimals, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDecimal(%.40q, %d): %v", tc.in, tc.decimals, err)
			continue
		}
		if got.String() != tc.want {
			t.Errorf("ParseDecimal(%.40q, %d) = %s, want %s", tc.in, tc.decimals, got, tc.want)
		}
	}
}

func TestFormatDecimal(t *testing.T) {
	tests := []struct {
		base     string
		decimals uint8
		want     string
	}{
		{pow10(12), 18, "0.000001"},
		{"1000000001000000000000", 18, "1000.000001"},
		{pow10(18), 18, "1"},
		{"1000" + strings.Repeat("0", 18), 18, "1000"},
		{"1", 18, "0.000000000000000001"},
		{"0", 18, "0"},
		{"0", 0, "0"},
		{"0", 36, "0"},
		{"5", 0, "5"},
		{"1250", 2, "12.5"},
		{"1205", 2, "12.05"},
		{"1200", 2, "12"},
		{"10", 1, "1"},
		{"123456789", 9, "0.123456789"},
		{"1234567890", 9, "1.23456789"},
		{maxStr, 0, maxStr},
		{maxStr, 18, maxFrac},
		{maxStr, 36, maxStr[:42] + "." + maxStr[42:]},
		{"1", 36, "0." + strings.Repeat("0", 35) + "1"},
	}
	for _, tc := range tests {
		if got := chain.FormatDecimal(amt(t, tc.base), tc.decimals); got != tc.want {
			t.Errorf("FormatDecimal(%s, %d) = %q, want %q", tc.base, tc.decimals, got, tc.want)
		}
	}
}

func TestDecimalRoundTrip(t *testing.T) {
	values := []string{"0", "1", "9", "10", "999", pow10(12), "1000000001000000000000", "123456789012345678901234567890",
		pow10(36), pow10(40) + "7", new(big.Int).Rsh(maxU256, 1).String(), maxStr}
	for _, v := range values {
		a := amt(t, v)
		for d := 0; d <= chain.MaxDecimals; d++ {
			s := chain.FormatDecimal(a, uint8(d))
			back, err := chain.ParseDecimal(s, uint8(d))
			if err != nil {
				t.Fatalf("ParseDecimal(FormatDecimal(%s, %d) = %q): %v", v, d, s, err)
			}
			if back.Cmp(a) != 0 {
				t.Fatalf("round trip of %s with %d decimals via %q gave %s", v, d, s, back)
			}
			if strings.Contains(s, ".") && strings.HasSuffix(s, "0") {
				t.Fatalf("FormatDecimal(%s, %d) = %q has trailing fractional zeros", v, d, s)
			}
			if len(s) > 1 && s[0] == '0' && s[1] != '.' {
				t.Fatalf("FormatDecimal(%s, %d) = %q has leading zeros", v, d, s)
			}
		}
	}
}

func TestParseBaseUnits(t *testing.T) {
	tests := []struct {
		in  string
		err *chain.Error
	}{
		{"0", nil},
		{"1", nil},
		{"1000000000000", nil},
		{maxStr, nil},
		{"", chain.ErrInvalidAmount},
		{"00", chain.ErrInvalidAmount},
		{"01", chain.ErrInvalidAmount},
		{"+1", chain.ErrInvalidAmount},
		{"-1", chain.ErrInvalidAmount},
		{"-0", chain.ErrInvalidAmount},
		{" 1", chain.ErrInvalidAmount},
		{"1 ", chain.ErrInvalidAmount},
		{"1.0", chain.ErrInvalidAmount},
		{"1.", chain.ErrInvalidAmount},
		{"1e3", chain.ErrInvalidAmount},
		{"0x1", chain.ErrInvalidAmount},
		{"1_000", chain.ErrInvalidAmount},
		{"１", chain.ErrInvalidAmount},
		{over256, chain.ErrOverflow},
		{"9" + maxStr[1:], chain.ErrOverflow},
		{pow10(78), chain.ErrOverflow},
		{strings.Repeat("9", 1000), chain.ErrOverflow},
	}
	for _, tc := range tests {
		got, err := chain.ParseBaseUnits(tc.in)
		if tc.err != nil {
			if err == nil {
				t.Errorf("ParseBaseUnits(%.40q) = %s, want %s", tc.in, got, tc.err.Reason)
				continue
			}
			wantErr(t, err, tc.err)
			continue
		}
		if err != nil {
			t.Errorf("ParseBaseUnits(%q): %v", tc.in, err)
			continue
		}
		// Canonical: the printed form is the input.
		if got.String() != tc.in {
			t.Errorf("ParseBaseUnits(%q).String() = %q", tc.in, got)
		}
	}
}

func TestAmountAdd(t *testing.T) {
	tests := []struct {
		a, b, want string
		err        *chain.Error
	}{
		{"0", "0", "0", nil},
		{"1", "2", "3", nil},
		{pow10(12), pow10(12), "2" + strings.Repeat("0", 12), nil},
		{maxStr, "0", maxStr, nil},
		{new(big.Int).Sub(maxU256, big.NewInt(5)).String(), "5", maxStr, nil},
		{maxStr, "1", "", chain.ErrOverflow},
		{"1", maxStr, "", chain.ErrOverflow},
		{maxStr, maxStr, "", chain.ErrOverflow},
	}
	for _, tc := range tests {
		a, b := amt(t, tc.a), amt(t, tc.b)
		got, err := a.Add(b)
		if tc.err != nil {
			wantErr(t, err, tc.err)
			if !got.IsZero() {
				t.Errorf("%s + %s returned %s with its error", tc.a, tc.b, got)
			}
			continue
		}
		wantErr(t, err, nil)
		if got.String() != tc.want {
			t.Errorf("%s + %s = %s, want %s", tc.a, tc.b, got, tc.want)
		}
		// Operands are values: unchanged.
		if a.String() != tc.a || b.String() != tc.b {
			t.Errorf("Add changed its operands")
		}
	}
}

func TestAmountSub(t *testing.T) {
	tests := []struct {
		a, b, want string
		err        *chain.Error
	}{
		{"0", "0", "0", nil},
		{"3", "2", "1", nil},
		{"3", "3", "0", nil},
		{maxStr, maxStr, "0", nil},
		{maxStr, "1", new(big.Int).Sub(maxU256, big.NewInt(1)).String(), nil},
		// Underflow is an invalid amount (insufficient), not a wrap-around.
		{"0", "1", "", chain.ErrInvalidAmount},
		{"2", "3", "", chain.ErrInvalidAmount},
		{"0", maxStr, "", chain.ErrInvalidAmount},
	}
	for _, tc := range tests {
		got, err := amt(t, tc.a).Sub(amt(t, tc.b))
		if tc.err != nil {
			wantErr(t, err, tc.err)
			if !got.IsZero() {
				t.Errorf("%s - %s returned %s with its error", tc.a, tc.b, got)
			}
			continue
		}
		wantErr(t, err, nil)
		if got.String() != tc.want {
			t.Errorf("%s - %s = %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestAmountMulDiv(t *testing.T) {
	tests := []struct {
		a        string
		num, den uint64
		want     string
		err      *chain.Error
	}{
		{"1000000", 30, 10000, "3000", nil}, // 30 bps
		{"7", 1, 2, "3", nil},               // rounds down
		{"9999", 1, 10000, "0", nil},
		{"123", 0, 7, "0", nil},
		{"0", 5, 3, "0", nil},
		{pow10(12), 1, 1, pow10(12), nil},
		// The intermediate product does not fit in 256 bits; the result does.
		{maxStr, 2, 2, maxStr, nil},
		{maxStr, 1<<64 - 1, 1<<64 - 1, maxStr, nil},
		{maxStr, 3, 4, new(big.Int).Div(new(big.Int).Mul(maxU256, big.NewInt(3)), big.NewInt(4)).String(), nil},
		{maxStr, 3, 2, "", chain.ErrOverflow},
		{new(big.Int).Rsh(maxU256, 1).String(), 3, 1, "", chain.ErrOverflow},
		{"1", 1, 0, "", chain.ErrInvalidAmount},
		{"0", 0, 0, "", chain.ErrInvalidAmount},
	}
	for _, tc := range tests {
		got, err := amt(t, tc.a).MulDiv(tc.num, tc.den)
		if tc.err != nil {
			wantErr(t, err, tc.err)
			continue
		}
		wantErr(t, err, nil)
		if got.String() != tc.want {
			t.Errorf("%s * %d / %d = %s, want %s", tc.a, tc.num, tc.den, got, tc.want)
		}
	}
}

func TestAmountBasics(t *testing.T) {
	var zero chain.Amount
	if !zero.IsZero() || zero.String() != "0" {
		t.Fatalf("zero Amount: IsZero %v, String %q", zero.IsZero(), zero)
	}
	if chain.NewAmount(0).Cmp(zero) != 0 || chain.NewAmount(1).IsZero() {
		t.Fatal("NewAmount")
	}
	if got := chain.NewAmount(1<<64 - 1).String(); got != "18446744073709551615" {
		t.Fatalf("NewAmount(max uint64) = %s", got)
	}
	a, b := chain.NewAmount(5), chain.NewAmount(7)
	if a.Cmp(b) != -1 || b.Cmp(a) != 1 || a.Cmp(chain.NewAmount(5)) != 0 {
		t.Fatal("Cmp")
	}

	// Uint256 hands out a copy.
	u := a.Uint256()
	u.SetUint64(99)
	if a.String() != "5" {
		t.Fatalf("mutating Uint256() changed the amount to %s", a)
	}
	if !a.Uint256().Eq(uint256.NewInt(5)) {
		t.Fatal("Uint256 value")
	}

	for _, v := range []string{"0", "1", "256", pow10(30), maxStr} {
		x := amt(t, v)
		b32 := x.Bytes32()
		if new(big.Int).SetBytes(b32[:]).String() != v {
			t.Fatalf("Bytes32(%s) = %x is not big-endian", v, b32)
		}
		back, err := chain.AmountFromBytes32(b32[:])
		wantErr(t, err, nil)
		if back.Cmp(x) != 0 {
			t.Fatalf("AmountFromBytes32(Bytes32(%s)) = %s", v, back)
		}
	}
	for _, n := range []int{0, 1, 31, 33, 64} {
		_, err := chain.AmountFromBytes32(make([]byte, n))
		wantErr(t, err, chain.ErrInvalidAmount)
	}
}
