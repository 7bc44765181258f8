package chain_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

// fill returns n copies of b.
func fill(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// fixedKey restores a private key whose storage form is 32 copies of b.
func fixedKey(t testing.TB, typ chain.KeyType, b byte) chain.PrivKey {
	t.Helper()
	k, err := chain.PrivKeyFromBytes(typ, fill(b, 32))
	if err != nil {
		t.Fatalf("PrivKeyFromBytes(%s, %#x…): %v", typ, b, err)
	}
	return k
}

func newKey(t testing.TB, typ chain.KeyType) chain.PrivKey {
	t.Helper()
	k, err := chain.GenerateKey(typ)
	if err != nil {
		t.Fatalf("GenerateKey(%s): %v", typ, err)
	}
	return k
}

func addr(k chain.PrivKey) []byte {
	a := k.PubKey().Address()
	return a[:]
}

func sendMsg(from, to chain.PrivKey, asset, amount string) *pb.MsgSend {
	return &pb.MsgSend{From: addr(from), To: addr(to), Amount: &pb.Coin{Asset: asset, Amount: amount}}
}

func buildTx(t testing.TB, chainID string, nonce uint64, opts chain.TxOptions, msgs []proto.Message, signers ...chain.PrivKey) []byte {
	t.Helper()
	raw, err := chain.BuildTx(chainID, nonce, opts, msgs, signers...)
	if err != nil {
		t.Fatalf("BuildTx: %v", err)
	}
	return raw
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := chain.Marshal(m)
	if err != nil {
		t.Fatalf("Marshal(%s): %v", chain.MsgType(m), err)
	}
	return b
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// wantErr fails unless err carries want (nil means no error): errors.Is must
// hold and CodeOf must name exactly want.
func wantErr(t testing.TB, err error, want *chain.Error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want %s", want.Reason)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %q does not match %s (code %d)", err, want.Reason, want.Code)
	}
	if got := chain.CodeOf(err); got != want {
		t.Fatalf("CodeOf(%q) = %s, want %s", err, got.Reason, want.Reason)
	}
}

// A minimal protobuf wire encoder, written from the encoding spec and not
// from the protobuf library, to check that the library's canonical output
// is what docs/wire-format.md describes and to craft non-canonical inputs.

func pbVarint(v uint64) []byte {
	var out []byte
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}

func pbKey(field, wireType int) []byte { return pbVarint(uint64(field)<<3 | uint64(wireType)) }

// pbUint is a varint field (wire type 0).
func pbUint(field int, v uint64) []byte { return append(pbKey(field, 0), pbVarint(v)...) }

