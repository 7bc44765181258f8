package chain

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/big"
	"sync"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"github.com/amp-ledger/amp/chain/pb"
)

// KeyType names a signature scheme; the numbers are the wire values.
type KeyType uint8

const (
	// KeyEd25519 is the scheme of account and agent keys: ZIP-215 rules, so
	// batch and single verification agree on every input.
	KeyEd25519 KeyType = KeyType(pb.KeyType_KEY_TYPE_ED25519)
	// KeyP256 is the scheme of device keys (secure enclaves, Android
	// keystores, passkeys): ECDSA over SHA-256, 64-byte r||s, low-S.
	KeyP256 KeyType = KeyType(pb.KeyType_KEY_TYPE_P256)
)

func (t KeyType) String() string {
	switch t {
	case KeyEd25519:
		return "ed25519"
	case KeyP256:
		return "p256"
	}
	return fmt.Sprintf("keytype(%d)", t)
}

// ParseKeyType is the inverse of String.
func ParseKeyType(s string) (KeyType, error) {
	switch s {
	case "ed25519":
		return KeyEd25519, nil
	case "p256":
		return KeyP256, nil
	}
	return 0, Wrapf(ErrInvalidPubKey, "unknown key type %q (want ed25519 or p256)", s)
}

const (
	ed25519PubLen = 32
	ed25519SigLen = 64
	p256PubLen    = 33 // compressed SEC1
	p256SigLen    = 64 // r||s, 32 bytes each
)

var zip215 = &ed25519.Options{Verify: ed25519.VerifyOptionsZIP_215}

// validEd25519 remembers keys that passed the point checks: accounts sign
// many txs, and the decompression costs several microseconds per decode.
var validEd25519 = newKeySet(1 << 16)

// keySet is a bounded set of 32-byte keys in two generations, like the
// app's tx cache: when the newer fills up the older is dropped.
type keySet struct {
	mu       sync.Mutex
	max      int
	cur, old map[[32]byte]struct{}
}

func newKeySet(max int) *keySet {
	return &keySet{max: max, cur: map[[32]byte]struct{}{}, old: map[[32]byte]struct{}{}}
}

func (s *keySet) has(b []byte) bool {
	k := [32]byte(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cur[k]; ok {
		return true
	}
	_, ok := s.old[k]
	return ok
}

func (s *keySet) add(b []byte) {
	k := [32]byte(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cur) >= s.max {
		s.old, s.cur = s.cur, make(map[[32]byte]struct{}, s.max)
	}
	s.cur[k] = struct{}{}
}

// PubKey is a public key of a known type. Construct it with NewPubKey,
// which validates it (and parses a P-256 point once); the zero value is
// invalid.
type PubKey struct {
	Type  KeyType
	Bytes []byte
	p256  *ecdsa.PublicKey // parsed once by NewPubKey
}

// NewPubKey validates a key: length, and for P-256 that the point is on the curve.
func NewPubKey(t KeyType, b []byte) (PubKey, error) {
	switch t {
	case KeyEd25519:
		if len(b) != ed25519PubLen {
			return PubKey{}, Wrapf(ErrInvalidPubKey, "ed25519 key has %d bytes, want %d", len(b), ed25519PubLen)
		}
		if validEd25519.has(b) {
			return PubKey{Type: t, Bytes: append([]byte(nil), b...)}, nil
		}
		// Under ZIP-215 anyone can forge signatures for a small-order key
		// (the identity with R = identity, S = 0 verifies every message),
		// so such keys, and encodings that are not points, are refused.
		var y curve.CompressedEdwardsY
		copy(y[:], b)
		var p curve.EdwardsPoint
		if _, err := p.SetCompressedY(&y); err != nil {
			return PubKey{}, Wrapf(ErrInvalidPubKey, "ed25519 key is not a curve point")
		}
		if p.IsSmallOrder() {
			return PubKey{}, Wrapf(ErrInvalidPubKey, "ed25519 key is a small-order point")
		}
		validEd25519.add(b)
		return PubKey{Type: t, Bytes: append([]byte(nil), b...)}, nil
	case KeyP256:
		if len(b) != p256PubLen {
			return PubKey{}, Wrapf(ErrInvalidPubKey, "p256 key has %d bytes, want %d (compressed)", len(b), p256PubLen)
		}
		x, y := elliptic.UnmarshalCompressed(elliptic.P256(), b)
		if x == nil {
			return PubKey{}, Wrapf(ErrInvalidPubKey, "p256 key is not a compressed point on the curve")
		}
		uncompressed := make([]byte, 65)
		uncompressed[0] = 4
		x.FillBytes(uncompressed[1:33])
		y.FillBytes(uncompressed[33:])
		pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), uncompressed)
		if err != nil {
			return PubKey{}, Wrapf(ErrInvalidPubKey, "p256 key: %v", err)
		}
		return PubKey{Type: t, Bytes: append([]byte(nil), b...), p256: pk}, nil
	}
	return PubKey{}, Wrapf(ErrInvalidPubKey, "unknown key type %d", t)
}

// PubKeyFromProto converts and validates the wire form.
func PubKeyFromProto(p *pb.PubKey) (PubKey, error) {
	if p == nil {
		return PubKey{}, Wrapf(ErrInvalidPubKey, "missing public key")
	}
	return NewPubKey(KeyType(p.Type), p.Key)
}

// Proto returns the wire form.
func (k PubKey) Proto() *pb.PubKey {
	return &pb.PubKey{Type: pb.KeyType(k.Type), Key: k.Bytes}
}

