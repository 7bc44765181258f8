package chain_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

// Seeds shared by the fuzz targets. Committed inputs live in
// testdata/fuzz/<FuzzName>/ and run with every `go test`; those of
// FuzzDecodeTx are the named txSeeds, written by
// `go test ./chain -run TestFuzzDecodeTxCorpus -update`.

type txSeed struct {
	file string       // name under testdata/fuzz/FuzzDecodeTx, or "" when not committed
	raw  []byte       // tx bytes
	err  *chain.Error // what DecodeTx, then VerifySignatures, gives; nil for a valid tx
}

func txSeeds(tb testing.TB) []txSeed {
	k := keys(tb)
	send := sendMsg(k.a, k.b, "USD", "1000000000000")
	mint := &pb.MsgMint{Issuer: addr(k.a), To: addr(k.b), Amount: &pb.Coin{Asset: "USD", Amount: "5"}}
	burn := &pb.MsgBurn{From: addr(k.a), Amount: &pb.Coin{Asset: "USD", Amount: "1"}}
	valid := buildTx(tb, testChain, 0, chain.TxOptions{}, []proto.Message{send}, k.a)
	cosigned := buildTx(tb, testChain, 1, chain.TxOptions{}, []proto.Message{send}, k.a, k.d)

	// cosigned with its two signature entries swapped.
	var env pb.Tx
	if err := proto.Unmarshal(cosigned, &env); err != nil {
		tb.Fatal(err)
	}
	env.Signatures[0], env.Signatures[1] = env.Signatures[1], env.Signatures[0]
	swapped := marshal(tb, &env)

	// valid with b's own signature over its body appended.
	if err := proto.Unmarshal(valid, &env); err != nil {
		tb.Fatal(err)
	}
	appended := cat(valid, pbLen(2, marshal(tb, &pb.Signature{PubKey: k.b.PubKey().Proto(), Sig: sign(tb, k.b, env.Body)})))

	// The identity key with R = identity, S = 0, which ZIP-215 verifies for
	// any message; the body names the key's address.
	identity := append([]byte{1}, make([]byte, 31)...)
	forgedBody := canonicalBody(testChain, 0, 0, []handMsg{{chain.MsgType(send), marshal(tb, send)}}, "", [][]byte{rawAddr(1, identity)})
	forged := canonicalTx(forgedBody, []handSig{{1, identity, append(bytes.Clone(identity), make([]byte, 32)...)}})

	return []txSeed{
		{"ed25519_send", valid, nil},
		{"timeout_and_memo", buildTx(tb, testChain, 300, chain.TxOptions{TimeoutHeight: 1000, Memo: "invoice 42 ☕"}, []proto.Message{send}, k.a), nil},
		{"ed25519_with_p256_cosigner", cosigned, nil},
		{"three_signers_three_msgs", buildTx(tb, testChain, 2, chain.TxOptions{}, []proto.Message{send, mint, burn}, k.d, k.b, k.a), nil},
		{"unknown_field_appended", cat(valid, pbUint(3, 1)), chain.ErrTxDecode},
		{"signatures_swapped", swapped, chain.ErrSignerMismatch},
		{"unnamed_cosignature_appended", appended, chain.ErrSignerMismatch},
		{"identity_key_forgery", forged, chain.ErrInvalidPubKey},
		{"", valid[:len(valid)/2], chain.ErrTxDecode},
		{"", nil, chain.ErrNoSignature},
		{"", []byte{0x0a, 0x00}, chain.ErrTxDecode}, // explicit empty body
		{"", []byte{0x12, 0x00}, chain.ErrNoMsgs},   // an empty signature and no body
	}
}

const txCorpusDir = "testdata/fuzz/FuzzDecodeTx"