// pbLen is a length-delimited field (wire type 2).
func pbLen(field int, b []byte) []byte {
	out := append(pbKey(field, 2), pbVarint(uint64(len(b)))...)
	return append(out, b...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// canonicalMsgSend encodes a MsgSend by hand, omitting default fields.
func canonicalMsgSend(from, to []byte, asset, amount string) []byte {
	var coin []byte
	if asset != "" {
		coin = append(coin, pbLen(1, []byte(asset))...)
	}
	if amount != "" {
		coin = append(coin, pbLen(2, []byte(amount))...)
	}
	var out []byte
	if len(from) > 0 {
		out = append(out, pbLen(1, from)...)
	}
	if len(to) > 0 {
		out = append(out, pbLen(2, to)...)
	}
	return append(out, pbLen(3, coin)...)
}

type handMsg struct {
	typ   string
	value []byte
}

// canonicalBody encodes a TxBody by hand; signers are the 20-byte
// addresses the body names, in signature order.
func canonicalBody(chainID string, nonce, timeout uint64, msgs []handMsg, memo string, signers [][]byte) []byte {
	var out []byte
	if chainID != "" {
		out = append(out, pbLen(1, []byte(chainID))...)
	}
	if nonce != 0 {
		out = append(out, pbUint(2, nonce)...)
	}
	if timeout != 0 {
		out = append(out, pbUint(3, timeout)...)
	}
	for _, m := range msgs {
		var mb []byte
		if m.typ != "" {
			mb = append(mb, pbLen(1, []byte(m.typ))...)
		}
		if len(m.value) > 0 {
			mb = append(mb, pbLen(2, m.value)...)
		}
		out = append(out, pbLen(4, mb)...)
	}
	if memo != "" {
		out = append(out, pbLen(5, []byte(memo))...)
	}
	for _, a := range signers { // repeated bytes: every element is written, even an empty one
		out = append(out, pbLen(6, a)...)
	}
	return out
}

// addrs returns the addresses of keys, in order: what BuildTx puts in
// TxBody.signers.
func addrs(ks ...chain.PrivKey) [][]byte {
	out := make([][]byte, len(ks))
	for i, k := range ks {
		out[i] = addr(k)
	}
	return out
}

// rawAddr is the address of a key given as raw type and bytes, computed
// from the definition (SHA-256(type byte || key)[:20]) without validating
// the key.
func rawAddr(typ uint64, key []byte) []byte {
	h := sha256.Sum256(append([]byte{byte(typ)}, key...))
	return h[:20]
}

type handSig struct {
	keyType uint64
	key     []byte
	sig     []byte
}

// canonicalTx encodes a Tx envelope by hand.
func canonicalTx(body []byte, sigs []handSig) []byte {
	var out []byte
	if len(body) > 0 {
		out = append(out, pbLen(1, body)...)
	}
	for _, s := range sigs {
		var pk []byte
		if s.keyType != 0 {
			pk = append(pk, pbUint(1, s.keyType)...)
		}
		if len(s.key) > 0 {
			pk = append(pk, pbLen(2, s.key)...)
		}
		sb := pbLen(1, pk)
		if len(s.sig) > 0 {
			sb = append(sb, pbLen(2, s.sig)...)
		}
		out = append(out, pbLen(2, sb)...)
	}
	return out
}

// refBech32 is an independent BIP-173 encoder used to cross-check addresses.
func refBech32(hrp string, data []byte) string {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	polymod := func(values []int) int {
		gen := []int{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
		chk := 1
		for _, v := range values {
			b := chk >> 25
			chk = (chk&0x1ffffff)<<5 ^ v
			for i := 0; i < 5; i++ {
				if (b>>i)&1 == 1 {
					chk ^= gen[i]
				}
			}
		}
		return chk
	}
	var five []int
	acc, bits := 0, 0
	for _, b := range data {
		acc = acc<<8 | int(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			five = append(five, (acc>>bits)&31)
		}
	}
	if bits > 0 {
		five = append(five, (acc<<(5-bits))&31)
	}
	var values []int
	for _, c := range hrp {
		values = append(values, int(c)>>5)
	}
	values = append(values, 0)
	for _, c := range hrp {
		values = append(values, int(c)&31)
	}
	values = append(values, five...)
	mod := polymod(append(values, 0, 0, 0, 0, 0, 0)) ^ 1
	var sb strings.Builder
	sb.WriteString(hrp + "1")
	for _, v := range five {
		sb.WriteByte(charset[v])
	}
	for i := 0; i < 6; i++ {
		sb.WriteByte(charset[(mod>>(5*(5-i)))&31])
	}
	return sb.String()
}

// p256Uncompressed expands a compressed P-256 key to 0x04 || X || Y, or nil
// when it is not a point.
func p256Uncompressed(compressed []byte) []byte {
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), compressed)
	if x == nil {
		return nil
	}
	out := make([]byte, 65)
	out[0] = 4
	x.FillBytes(out[1:33])
	y.FillBytes(out[33:])
	return out
}

// stdP256Pub parses a compressed key with the standard library alone.
func stdP256Pub(t testing.TB, compressed []byte) *ecdsa.PublicKey {
	t.Helper()
	pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), p256Uncompressed(compressed))
	if err != nil {
		t.Fatalf("parse p256 key %x: %v", compressed, err)
	}
	return pk
}

// stdP256FromScalar derives the public key of a scalar with the standard
// library and returns it with its compressed form.
func stdP256FromScalar(t testing.TB, scalar []byte) (*ecdsa.PublicKey, []byte) {
	t.Helper()
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar)
	if err != nil {
		t.Fatal(err)
	}
	u, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	c := make([]byte, 33)
	c[0] = 2 | u[64]&1
	copy(c[1:], u[1:33])
	return &k.PublicKey, c
}
