package chain_test

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/amp-ledger/amp/chain"
)

func TestAddressDerivation(t *testing.T) {
	for _, typ := range []chain.KeyType{chain.KeyEd25519, chain.KeyP256} {
		k := fixedKey(t, typ, 0x05).PubKey()
		h := sha256.Sum256(append([]byte{byte(typ)}, k.Bytes...))
		a := k.Address()
		if string(a[:]) != string(h[:20]) {
			t.Fatalf("%s: Address() = %x, want SHA-256(type||key)[:20] = %x", typ, a, h[:20])
		}
		if got, want := a.String(), refBech32("amp", h[:20]); got != want {
			t.Fatalf("%s: String() = %q, reference encoder gives %q", typ, got, want)
		}
	}
	// The type byte separates schemes even for identical key bytes.
	b := fill(0x02, 33)
	p := chain.PubKey{Type: chain.KeyP256, Bytes: b}
	e := chain.PubKey{Type: chain.KeyEd25519, Bytes: b}
	if p.Address() == e.Address() {
		t.Fatal("key type byte does not enter the address")
	}
}

func TestAddressRoundTrip(t *testing.T) {
	for i := 0; i < 20; i++ {
		typ := chain.KeyEd25519
		if i%2 == 1 {
			typ = chain.KeyP256
		}
		a := newKey(t, typ).PubKey().Address()
		s := a.String()
		if !strings.HasPrefix(s, "amp1") || len(s) != 42 || s != strings.ToLower(s) {
			t.Fatalf("address %q: want lower-case amp1 + 38 characters", s)
		}
		back, err := chain.ParseAddress(s)
		wantErr(t, err, nil)
		if back != a {
			t.Fatalf("ParseAddress(%q) = %x, want %x", s, back, a)
		}
		// BIP-173 allows the all-upper-case form (QR codes); it is the same address.
		up, err := chain.ParseAddress(strings.ToUpper(s))
		wantErr(t, err, nil)
		if up != a {
			t.Fatalf("upper-case form parsed to another address")
		}
		fromBytes, err := chain.AddressFromBytes(a[:])
		wantErr(t, err, nil)
		if fromBytes != a || a.IsZero() {
			t.Fatal("AddressFromBytes")
		}
	}
}

func TestAddressJSON(t *testing.T) {
	type holder struct {
		To chain.Address `json:"to"`
	}
	a := fixedKey(t, chain.KeyEd25519, 0x09).PubKey().Address()
	b, err := json.Marshal(holder{To: a})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"to":"` + a.String() + `"}`; string(b) != want {
		t.Fatalf("json = %s, want %s", b, want)
	}
	var h holder
	if err := json.Unmarshal(b, &h); err != nil || h.To != a {
		t.Fatalf("json round trip: %v %x", err, h.To)
	}
	bad := strings.Replace(string(b), a.String(), a.String()[:41]+flipChar(a.String()[41]), 1)
	err = json.Unmarshal([]byte(bad), &h)
	if err == nil {
		t.Fatalf("json.Unmarshal accepted %s", bad)
	}
	wantErr(t, err, chain.ErrInvalidAddress)
	var direct chain.Address
	wantErr(t, direct.UnmarshalText([]byte("amp1")), chain.ErrInvalidAddress)
	if !direct.IsZero() {
		t.Fatal("a failed UnmarshalText changed the address")
	}
}

// flipChar returns another bech32 character than c.
func flipChar(c byte) string {
	if c == 'q' {
		return "p"
	}
	return "q"
}

func TestParseAddressRejects(t *testing.T) {
	a := fixedKey(t, chain.KeyEd25519, 0x07).PubKey().Address()
	s := a.String()
	data := s[4:]
	zero := refBech32("amp", make([]byte, 20))
	cases := map[string]string{
		"empty":             "",
		"prefix only":       "amp1",
		"wrong prefix":      refBech32("cosmos", a[:]),
		"wrong prefix amq":  refBech32("amq", a[:]),
		"prefix typo":       "amq1" + data,
		"no separator":      "amp" + data,
		"bad checksum":      s[:41] + flipChar(s[41]),
		"bad data char":     s[:10] + flipChar(s[10]) + s[11:],
		"19 bytes":          refBech32("amp", a[:19]),
		"21 bytes":          refBech32("amp", append(a[:], 0)),
		"32 bytes":          refBech32("amp", fill(0xab, 32)),
		"zero address":      zero,
		"mixed case":        strings.ToUpper(s[:10]) + s[10:],
		"mixed case prefix": "Amp1" + data,
		"truncated":         s[:len(s)-1],
		"extended":          s + "q",
		"space":             " " + s,
		"hex form":          "0x" + strings.Repeat("ab", 20),
		"character b":       s[:20] + "b" + s[21:],
		"too long":          "amp1" + strings.Repeat("q", 87),
	}
	for name, in := range cases {
		got, err := chain.ParseAddress(in)
		if err == nil {
			t.Errorf("%s: ParseAddress(%q) = %x, want error", name, in, got)
			continue
		}
		wantErr(t, err, chain.ErrInvalidAddress)
	}
	for _, n := range []int{0, 19, 21, 32, 33} {
		_, err := chain.AddressFromBytes(make([]byte, n))
		wantErr(t, err, chain.ErrInvalidAddress)
	}
	_, err := chain.AddressFromBytes(make([]byte, 20))
	wantErr(t, err, chain.ErrInvalidAddress)
}