func corpusFile(raw []byte) []byte { return []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", raw)) }

// TestFuzzDecodeTxCorpus checks that each committed FuzzDecodeTx seed is
// still what its name says (FuzzDecodeTx itself takes valid and invalid
// inputs alike, so it would not notice a valid seed going stale after a
// wire-format change). With -update it rewrites the files from txSeeds.
func TestFuzzDecodeTxCorpus(t *testing.T) {
	for _, seed := range txSeeds(t) {
		if seed.file == "" {
			continue
		}
		path := filepath.Join(txCorpusDir, seed.file)
		if *update {
			if err := os.WriteFile(path, corpusFile(seed.raw), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run `go test ./chain -run TestFuzzDecodeTxCorpus -update`)", err)
		}
		text, ok := strings.CutPrefix(string(data), "go test fuzz v1\n[]byte(")
		if ok {
			text, ok = strings.CutSuffix(strings.TrimRight(text, "\n"), ")")
		}
		raw, err := strconv.Unquote(text)
		if !ok || err != nil {
			t.Fatalf("%s: not a corpus file of one []byte: %v", path, err)
		}
		tx, err := chain.DecodeTx([]byte(raw))
		if err == nil {
			err = tx.VerifySignatures()
		}
		if seed.err == nil && err != nil {
			t.Errorf("%s: a valid seed is rejected: %v (run `go test ./chain -run TestFuzzDecodeTxCorpus -update`)", seed.file, err)
		} else if seed.err != nil && chain.CodeOf(err) != seed.err {
			t.Errorf("%s: got %v, want %s", seed.file, err, seed.err.Reason)
		}
	}
	// Every seed, committed or not, is what it says.
	for _, seed := range txSeeds(t) {
		tx, err := chain.DecodeTx(seed.raw)
		if err == nil {
			err = tx.VerifySignatures()
		}
		if seed.err == nil && err != nil {
			t.Errorf("seed %q: %v", seed.file, err)
		} else if seed.err != nil && chain.CodeOf(err) != seed.err {
			t.Errorf("seed %q %x: got %v, want %s", seed.file, seed.raw, err, seed.err.Reason)
		}
	}
}

func FuzzDecodeTx(f *testing.F) {
	for _, s := range txSeeds(f) {
		f.Add(s.raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		tx, err := chain.DecodeTx(raw)
		if err != nil {
			if tx != nil {
				t.Fatal("DecodeTx returned a tx with its error")
			}
			if chain.CodeOf(err) == chain.ErrInternal {
				t.Fatalf("DecodeTx error without a specific code: %v", err)
			}
			return
		}
		// One tx, one encoding: re-encoding what was decoded gives the input.
		env := &pb.Tx{Body: tx.BodyBytes}
		for i, k := range tx.Signers {
			env.Signatures = append(env.Signatures, &pb.Signature{PubKey: k.Proto(), Sig: tx.Sigs[i]})
		}
		again, err := chain.Marshal(env)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, raw) {
			t.Fatalf("accepted a non-canonical tx:\n in  %x\n out %x", raw, again)
		}
		body, err := chain.Marshal(tx.Body)
		if err != nil || !bytes.Equal(body, tx.BodyBytes) {
			t.Fatalf("body does not re-encode to BodyBytes: %v", err)
		}
		if tx.Hash != sha256.Sum256(raw) {
			t.Fatal("Hash is not SHA-256 of the input")
		}
		if len(raw) > chain.MaxTxBytes || len(tx.Signers) == 0 || len(tx.Signers) > chain.MaxSignatures ||
			len(tx.Signers) != len(tx.Sigs) || len(tx.Body.Msgs) == 0 || len(tx.Body.Msgs) > chain.MaxMsgs ||
			len(tx.Body.Memo) > chain.MaxMemoBytes || tx.Body.ChainId == "" || len(tx.Body.ChainId) > chain.MaxChainIDLen {
			t.Fatal("a limit does not hold on an accepted tx")
		}
		if len(tx.Body.Signers) != len(tx.Signers) {
			t.Fatalf("body names %d signers, tx has %d signatures", len(tx.Body.Signers), len(tx.Signers))
		}
		for i, k := range tx.Signers {
			if _, err := chain.NewPubKey(k.Type, k.Bytes); err != nil {
				t.Fatalf("signer %d: %v", i, err)
			}
			if a := k.Address(); !bytes.Equal(a[:], tx.Body.Signers[i]) {
				t.Fatalf("signature %d is by %s, the body names %x", i, a, tx.Body.Signers[i])
			}
			if k.Type == chain.KeyEd25519 && !edAcceptable(k.Bytes) {
				t.Fatalf("signer %d: ed25519 key %x is small-order or not a point", i, k.Bytes)
			}
			for j := 0; j < i; j++ {
				if tx.Signers[j].Equal(k) {
					t.Fatal("duplicate signer accepted")
				}
			}
		}
		if err := tx.VerifySignatures(); err != nil && !errors.Is(err, chain.ErrInvalidSignature) {
			t.Fatalf("VerifySignatures: %v", err)
		}
	})
}

