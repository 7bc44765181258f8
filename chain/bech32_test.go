package chain

import (
	"bytes"
	"strings"
	"testing"
)

// Test strings of BIP-173 ("Test vectors" section).
var (
	bip173Valid = []string{
		"A12UEL5L",
		"a12uel5l",
		"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"11" + strings.Repeat("q", 82) + "c8247j",
		"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
		"?1ezyfcl",
	}
	bip173Invalid = []string{
		"\x20" + "1nwldj5", // HRP character out of range
		"\x7f" + "1axkwrx", // HRP character out of range
		"\x80" + "1eym55h", // HRP character out of range
		"an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx", // overall max length exceeded
		"pzry9x0s0muk",      // no separator character
		"1pzry9x0s0muk",     // empty HRP
		"x1b4n0q5v",         // invalid data character
		"li1dgmt3",          // too short checksum
		"de1lg7wt" + "\xff", // invalid character in checksum
		"A1G7SGD8",          // checksum calculated with upper-case form of HRP
		"10a06t8",           // empty HRP
		"1qzzfhee",          // empty HRP
	}
	// Segwit addresses of BIP-173: valid bech32 checksums whose data part
	// starts with a 5-bit witness version, so it is not a whole number of
	// bytes; only the checksum layer applies to them.
	bip173SegwitValid = []string{
		"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
		"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
		"bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
		"BC1SW50QA3JX3S",
		"bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj",
	}
)

// checksumValid applies only the checksum layer of BIP-173 to s.
func checksumValid(s string) bool {
	s = strings.ToLower(s)
	pos := strings.LastIndexByte(s, '1')
	if pos < 1 {
		return false
	}
	var values []byte
	for _, c := range s[pos+1:] {
		i := strings.IndexRune(bech32Charset, c)
		if i < 0 {
			return false
		}
		values = append(values, byte(i))
	}
	return bech32Polymod(append(bech32HRPExpand(s[:pos]), values...)) == 1
}

func TestBech32BIP173Valid(t *testing.T) {
	if n := len(bip173Valid[4]); n != 90 {
		t.Fatalf("longest valid test string has %d characters, want 90", n)
	}
	for _, s := range bip173Valid {
		if !checksumValid(s) {
			t.Errorf("%q: checksum does not verify", s)
		}
		hrp, data, err := bech32Decode(s)
		if err != nil {
			t.Errorf("bech32Decode(%q): %v", s, err)
			continue
		}
		if want := strings.ToLower(s[:strings.LastIndexByte(s, '1')]); hrp != want {
			t.Errorf("bech32Decode(%q) hrp = %q, want %q", s, hrp, want)
		}
		// Re-encoding gives the lower-case form back.
		if got := bech32Encode(hrp, data); got != strings.ToLower(s) {
			t.Errorf("bech32Encode(bech32Decode(%q)) = %q", s, got)
		}
	}
	for _, s := range bip173SegwitValid {
		if !checksumValid(s) {
			t.Errorf("%q: checksum does not verify", s)
		}
	}
}

func TestBech32BIP173Invalid(t *testing.T) {
	for _, s := range bip173Invalid {
		if hrp, data, err := bech32Decode(s); err == nil {
			t.Errorf("bech32Decode(%q) accepted: hrp %q data %x", s, hrp, data)
		}
	}
}

func TestBech32Rejects(t *testing.T) {
	valid := "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"
	cases := map[string]string{
		"mixed case":                 "abcdef1Qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"checksum char changed":      valid[:len(valid)-1] + "q",
		"data char changed":          strings.Replace(valid, "qpzry", "ppzry", 1),
		"hrp changed":                "abcdeg" + valid[6:],
		"two chars swapped":          "abcdef1pqzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"b in data":                  "abcdef1bpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"i in data":                  "abcdef1ipzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"o in data":                  "abcdef1opzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"space":                      "abcdef1 qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"empty":                      "",
		"separator only":             "1",
		"five checksum chars":        "a1" + "2uel5",
		"non-ASCII":                  "abcdéf1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"truncated":                  valid[:len(valid)-2],
		"91 chars":                   "11" + strings.Repeat("q", 83) + "c8247j",
		"trailing newline":           valid + "\n",
		"leading space":              " " + valid,
		"checksum dropped from data": "a1",
	}
	for name, s := range cases {
		if _, _, err := bech32Decode(s); err == nil {
			t.Errorf("%s: bech32Decode(%q) accepted", name, s)
		}
	}
}

