package chain

import "github.com/amp-ledger/amp/chain/gencache"

// AddressPrefix is the bech32 human-readable part of every account address.
const AddressPrefix = "amp"

// AddressLen is the length of an address in bytes.
const AddressLen = 20

// Address identifies an account: the first 20 bytes of SHA-256 over the
// key type byte and the public key (see PubKey.Address). Its text form is
// bech32 with prefix "amp".
type Address [AddressLen]byte

// String returns the bech32 form, e.g. "amp1…".
func (a Address) String() string {
	if s, ok := addressStrings.Get(a); ok {
		return s
	}
	s := bech32Encode(AddressPrefix, a[:])
	addressStrings.Add(a, s)
	return s
}

// addressStrings remembers recent encodings: every payment and transfer
// names its parties in events, and bech32 encoding (with its checksum)
// cost more than the rest of building the event.
var addressStrings = gencache.New[Address, string](1 << 16)

// IsZero reports whether a is the all-zero address, which no key has.
func (a Address) IsZero() bool { return a == Address{} }

// ParseAddress parses the bech32 form.
func ParseAddress(s string) (Address, error) {
	hrp, data, err := bech32Decode(s)
	if err != nil {
		return Address{}, Wrapf(ErrInvalidAddress, "%q: %v", s, err)
	}
	if hrp != AddressPrefix {
		return Address{}, Wrapf(ErrInvalidAddress, "%q: prefix %q, want %q", s, hrp, AddressPrefix)
	}
	return AddressFromBytes(data)
}

// AddressFromBytes checks and converts the 20-byte wire form.
func AddressFromBytes(b []byte) (Address, error) {
	var a Address
	if len(b) != AddressLen {
		return a, Wrapf(ErrInvalidAddress, "address has %d bytes, want %d", len(b), AddressLen)
	}
	copy(a[:], b)
	if a.IsZero() {
		return a, Wrapf(ErrInvalidAddress, "the zero address is not an account")
	}
	return a, nil
}

// MarshalText makes addresses print as bech32 in JSON.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses bech32.
func (a *Address) UnmarshalText(b []byte) error {
	p, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = p
	return nil
}