// refDecimal is the specification of ParseDecimal, written with math/big.
func refDecimal(s string, decimals uint8) (*big.Int, *chain.Error) {
	if decimals > chain.MaxDecimals {
		return nil, chain.ErrInvalidAmount
	}
	whole, frac, dot := strings.Cut(s, ".")
	digits := func(p string) bool {
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
		return true
	}
	if whole == "" || (dot && frac == "") || !digits(whole) || !digits(frac) || len(frac) > int(decimals) {
		return nil, chain.ErrInvalidAmount
	}
	v, _ := new(big.Int).SetString(whole+frac+strings.Repeat("0", int(decimals)-len(frac)), 10)
	if v.Cmp(maxU256) > 0 {
		return nil, chain.ErrOverflow
	}
	return v, nil
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0.000001", "1000.000001", "0", "1", "12.5", "1.", ".5", "+1", "-1", " 1", "", "1e5",
		"007.700", maxFrac, overFrac, maxStr, over256, "0.000000000000000000000000000000000001"} {
		for _, d := range []uint8{0, 2, 6, 18, 36, 37} {
			f.Add(s, d)
		}
	}
	f.Fuzz(func(t *testing.T, s string, decimals uint8) {
		a, err := chain.ParseDecimal(s, decimals)
		want, wantCode := refDecimal(s, decimals)
		if wantCode != nil {
			if err == nil {
				t.Fatalf("ParseDecimal(%q, %d) = %s, want %s", s, decimals, a, wantCode.Reason)
			}
			if chain.CodeOf(err) != wantCode {
				t.Fatalf("ParseDecimal(%q, %d): %v, want %s", s, decimals, err, wantCode.Reason)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseDecimal(%q, %d): %v, want %s", s, decimals, err, want)
		}
		if a.String() != want.String() {
			t.Fatalf("ParseDecimal(%q, %d) = %s, want %s", s, decimals, a, want)
		}
		out := chain.FormatDecimal(a, decimals)
		back, err := chain.ParseDecimal(out, decimals)
		if err != nil || back.Cmp(a) != 0 {
			t.Fatalf("FormatDecimal(%s, %d) = %q reads back as %s, %v", a, decimals, out, back, err)
		}
		// The printed form is canonical: printing it again is a fixed point,
		// without leading zeros or trailing fractional zeros.
		if chain.FormatDecimal(back, decimals) != out || (len(out) > 1 && out[0] == '0' && out[1] != '.') ||
			(strings.Contains(out, ".") && strings.HasSuffix(out, "0")) {
			t.Fatalf("FormatDecimal(%s, %d) = %q is not canonical", a, decimals, out)
		}
	})
}

func FuzzParseBaseUnits(f *testing.F) {
	for _, s := range []string{"0", "00", "01", "1", "1000000000000", "-1", "+1", "1.0", "", maxStr, over256} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := chain.ParseBaseUnits(s)
		canonical := s != "" && strings.Trim(s, "0123456789") == "" && (s == "0" || s[0] != '0')
		if err != nil {
			v, ok := new(big.Int).SetString(s, 10)
			if canonical && ok && v.Cmp(maxU256) <= 0 {
				t.Fatalf("ParseBaseUnits(%q) rejected a canonical amount: %v", s, err)
			}
			if c := chain.CodeOf(err); c != chain.ErrInvalidAmount && c != chain.ErrOverflow {
				t.Fatalf("ParseBaseUnits(%q): %v", s, err)
			}
			return
		}
		if !canonical || a.String() != s {
			t.Fatalf("ParseBaseUnits(%q) accepted and prints %q", s, a)
		}
	})
}