func TestConvertBits(t *testing.T) {
	five, err := convertBits([]byte{0xff}, 8, 5, true)
	if err != nil || !bytes.Equal(five, []byte{31, 28}) {
		t.Fatalf("convertBits(ff, 8→5) = %v, %v", five, err)
	}
	eight, err := convertBits([]byte{31, 28}, 5, 8, false)
	if err != nil || !bytes.Equal(eight, []byte{0xff}) {
		t.Fatalf("convertBits(31 28, 5→8) = %v, %v", eight, err)
	}
	// Non-zero padding bits, a whole spare group, and out-of-range input.
	for _, in := range [][]byte{{31, 29}, {31, 28, 0}, {32}, {0}} {
		if out, err := convertBits(in, 5, 8, false); err == nil {
			t.Errorf("convertBits(%v, 5→8) = %v, want error", in, out)
		}
	}
	for n := 0; n <= 64; n++ {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*37 + n)
		}
		five, err := convertBits(data, 8, 5, true)
		if err != nil || len(five) != (n*8+4)/5 {
			t.Fatalf("%d bytes → %d groups, %v", n, len(five), err)
		}
		back, err := convertBits(five, 5, 8, false)
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("%d bytes did not round trip: %v", n, err)
		}
	}
}

func TestBech32EncodeDecodeRoundTrip(t *testing.T) {
	for n := 0; n <= 50; n++ {
		data := bytes.Repeat([]byte{byte(n * 11)}, n)
		for _, hrp := range []string{"amp", "a", "cosmos"} {
			if len(hrp)+1+(n*8+4)/5+6 > 90 {
				continue
			}
			s := bech32Encode(hrp, data)
			if !checksumValid(s) {
				t.Fatalf("bech32Encode(%q, %x) = %q has a bad checksum", hrp, data, s)
			}
			h, d, err := bech32Decode(s)
			if err != nil || h != hrp || !bytes.Equal(d, data) {
				t.Fatalf("round trip of %q %x via %q: %q %x %v", hrp, data, s, h, d, err)
			}
			if _, _, err := bech32Decode(strings.ToUpper(s)); err != nil {
				t.Fatalf("upper-case %q rejected: %v", s, err)
			}
		}
	}
}

// Every string of the wrong length, prefix or checksum is rejected by
// ParseAddress, whatever else is right with it.
func TestParseAddressFromCraftedBech32(t *testing.T) {
	good := Address{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	cases := map[string]string{
		"prefix cosmos": bech32Encode("cosmos", good[:]),
		"prefix amq":    bech32Encode("amq", good[:]),
		"prefix ampx":   bech32Encode("ampx", good[:]),
		"empty prefix":  "1" + bech32Encode("amp", good[:])[4:],
		"19 bytes":      bech32Encode("amp", good[:19]),
		"21 bytes":      bech32Encode("amp", append(good[:], 21)),
		"32 bytes":      bech32Encode("amp", bytes.Repeat([]byte{7}, 32)),
		"0 bytes":       bech32Encode("amp", nil),
		"zero address":  bech32Encode("amp", make([]byte, 20)),
	}
	for name, s := range cases {
		_, err := ParseAddress(s)
		if err == nil {
			t.Errorf("%s: ParseAddress(%q) accepted", name, s)
			continue
		}
		if CodeOf(err) != ErrInvalidAddress {
			t.Errorf("%s: ParseAddress(%q) error %v has code %s", name, s, err, CodeOf(err).Reason)
		}
	}
	if a, err := ParseAddress(bech32Encode("amp", good[:])); err != nil || a != good {
		t.Fatalf("control case: %v, %v", a, err)
	}
}

func FuzzBech32Decode(f *testing.F) {
	for _, s := range append(append(bip173Valid, bip173Invalid...), bip173SegwitValid...) {
		f.Add(s)
	}
	f.Add(bech32Encode("amp", make([]byte, 20)))
	f.Fuzz(func(t *testing.T, s string) {
		hrp, data, err := bech32Decode(s)
		if err != nil {
			return
		}
		// The 5-bit groups of an accepted string are a unique encoding of
		// data (no spare or non-zero padding bits), so re-encoding gives
		// the string back in lower case.
		if got := bech32Encode(hrp, data); got != strings.ToLower(s) {
			t.Fatalf("bech32Decode(%q) = %q %x, which encodes as %q", s, hrp, data, got)
		}
		if !checksumValid(s) || len(s) > 90 || hrp == "" {
			t.Fatalf("bech32Decode(%q) accepted an invalid string", s)
		}
	})
}