// Address derives the account address: SHA-256(type byte || key)[:20]. The
// type byte keeps keys of different schemes from ever sharing an address.
func (k PubKey) Address() Address {
	h := sha256.New()
	h.Write([]byte{byte(k.Type)})
	h.Write(k.Bytes)
	var a Address
	copy(a[:], h.Sum(nil))
	return a
}

// Equal reports whether two keys are the same key.
func (k PubKey) Equal(o PubKey) bool {
	return k.Type == o.Type && string(k.Bytes) == string(o.Bytes)
}

// String prints "type:hex".
func (k PubKey) String() string { return fmt.Sprintf("%s:%x", k.Type, k.Bytes) }

// Verify checks sig over msg. It never panics, whatever the input.
func (k PubKey) Verify(msg, sig []byte) bool {
	switch k.Type {
	case KeyEd25519:
		if len(k.Bytes) != ed25519PubLen || len(sig) != ed25519SigLen {
			return false
		}
		return ed25519.VerifyWithOptions(ed25519.PublicKey(k.Bytes), msg, sig, zip215)
	case KeyP256:
		if len(sig) != p256SigLen {
			return false
		}
		if k.p256 == nil { // built as a literal rather than by NewPubKey
			parsed, err := NewPubKey(KeyP256, k.Bytes)
			if err != nil {
				return false
			}
			k = parsed
		}
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		if s.Cmp(p256HalfOrder) > 0 {
			return false // high-S: the malleable twin of a valid signature
		}
		digest := sha256.Sum256(msg)
		return ecdsa.Verify(k.p256, digest[:], r, s)
	}
	return false
}

var p256HalfOrder = new(big.Int).Rsh(elliptic.P256().Params().N, 1)

// PrivKey signs for one PubKey.
type PrivKey interface {
	PubKey() PubKey
	Sign(msg []byte) ([]byte, error)
	// Bytes is the private key's storage form (ed25519 seed or P-256 scalar).
	Bytes() []byte
	Type() KeyType
}

// GenerateKey makes a new private key of type t from crypto/rand.
func GenerateKey(t KeyType) (PrivKey, error) {
	switch t {
	case KeyEd25519:
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		return PrivKeyFromBytes(t, seed)
	case KeyP256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return newP256Priv(k), nil
	}
	return nil, Wrapf(ErrInvalidPubKey, "unknown key type %d", t)
}

// PrivKeyFromBytes restores a key from its storage form.
func PrivKeyFromBytes(t KeyType, b []byte) (PrivKey, error) {
	switch t {
	case KeyEd25519:
		if len(b) != ed25519.SeedSize {
			return nil, fmt.Errorf("ed25519 seed has %d bytes, want %d", len(b), ed25519.SeedSize)
		}
		priv := ed25519.NewKeyFromSeed(b)
		pub, _ := NewPubKey(KeyEd25519, priv.Public().(ed25519.PublicKey))
		return &ed25519Priv{priv: priv, pub: pub}, nil
	case KeyP256:
		if len(b) != 32 {
			return nil, fmt.Errorf("p256 scalar has %d bytes, want 32", len(b))
		}
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), b)
		if err != nil {
			return nil, fmt.Errorf("p256 private key: %w", err)
		}
		return newP256Priv(k), nil
	}
	return nil, fmt.Errorf("unknown key type %d", t)
}

type ed25519Priv struct {
	priv ed25519.PrivateKey
	pub  PubKey
}

func (k *ed25519Priv) PubKey() PubKey { return k.pub }
func (k *ed25519Priv) Type() KeyType  { return KeyEd25519 }
func (k *ed25519Priv) Bytes() []byte  { return k.priv.Seed() }
func (k *ed25519Priv) Sign(msg []byte) ([]byte, error) {
	return ed25519.Sign(k.priv, msg), nil
}

type p256Priv struct {
	priv *ecdsa.PrivateKey
	pub  PubKey
}

func newP256Priv(k *ecdsa.PrivateKey) *p256Priv {
	pub, _ := NewPubKey(KeyP256, compressP256(k))
	return &p256Priv{priv: k, pub: pub}
}

func (k *p256Priv) PubKey() PubKey { return k.pub }
func (k *p256Priv) Type() KeyType  { return KeyP256 }
func (k *p256Priv) Bytes() []byte {
	b, _ := k.priv.Bytes()
	return b
}

// Sign produces the 64-byte r||s form with low S, as the ledger requires.
func (k *p256Priv) Sign(msg []byte) ([]byte, error) {
	digest := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, digest[:])
	if err != nil {
		return nil, err
	}
	return P256SigLowS(r, s), nil
}

// compressP256 returns the 33-byte SEC1 compressed form of a key's point.
func compressP256(k *ecdsa.PrivateKey) []byte {
	u, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil || len(u) != 65 {
		panic(fmt.Sprintf("chain: p256 public key encoding: %v", err)) // a key we generated or parsed is always on the curve
	}
	out := make([]byte, 33)
	out[0] = 2 | u[64]&1
	copy(out[1:], u[1:33])
	return out
}

// P256SigLowS encodes (r, s) as 64-byte r||s, replacing s by n-s when s is
// in the upper half, which is how a client normalises what a secure
// enclave or WebAuthn authenticator returns.
func P256SigLowS(r, s *big.Int) []byte {
	if s.Cmp(p256HalfOrder) > 0 {
		s = new(big.Int).Sub(elliptic.P256().Params().N, s)
	}
	out := make([]byte, p256SigLen)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out
}