func FuzzParseAddress(f *testing.F) {
	k := keys(f)
	for _, s := range []string{
		k.a.PubKey().Address().String(),
		strings.ToUpper(k.d.PubKey().Address().String()),
		refBech32("amp", make([]byte, 20)),
		refBech32("cosmos", addr(k.a)),
		refBech32("amp", addr(k.a)[:19]),
		"amp1", "", "a12uel5l",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := chain.ParseAddress(s)
		if err != nil {
			if !errors.Is(err, chain.ErrInvalidAddress) {
				t.Fatalf("ParseAddress(%q): %v is not invalid_address", s, err)
			}
			return
		}
		if a.IsZero() {
			t.Fatalf("ParseAddress(%q) accepted the zero address", s)
		}
		// One address, one text form (up to BIP-173's all-upper-case form).
		if a.String() != strings.ToLower(s) {
			t.Fatalf("ParseAddress(%q) prints as %q", s, a)
		}
		if a.String() != refBech32("amp", a[:]) {
			t.Fatal("String differs from the reference encoder")
		}
		back, err := chain.ParseAddress(a.String())
		if err != nil || back != a {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzP256Verify(f *testing.F) {
	k := keys(f)
	msg := []byte("amp-tx-v1\x00body")
	sig, _ := k.d.Sign(msg)
	pub := k.d.PubKey().Bytes
	f.Add(pub, sig, msg)
	f.Add(pub, sig, msg[:3])
	f.Add(pub, append(sig[:32:32], p256N.Bytes()...), msg)
	f.Add(p256Uncompressed(pub), sig, msg)
	f.Add(append([]byte{0x02}, fill(0xff, 32)...), fill(0xff, 64), []byte{})
	f.Add([]byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, key, sig, msg []byte) {
		p, err := chain.NewPubKey(chain.KeyP256, key)
		if err != nil {
			if !errors.Is(err, chain.ErrInvalidPubKey) {
				t.Fatalf("NewPubKey: %v", err)
			}
			p = k.d.PubKey() // still exercise Verify on the fuzzed signature
		} else if len(key) != 33 {
			t.Fatalf("NewPubKey accepted a %d-byte P-256 key", len(key))
		}
		if p.Verify(msg, sig) {
			if len(sig) != 64 || new(big.Int).SetBytes(sig[32:]).Cmp(p256Half) > 0 {
				t.Fatalf("Verify accepted a malformed or high-S signature %x", sig)
			}
		}
		// A literal with the same bytes parses them itself: it agrees with
		// NewPubKey's key, and never verifies bytes NewPubKey refuses.
		lit := (chain.PubKey{Type: chain.KeyP256, Bytes: key}).Verify(msg, sig)
		if err == nil && lit != p.Verify(msg, sig) {
			t.Fatalf("literal key %x: Verify = %v, NewPubKey's key says %v", key, lit, !lit)
		}
		if err != nil && lit {
			t.Fatalf("literal of refused key %x verified", key)
		}
		// The same bytes as an ed25519 key never panic either.
		if e, err := chain.NewPubKey(chain.KeyEd25519, key); err == nil {
			e.Verify(msg, sig)
		}
	})
}

// FuzzNewPubKeyEd25519 checks NewPubKey's ed25519 decision against the
// math/big reference of keys_test.go: a curve point, in any encoding
// ZIP-215 accepts, that is not of small order.
func FuzzNewPubKeyEd25519(f *testing.F) {
	for _, k := range edSmallOrderKeys(f) {
		f.Add(k)
	}
	f.Add(fixedKey(f, chain.KeyEd25519, 0x01).PubKey().Bytes)
	f.Add(edNotOnCurve(f))
	f.Add(fill(0xff, 32))
	f.Add(fill(0x7f, 32))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, key []byte) {
		k, err := chain.NewPubKey(chain.KeyEd25519, key)
		want := len(key) == 32 && edAcceptable(key)
		if want != (err == nil) {
			t.Fatalf("NewPubKey(ed25519, %x): %v, reference says acceptable = %v", key, err, want)
		}
		if err != nil {
			if !errors.Is(err, chain.ErrInvalidPubKey) {
				t.Fatalf("NewPubKey: %v", err)
			}
			return
		}
		// R = identity, S = 0 never verifies for an accepted key.
		if k.Verify([]byte("m"), append(append([]byte{1}, make([]byte, 31)...), make([]byte, 32)...)) {
			t.Fatalf("key %x accepted and forgeable", key)
		}
	})
}
