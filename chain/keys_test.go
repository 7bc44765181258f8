package chain_test

import (
	"bytes"
	"crypto/ecdsa"
	stded25519 "crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"testing"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

var (
	p256N    = elliptic.P256().Params().N
	p256Half = new(big.Int).Rsh(p256N, 1)
)

func TestKeyTypeNames(t *testing.T) {
	for _, typ := range []chain.KeyType{chain.KeyEd25519, chain.KeyP256} {
		back, err := chain.ParseKeyType(typ.String())
		if err != nil || back != typ {
			t.Errorf("ParseKeyType(%q) = %v, %v", typ, back, err)
		}
	}
	if chain.KeyEd25519 != 1 || chain.KeyP256 != 2 {
		t.Fatal("key type wire numbers changed")
	}
	if chain.KeyEd25519.String() != "ed25519" || chain.KeyP256.String() != "p256" || chain.KeyType(7).String() != "keytype(7)" {
		t.Fatal("KeyType.String")
	}
	for _, s := range []string{"", "ED25519", "secp256k1", "p-256", "keytype(1)"} {
		_, err := chain.ParseKeyType(s)
		wantErr(t, err, chain.ErrInvalidPubKey)
	}
}

func TestSignVerify(t *testing.T) {
	msg := []byte("amp-tx-v1\x00some body")
	for _, typ := range []chain.KeyType{chain.KeyEd25519, chain.KeyP256} {
		t.Run(typ.String(), func(t *testing.T) {
			k := newKey(t, typ)
			other := newKey(t, typ)
			if k.Type() != typ || k.PubKey().Type != typ {
				t.Fatal("Type()")
			}
			sig, err := k.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(sig) != 64 {
				t.Fatalf("signature has %d bytes, want 64", len(sig))
			}
			pub := k.PubKey()
			if !pub.Verify(msg, sig) {
				t.Fatal("valid signature rejected")
			}
			if pub.Verify([]byte("amp-tx-v1\x00some bodY"), sig) {
				t.Fatal("signature verified for another message")
			}
			if pub.Verify(nil, sig) {
				t.Fatal("signature verified for the empty message")
			}
			if other.PubKey().Verify(msg, sig) {
				t.Fatal("signature verified under another key")
			}
			for i := 0; i < len(sig); i += 7 {
				bad := bytes.Clone(sig)
				bad[i] ^= 0x01
				if pub.Verify(msg, bad) {
					t.Fatalf("signature with byte %d flipped verified", i)
				}
			}
			for _, bad := range [][]byte{nil, {}, sig[:63], append(bytes.Clone(sig), 0), make([]byte, 64)} {
				if pub.Verify(msg, bad) {
					t.Fatalf("malformed signature %x verified", bad)
				}
			}
			// A key of the other type with no parsed point never verifies.
			var zero chain.PubKey
			if zero.Verify(msg, sig) {
				t.Fatal("zero PubKey verified")
			}
		})
	}
}

// ed25519 against the standard library and RFC 8032 test 1 and test 2.
func TestEd25519CrossCheck(t *testing.T) {
	rfc := []struct{ seed, pub, msg, sig string }{
		{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	}
	for _, v := range rfc {
		k, err := chain.PrivKeyFromBytes(chain.KeyEd25519, unhex(t, v.seed))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.PubKey().Bytes, unhex(t, v.pub)) {
			t.Fatalf("public key %x, RFC 8032 says %s", k.PubKey().Bytes, v.pub)
		}
		sig, _ := k.Sign(unhex(t, v.msg))
		if !bytes.Equal(sig, unhex(t, v.sig)) {
			t.Fatalf("signature %x, RFC 8032 says %s", sig, v.sig)
		}
		if !k.PubKey().Verify(unhex(t, v.msg), sig) {
			t.Fatal("RFC 8032 signature rejected")
		}
	}
	for i := byte(0); i < 8; i++ {
		seed := fill(i*31+1, 32)
		k, _ := chain.PrivKeyFromBytes(chain.KeyEd25519, seed)
		std := stded25519.NewKeyFromSeed(seed)
		msg := []byte{i, 1, 2, 3}
		if !bytes.Equal(k.PubKey().Bytes, std.Public().(stded25519.PublicKey)) {
			t.Fatal("public key differs from crypto/ed25519")
		}
		sig, _ := k.Sign(msg)
		if !bytes.Equal(sig, stded25519.Sign(std, msg)) {
			t.Fatal("signature differs from crypto/ed25519")
		}
		sig2, _ := k.Sign(msg)
		if !bytes.Equal(sig, sig2) {
			t.Fatal("ed25519 signing is not deterministic")
		}
	}
}

// ZIP-215 still requires a canonical S (S < L): S+L is the classic
// malleated twin and must not verify.
func TestEd25519RejectsNonCanonicalS(t *testing.T) {
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	k := fixedKey(t, chain.KeyEd25519, 0x01)
	msg := []byte("pay 1 USD")
	sig, _ := k.Sign(msg)
	s := new(big.Int).SetBytes(reverse(sig[32:]))
	s.Add(s, l)
	le := reverse(s.FillBytes(make([]byte, 32)))
	bad := append(bytes.Clone(sig[:32]), le...)
	if k.PubKey().Verify(msg, bad) {
		t.Fatal("signature with S+L verified")
	}
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

func TestP256CrossCheck(t *testing.T) {
	k := fixedKey(t, chain.KeyP256, 0x03)
	std, want := stdP256FromScalar(t, fill(0x03, 32))
	if !bytes.Equal(k.PubKey().Bytes, want) {
		t.Fatalf("public key %x, want compressed SEC1 %x", k.PubKey().Bytes, want)
	}
	msg := []byte("amp-tx-v1\x00body")
	digest := sha256.Sum256(msg)
	for i := 0; i < 32; i++ {
		sig, err := k.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if s.Cmp(p256Half) > 0 {
			t.Fatalf("Sign produced high S %x", sig[32:])
		}
		if !ecdsa.Verify(std, digest[:], r, s) {
			t.Fatal("signature does not verify with crypto/ecdsa over SHA-256 of the message")
		}
	}
	// A signature made elsewhere (an enclave) and normalised with
	// P256SigLowS verifies, whatever half its S was in.
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, err := chain.NewPubKey(chain.KeyP256, elliptic.MarshalCompressed(elliptic.P256(), priv.X, priv.Y))
	wantErr(t, err, nil)
	sawHigh := false
	for i := 0; i < 64; i++ {
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sawHigh = sawHigh || s.Cmp(p256Half) > 0
		if !pub.Verify(msg, chain.P256SigLowS(r, s)) {
			t.Fatal("normalised external signature rejected")
		}
	}
	if !sawHigh {
		t.Log("no high-S signature in 64 tries (probability 2^-64)")
	}
}

func TestP256HighSRejected(t *testing.T) {
	k := fixedKey(t, chain.KeyP256, 0x03)
	pub := k.PubKey()
	msg := []byte("co-sign this")
	digest := sha256.Sum256(msg)
	sig, _ := k.Sign(msg)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	high := new(big.Int).Sub(p256N, s)
	bad := make([]byte, 64)
	r.FillBytes(bad[:32])
	high.FillBytes(bad[32:])

	stdPub := stdP256Pub(t, pub.Bytes)
	if !ecdsa.Verify(stdPub, digest[:], r, high) {
		t.Fatal("the high-S twin should be mathematically valid")
	}
	if pub.Verify(msg, bad) {
		t.Fatal("high-S signature accepted")
	}
	// P256SigLowS maps the twin back to the original.
	if !bytes.Equal(chain.P256SigLowS(r, high), sig) {
		t.Fatal("P256SigLowS(r, n-s) != r||s")
	}
	if !bytes.Equal(chain.P256SigLowS(r, s), sig) {
		t.Fatal("P256SigLowS changed a low S")
	}
	// s = n/2 (rounded down) is the largest accepted S, n/2+1 the smallest
	// rejected one: check the boundary through P256SigLowS.
	edge := chain.P256SigLowS(big.NewInt(1), new(big.Int).Add(p256Half, big.NewInt(1)))
	if got := new(big.Int).SetBytes(edge[32:]); got.Cmp(p256Half) != 0 {
		t.Fatalf("P256SigLowS(1, n/2+1) has S %x, want n/2", got)
	}
}

func TestP256MalformedSignatures(t *testing.T) {
	k := fixedKey(t, chain.KeyP256, 0x03)
	msg := []byte("m")
	sig, _ := k.Sign(msg)
	nBytes := p256N.FillBytes(make([]byte, 32))
	cases := map[string][]byte{
		"r = 0":      append(make([]byte, 32), sig[32:]...),
		"s = 0":      append(bytes.Clone(sig[:32]), make([]byte, 32)...),
		"r = n":      append(bytes.Clone(nBytes), sig[32:]...),
		"r + n":      append(new(big.Int).Add(new(big.Int).SetBytes(sig[:32]), p256N).FillBytes(make([]byte, 33))[1:], sig[32:]...),
		"all ff":     fill(0xff, 64),
		"DER form":   append([]byte{0x30, 0x44, 0x02, 0x20}, sig...),
		"65 bytes":   append([]byte{0}, sig...),
		"r||s swapt": append(bytes.Clone(sig[32:]), sig[:32]...),
	}
	for name, bad := range cases {
		if k.PubKey().Verify(msg, bad) {
			t.Errorf("%s: verified", name)
		}
	}
	if !k.PubKey().Verify(msg, sig) {
		t.Fatal("control signature rejected")
	}
}

// notOnCurveX returns an x for which no point (x, y) is on P-256.
func notOnCurveX(t *testing.T) []byte {
	for i := 1; i < 1000; i++ {
		b := append([]byte{0x02}, new(big.Int).SetInt64(int64(i)).FillBytes(make([]byte, 32))...)
		if x, _ := elliptic.UnmarshalCompressed(elliptic.P256(), b); x == nil {
			return b
		}
	}
	t.Fatal("no x off the curve found")
	return nil
}

func TestNewPubKey(t *testing.T) {
	ed := fixedKey(t, chain.KeyEd25519, 0x01).PubKey()
	p := fixedKey(t, chain.KeyP256, 0x03).PubKey()
	pBytes := p.Bytes
	uncompressed := p256Uncompressed(pBytes) // 04 || x || y, 65 bytes
	pField := elliptic.P256().Params().P.FillBytes(make([]byte, 32))

	bad := []struct {
		name string
		typ  chain.KeyType
		key  []byte
	}{
		{"ed25519 empty", chain.KeyEd25519, nil},
		{"ed25519 31 bytes", chain.KeyEd25519, ed.Bytes[:31]},
		{"ed25519 33 bytes", chain.KeyEd25519, append(bytes.Clone(ed.Bytes), 0)},
		{"ed25519 64 bytes (private key form)", chain.KeyEd25519, make([]byte, 64)},
		{"ed25519 identity (small order)", chain.KeyEd25519, append([]byte{1}, make([]byte, 31)...)},
		{"ed25519 all zero (order 4)", chain.KeyEd25519, make([]byte, 32)},
		{"ed25519 y not on the curve", chain.KeyEd25519, edNotOnCurve(t)},
		{"p256 empty", chain.KeyP256, nil},
		{"p256 32 bytes", chain.KeyP256, pBytes[1:]},
		{"p256 uncompressed", chain.KeyP256, uncompressed},
		{"p256 prefix 04 with 33 bytes", chain.KeyP256, append([]byte{0x04}, pBytes[1:]...)},
		{"p256 prefix 00", chain.KeyP256, append([]byte{0x00}, pBytes[1:]...)},
		{"p256 prefix 05", chain.KeyP256, append([]byte{0x05}, pBytes[1:]...)},
		{"p256 x not on curve", chain.KeyP256, notOnCurveX(t)},
		{"p256 x = p", chain.KeyP256, append([]byte{0x02}, pField...)},
		{"p256 x = 2^256-1", chain.KeyP256, append([]byte{0x03}, fill(0xff, 32)...)},
		{"p256 ed25519 key with a prefix", chain.KeyP256, append([]byte{0x02}, ed.Bytes...)},
		{"type 0", 0, ed.Bytes},
		{"type 3", 3, ed.Bytes},
		{"type 255", 255, pBytes},
	}
	for _, tc := range bad {
		k, err := chain.NewPubKey(tc.typ, tc.key)
		if err == nil && tc.name == "p256 ed25519 key with a prefix" {
			continue // a random x is on the curve half of the time
		}
		if err == nil {
			t.Errorf("%s: NewPubKey accepted %s", tc.name, k)
			continue
		}
		wantErr(t, err, chain.ErrInvalidPubKey)
	}

	for _, good := range []chain.PubKey{ed, p} {
		in := bytes.Clone(good.Bytes)
		k, err := chain.NewPubKey(good.Type, in)
		wantErr(t, err, nil)
		if !k.Equal(good) {
			t.Fatal("NewPubKey of a key's bytes is not Equal to it")
		}
		in[1] ^= 0xff // the key owns its bytes
		if !k.Equal(good) {
			t.Fatal("NewPubKey kept the caller's slice")
		}
		back, err := chain.PubKeyFromProto(k.Proto())
		wantErr(t, err, nil)
		if !back.Equal(k) || back.Address() != k.Address() {
			t.Fatal("Proto round trip")
		}
		if k.Proto().Type != pb.KeyType(good.Type) {
			t.Fatal("Proto type")
		}
	}
	if ed.Equal(p) || p.Equal(ed) {
		t.Fatal("keys of different types are Equal")
	}
	if got := ed.String(); got != "ed25519:"+hexs(ed.Bytes) {
		t.Fatalf("String() = %q", got)
	}
	_, err := chain.PubKeyFromProto(nil)
	wantErr(t, err, chain.ErrInvalidPubKey)
	_, err = chain.PubKeyFromProto(&pb.PubKey{})
	wantErr(t, err, chain.ErrInvalidPubKey)
	// Both prefixes 02 and 03 are accepted: one of them is p's, the other its negation.
	neg := bytes.Clone(pBytes)
	neg[0] ^= 0x01
	if _, err := chain.NewPubKey(chain.KeyP256, neg); err != nil {
		t.Fatalf("negated point rejected: %v", err)
	}
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestPrivKeyFromBytes(t *testing.T) {
	for _, typ := range []chain.KeyType{chain.KeyEd25519, chain.KeyP256} {
		for i := 0; i < 4; i++ {
			k := newKey(t, typ)
			b := k.Bytes()
			if len(b) != 32 {
				t.Fatalf("%s: storage form has %d bytes, want 32", typ, len(b))
			}
			back, err := chain.PrivKeyFromBytes(typ, b)
			if err != nil {
				t.Fatal(err)
			}
			if !back.PubKey().Equal(k.PubKey()) || !bytes.Equal(back.Bytes(), b) || back.Type() != typ {
				t.Fatalf("%s: PrivKeyFromBytes(Bytes()) is another key", typ)
			}
			msg := []byte{byte(i)}
			sig, _ := back.Sign(msg)
			if !k.PubKey().Verify(msg, sig) {
				t.Fatalf("%s: restored key's signature rejected", typ)
			}
		}
	}
	fixed := fixedKey(t, chain.KeyP256, 0x03)
	if !bytes.Equal(fixed.Bytes(), fill(0x03, 32)) {
		t.Fatalf("P-256 Bytes() = %x", fixed.Bytes())
	}
	small, err := chain.PrivKeyFromBytes(chain.KeyP256, append(make([]byte, 31), 1))
	if err != nil || !bytes.Equal(small.Bytes(), append(make([]byte, 31), 1)) {
		t.Fatalf("scalar 1: %v, Bytes %x (want 32 bytes, left-padded)", err, small.Bytes())
	}

	nMinus1 := new(big.Int).Sub(p256N, big.NewInt(1)).FillBytes(make([]byte, 32))
	if _, err := chain.PrivKeyFromBytes(chain.KeyP256, nMinus1); err != nil {
		t.Fatalf("scalar n-1 rejected: %v", err)
	}
	bad := []struct {
		typ chain.KeyType
		b   []byte
	}{
		{chain.KeyEd25519, nil},
		{chain.KeyEd25519, make([]byte, 31)},
		{chain.KeyEd25519, make([]byte, 64)},
		{chain.KeyP256, nil},
		{chain.KeyP256, make([]byte, 31)},
		{chain.KeyP256, make([]byte, 33)},
		{chain.KeyP256, make([]byte, 32)},                  // zero scalar
		{chain.KeyP256, p256N.FillBytes(make([]byte, 32))}, // n
		{chain.KeyP256, fill(0xff, 32)},                    // over n
		{0, make([]byte, 32)},
		{9, make([]byte, 32)},
	}
	for _, tc := range bad {
		if k, err := chain.PrivKeyFromBytes(tc.typ, tc.b); err == nil {
			t.Errorf("PrivKeyFromBytes(%s, %x) accepted: %s", tc.typ, tc.b, k.PubKey())
		}
	}
	if _, err := chain.GenerateKey(0); err == nil {
		t.Error("GenerateKey(0) succeeded")
	}
}

// A reference for ed25519 points, written with math/big from RFC 8032
// section 5.1.3 and the ZIP-215 decoding rules (y is taken mod p, so
// encodings of y >= p are accepted, and so is x = 0 with the sign bit set),
// to check NewPubKey without the curve library it uses.
var (
	edP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	edD = func() *big.Int {
		d := new(big.Int).ModInverse(big.NewInt(121666), edP)
		d.Mul(d, big.NewInt(-121665))
		return d.Mod(d, edP)
	}()
)

type edPoint struct{ x, y *big.Int }

// edDecode decodes a 32-byte encoding the ZIP-215 way. ok is false when no
// point has that y; canonical is false for y >= p and for x = 0 with the
// sign bit set.
func edDecode(b []byte) (pt edPoint, ok, canonical bool) {
	le := reverse(b)
	sign := le[0] >> 7
	le[0] &= 0x7f
	yRaw := new(big.Int).SetBytes(le)
	y := new(big.Int).Mod(yRaw, edP)
	y2 := new(big.Int).Mul(y, y)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	v := new(big.Int).Mul(edD, y2)
	v.Add(v, big.NewInt(1))
	x2 := new(big.Int).Mul(u, new(big.Int).ModInverse(v.Mod(v, edP), edP))
	x2.Mod(x2, edP)
	x := new(big.Int).ModSqrt(x2, edP)
	if x == nil {
		return edPoint{}, false, false
	}
	if x.Bit(0) != uint(sign) {
		x.Sub(edP, x).Mod(x, edP)
	}
	canonical = yRaw.Cmp(edP) < 0 && !(x.Sign() == 0 && sign == 1)
	return edPoint{x, y}, true, canonical
}

func edAdd(a, b edPoint) edPoint {
	mod := func(v *big.Int) *big.Int { return v.Mod(v, edP) }
	xy := mod(new(big.Int).Mul(mod(new(big.Int).Mul(a.x, b.x)), mod(new(big.Int).Mul(a.y, b.y))))
	dxy := mod(new(big.Int).Mul(edD, xy))
	x := mod(new(big.Int).Add(new(big.Int).Mul(a.x, b.y), new(big.Int).Mul(a.y, b.x)))
	y := mod(new(big.Int).Add(new(big.Int).Mul(a.y, b.y), new(big.Int).Mul(a.x, b.x))) // a = -1: y1y2 - a x1x2
	x = mod(x.Mul(x, new(big.Int).ModInverse(mod(new(big.Int).Add(big.NewInt(1), dxy)), edP)))
	y = mod(y.Mul(y, new(big.Int).ModInverse(mod(new(big.Int).Sub(big.NewInt(1), dxy)), edP)))
	return edPoint{x, y}
}

// edSmallOrder reports whether [8]pt is the identity.
func edSmallOrder(pt edPoint) bool {
	for i := 0; i < 3; i++ {
		pt = edAdd(pt, pt)
	}
	return pt.x.Sign() == 0 && pt.y.Cmp(big.NewInt(1)) == 0
}

// edEncode is the canonical encoding of a point.
func edEncode(pt edPoint) []byte {
	b := reverse(pt.y.FillBytes(make([]byte, 32)))
	b[31] |= byte(pt.x.Bit(0)) << 7
	return b
}

// edAcceptable is what NewPubKey must decide for a 32-byte ed25519 key: a
// curve point (in any encoding ZIP-215 accepts) that is not of small order.
func edAcceptable(b []byte) bool {
	pt, ok, _ := edDecode(b)
	return ok && !edSmallOrder(pt)
}

// The eight points of order dividing 8, canonically encoded: the identity,
// the point of order 2, two of order 4 and four of order 8.
var edSmallOrderCanonical = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity (0, 1)
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // (0, -1), order 2
	"0000000000000000000000000000000000000000000000000000000000000000", // (sqrt(-1), 0), order 4
	"0000000000000000000000000000000000000000000000000000000000000080", // (-sqrt(-1), 0), order 4
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
}

// The six non-canonical encodings of small-order points that ZIP-215
// decoding accepts: x = 0 with the sign bit set, and y + p for y = 0, 1.
var edSmallOrderNonCanonical = []string{
	"0100000000000000000000000000000000000000000000000000000000000080", // identity, sign bit set
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // (0, -1), sign bit set
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p + 1: identity
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = p + 1, sign bit set: identity
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p: order 4
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = p, sign bit set: order 4
}

func edSmallOrderKeys(t testing.TB) [][]byte {
	var out [][]byte
	for _, h := range append(append([]string(nil), edSmallOrderCanonical...), edSmallOrderNonCanonical...) {
		out = append(out, unhex(t, h))
	}
	return out
}

// edNotOnCurve returns a 32-byte encoding of a y that no curve point has.
func edNotOnCurve(t testing.TB) []byte {
	for y := int64(2); y < 1000; y++ {
		b := reverse(big.NewInt(y).FillBytes(make([]byte, 32)))
		if _, ok, _ := edDecode(b); !ok {
			return b
		}
	}
	t.Fatal("no y off the curve found")
	return nil
}

// The reference agrees with the standard library on honest keys, and the
// lists above are what they say.
func TestEd25519Reference(t *testing.T) {
	for i := byte(0); i < 16; i++ {
		pub := fixedKey(t, chain.KeyEd25519, i*17+1).PubKey().Bytes
		pt, ok, canonical := edDecode(pub)
		if !ok || !canonical || edSmallOrder(pt) || !bytes.Equal(edEncode(pt), pub) {
			t.Fatalf("reference decoding of honest key %x", pub)
		}
	}
	seen := map[string]bool{}
	for _, h := range edSmallOrderCanonical {
		pt, ok, canonical := edDecode(unhex(t, h))
		if !ok || !canonical || !edSmallOrder(pt) {
			t.Fatalf("%s: point %v, canonical %v, small order %v", h, ok, canonical, ok && edSmallOrder(pt))
		}
		seen[hx(edEncode(pt))] = true
	}
	// The torsion subgroup has exactly 8 elements: 8 distinct points are all of them.
	if len(seen) != 8 {
		t.Fatalf("%d distinct small-order points, want 8", len(seen))
	}
	for _, h := range edSmallOrderNonCanonical {
		pt, ok, canonical := edDecode(unhex(t, h))
		if !ok || canonical || !edSmallOrder(pt) || !seen[hx(edEncode(pt))] {
			t.Fatalf("%s: not a non-canonical encoding of a small-order point", h)
		}
	}
	// Non-canonical encodings exist only for y < 19 (y + p < 2^255) and for
	// x = 0; enumerate them all and check that the list is complete.
	count := 0
	for y := int64(0); y < 19; y++ {
		for sign := byte(0); sign < 2; sign++ {
			b := reverse(new(big.Int).Add(edP, big.NewInt(y)).FillBytes(make([]byte, 32)))
			b[31] |= sign << 7
			if pt, ok, _ := edDecode(b); ok && edSmallOrder(pt) {
				count++
			}
		}
	}
	if count+2 != len(edSmallOrderNonCanonical) { // +2: the two x = 0 points with the sign bit set
		t.Fatalf("%d non-canonical small-order encodings with y >= p, want %d", count, len(edSmallOrderNonCanonical)-2)
	}
}

// Under ZIP-215 a small-order key A makes [8][k]A vanish, so R = identity,
// S = 0 verifies for every message: anyone could sign for such a key.
// NewPubKey refuses all of them, in every encoding, and so does DecodeTx.
func TestEd25519SmallOrderKeysRejected(t *testing.T) {
	forged := append(unhex(t, edSmallOrderCanonical[0]), make([]byte, 32)...) // R = identity, S = 0
	for _, key := range edSmallOrderKeys(t) {
		// The premise: as a literal (never through NewPubKey) the key
		// verifies the forged signature for any message.
		lit := chain.PubKey{Type: chain.KeyEd25519, Bytes: key}
		if !lit.Verify([]byte("pay everything to mallory"), forged) || !lit.Verify(nil, forged) {
			t.Fatalf("%x: test premise: the forged signature does not verify under ZIP-215", key)
		}
		_, err := chain.NewPubKey(chain.KeyEd25519, key)
		wantErr(t, err, chain.ErrInvalidPubKey)
		_, err = chain.PubKeyFromProto(&pb.PubKey{Type: pb.KeyType_KEY_TYPE_ED25519, Key: key})
		wantErr(t, err, chain.ErrInvalidPubKey)
	}
	// Nor are the bytes accepted as a P-256 key.
	for _, key := range edSmallOrderKeys(t) {
		_, err := chain.NewPubKey(chain.KeyP256, key)
		wantErr(t, err, chain.ErrInvalidPubKey)
	}
}

// A forged tx from the identity key, complete with the body naming its
// address, cannot get through DecodeTx, as tx signer or as co-signer.
func TestDecodeTxRefusesForgeableKey(t *testing.T) {
	k := keys(t)
	forged := append(unhex(t, edSmallOrderCanonical[0]), make([]byte, 32)...) // R = identity, S = 0
	msg := sendMsg(k.a, k.b, "USD", "1000000000000")
	value := marshal(t, msg)
	for _, key := range edSmallOrderKeys(t) {
		evil := chain.PubKey{Type: chain.KeyEd25519, Bytes: key}
		evilAddr := rawAddr(uint64(chain.KeyEd25519), key)
		alone := canonicalBody(testChain, 0, 0, []handMsg{{chain.MsgType(msg), value}}, "", [][]byte{evilAddr})
		if !evil.Verify(chain.SignBytes(alone), forged) {
			t.Fatalf("%x: test premise: forged signature rejected", key)
		}
		_, err := chain.DecodeTx(canonicalTx(alone, []handSig{{1, key, forged}}))
		wantErr(t, err, chain.ErrInvalidPubKey)

		cosigned := canonicalBody(testChain, 0, 0, []handMsg{{chain.MsgType(msg), value}}, "", [][]byte{addr(k.a), evilAddr})
		_, err = chain.DecodeTx(canonicalTx(cosigned, []handSig{hsig(t, k.a, cosigned), {1, key, forged}}))
		wantErr(t, err, chain.ErrInvalidPubKey)
	}
}

func TestNewPubKeyEd25519Points(t *testing.T) {
	// Encodings of a y that no point has.
	var notPoints [][]byte
	for y := int64(2); y < 200 && len(notPoints) < 16; y++ {
		for _, sign := range []byte{0, 0x80} {
			b := reverse(big.NewInt(y).FillBytes(make([]byte, 32)))
			b[31] |= sign
			if _, ok, _ := edDecode(b); !ok {
				notPoints = append(notPoints, b)
			}
		}
	}
	notPoints = append(notPoints, edNotOnCurve(t))
	if len(notPoints) < 8 {
		t.Fatal("test setup: too few non-points")
	}
	for _, b := range notPoints {
		_, err := chain.NewPubKey(chain.KeyEd25519, b)
		wantErr(t, err, chain.ErrInvalidPubKey)
		if (chain.PubKey{Type: chain.KeyEd25519, Bytes: b}).Verify([]byte("m"), make([]byte, 64)) {
			t.Fatalf("%x: a non-point verified a signature", b)
		}
	}
	// Every 32-byte pattern NewPubKey decides agrees with the reference.
	var probes [][]byte
	for y := int64(0); y < 64; y++ {
		for _, add := range []*big.Int{big.NewInt(0), edP} {
			v := new(big.Int).Add(big.NewInt(y), add)
			if v.BitLen() > 255 {
				continue
			}
			for _, sign := range []byte{0, 0x80} {
				b := reverse(v.FillBytes(make([]byte, 32)))
				b[31] |= sign
				probes = append(probes, b)
			}
		}
	}
	probes = append(probes, fill(0xff, 32), fill(0x7f, 32), fill(0, 32), fill(0x80, 32))
	for i := byte(0); i < 8; i++ {
		probes = append(probes, fixedKey(t, chain.KeyEd25519, i+1).PubKey().Bytes)
	}
	for _, b := range probes {
		_, err := chain.NewPubKey(chain.KeyEd25519, b)
		if want := edAcceptable(b); want != (err == nil) {
			t.Errorf("NewPubKey(ed25519, %x): %v, reference says acceptable = %v", b, err, want)
		} else if err != nil {
			wantErr(t, err, chain.ErrInvalidPubKey)
		}
	}
	// A full-order key with a small-order component added is not a
	// small-order point: it is accepted (forging for it still needs the
	// discrete log of its prime-order part).
	a := fixedKey(t, chain.KeyEd25519, 0x01).PubKey().Bytes
	pa, _, _ := edDecode(a)
	for _, h := range edSmallOrderCanonical[1:] {
		tp, _, _ := edDecode(unhex(t, h))
		mixed := edEncode(edAdd(pa, tp))
		if _, err := chain.NewPubKey(chain.KeyEd25519, mixed); err != nil {
			t.Errorf("mixed-order key %x rejected: %v", mixed, err)
		}
	}
}

// A P-256 PubKey built as a literal, not through NewPubKey, parses its point
// when it verifies.
func TestP256LiteralPubKey(t *testing.T) {
	k := fixedKey(t, chain.KeyP256, 0x03)
	msg := []byte("amp-tx-v1\x00body")
	sig, _ := k.Sign(msg)
	lit := chain.PubKey{Type: chain.KeyP256, Bytes: bytes.Clone(k.PubKey().Bytes)}
	if !lit.Equal(k.PubKey()) || lit.Address() != k.PubKey().Address() {
		t.Fatal("literal is not the same key")
	}
	for i := 0; i < 2; i++ { // and again: nothing is cached in a way that breaks a second call
		if !lit.Verify(msg, sig) {
			t.Fatal("literal P-256 key rejected a valid signature")
		}
	}
	if lit.Verify(append(bytes.Clone(msg), 0), sig) {
		t.Fatal("literal P-256 key verified another message")
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	high := append(r.FillBytes(make([]byte, 32)), new(big.Int).Sub(p256N, s).FillBytes(make([]byte, 32))...)
	if lit.Verify(msg, high) {
		t.Fatal("literal P-256 key accepted a high-S signature")
	}
	if other := fixedKey(t, chain.KeyP256, 0x04); (chain.PubKey{Type: chain.KeyP256, Bytes: other.PubKey().Bytes}).Verify(msg, sig) {
		t.Fatal("a literal of another key verified the signature")
	}
	// Literals that NewPubKey would refuse never verify, and never panic.
	for name, b := range map[string][]byte{
		"nil":               nil,
		"x only":            k.PubKey().Bytes[1:],
		"uncompressed":      p256Uncompressed(k.PubKey().Bytes),
		"x not on curve":    notOnCurveX(t),
		"prefix 04":         append([]byte{0x04}, k.PubKey().Bytes[1:]...),
		"x = 2^256-1":       append([]byte{0x02}, fill(0xff, 32)...),
		"compressed, extra": append(bytes.Clone(k.PubKey().Bytes), 0),
	} {
		if (chain.PubKey{Type: chain.KeyP256, Bytes: b}).Verify(msg, sig) {
			t.Errorf("%s: literal verified", name)
		}
	}
	// An ed25519 literal verifies too (no parsed state is involved).
	e := fixedKey(t, chain.KeyEd25519, 0x01)
	esig, _ := e.Sign(msg)
	if !(chain.PubKey{Type: chain.KeyEd25519, Bytes: e.PubKey().Bytes}).Verify(msg, esig) {
		t.Fatal("literal ed25519 key rejected a valid signature")
	}
}
