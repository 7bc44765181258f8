package chain_test

import (
	"bytes"
	"crypto/ecdsa"
	stded25519 "crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

// The wire-format test vectors of docs/testvectors/tx-vectors.json, for
// clients written in other languages. `go test ./chain -run TestTxVectors
// -update` rewrites the file; without -update the test fails when the code
// and the file disagree.

var update = flag.Bool("update", false, "rewrite docs/testvectors/tx-vectors.json (TestTxVectors) and the FuzzDecodeTx seed files (TestFuzzDecodeTxCorpus)")

const vectorsPath = "../docs/testvectors/tx-vectors.json"

type vectorFile struct {
	Format     string          `json:"format"`
	Notes      []string        `json:"notes"`
	SignDomain string          `json:"sign_domain"`
	Vectors    []txVector      `json:"vectors"`
	Invalid    []invalidVector `json:"invalid"`
}

type txVector struct {
	Description   string      `json:"description"`
	ChainID       string      `json:"chain_id"`
	Nonce         string      `json:"nonce"`
	TimeoutHeight string      `json:"timeout_height"`
	Memo          string      `json:"memo"`
	Messages      []vecMsg    `json:"messages"`
	Signers       []vecSigner `json:"signers"`
	BodyBytes     string      `json:"body_bytes"`
	SignBytes     string      `json:"sign_bytes"`
	TxBytes       string      `json:"tx_bytes"`
	TxHash        string      `json:"tx_hash"`
}

type vecMsg struct {
	Type   string     `json:"type"`
	Fields sendFields `json:"fields"`
	Value  string     `json:"value"`
}

// sendFields is a MsgSend in readable form; the amount is in base units.
type sendFields struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Asset  string `json:"asset"`
	Amount string `json:"amount"`
}

type vecSigner struct {
	KeyType       string `json:"key_type"`
	KeyTypeNumber int    `json:"key_type_number"`
	PrivateKey    string `json:"private_key"`
	PublicKey     string `json:"public_key"`
	Address       string `json:"address"`
	AddressBytes  string `json:"address_bytes"`
	Signature     string `json:"signature"`
	Deterministic bool   `json:"signature_is_deterministic"`
}

type invalidVector struct {
	Description string `json:"description"`
	TxBytes     string `json:"tx_bytes"`
	Stage       string `json:"stage"` // "decode" or "verify"
	Error       string `json:"error"`
	Code        uint32 `json:"code"`
}

// The fixed keys of the vectors.
var (
	vecKeyA = fill(0x01, 32) // ed25519 seed
	vecKeyB = fill(0x02, 32) // ed25519 seed
	vecKeyD = fill(0x03, 32) // P-256 scalar
)

type vecSpec struct {
	desc    string
	chainID string
	nonce   uint64
	timeout uint64
	memo    string
	sends   []sendSpec
	signers []chain.PrivKey
}

type sendSpec struct {
	from, to chain.PrivKey
	amount   string
}

func vecKeys(t testing.TB) (a, b, d chain.PrivKey) {
	var err error
	if a, err = chain.PrivKeyFromBytes(chain.KeyEd25519, vecKeyA); err != nil {
		t.Fatal(err)
	}
	if b, err = chain.PrivKeyFromBytes(chain.KeyEd25519, vecKeyB); err != nil {
		t.Fatal(err)
	}
	if d, err = chain.PrivKeyFromBytes(chain.KeyP256, vecKeyD); err != nil {
		t.Fatal(err)
	}
	return a, b, d
}

func vecSpecs(t testing.TB) []vecSpec {
	a, b, d := vecKeys(t)
	const id = "amp-test-1"
	return []vecSpec{
		{desc: "ed25519 tx signer, one bank MsgSend of 0.000001 USD (10^12 base units)", chainID: id, nonce: 0,
			sends: []sendSpec{{a, b, "1000000000000"}}, signers: []chain.PrivKey{a}},
		{desc: "ed25519 tx signer, timeout height and UTF-8 memo, MsgSend of 1000.000001 USD", chainID: id, nonce: 300, timeout: 1000000,
			memo: "invoice 42 ☕", sends: []sendSpec{{a, b, "1000000001000000000000"}}, signers: []chain.PrivKey{a}},
		{desc: "two signers: ed25519 tx signer and P-256 co-signer (a device approving the payment)", chainID: id, nonce: 1,
			sends: []sendSpec{{a, b, "250000000000000000000"}}, signers: []chain.PrivKey{a, d}},
		{desc: "P-256 tx signer, MsgSend of 1 base unit", chainID: id, nonce: 0,
			sends: []sendSpec{{d, a, "1"}}, signers: []chain.PrivKey{d}},
		{desc: "two messages in one tx, applied in order", chainID: id, nonce: 2,
			sends: []sendSpec{{a, b, "5000000000000000000"}, {a, d, "7"}}, signers: []chain.PrivKey{a}},
	}
}

func hx(b []byte) string { return hex.EncodeToString(b) }

// recordedSig returns the P-256 signature stored for a vector's signer if
// it still verifies, so that -update does not churn randomised signatures.
func recordedSig(old *vectorFile, desc string, i int, k chain.PrivKey, signBytes []byte) []byte {
	if old == nil {
		return nil
	}
	for _, v := range old.Vectors {
		if v.Description != desc || i >= len(v.Signers) || v.Signers[i].PublicKey != hx(k.PubKey().Bytes) {
			continue
		}
		sig, err := hex.DecodeString(v.Signers[i].Signature)
		if err == nil && k.PubKey().Verify(signBytes, sig) {
			return sig
		}
	}
	return nil
}

func buildVectors(t testing.TB, old *vectorFile) *vectorFile {
	out := &vectorFile{
		Format: "amp wire format v1",
		Notes: []string{
			"Generated by `go test ./chain -run TestTxVectors -update`; described in docs/wire-format.md.",
			"All byte strings are lower-case hex. nonce and timeout_height are decimal strings (uint64).",
			"private_key is the ed25519 seed (32 bytes) or the P-256 scalar (32 bytes, big-endian).",
			"The body's signers field (6) holds the address_bytes of the signers, in the order of the signatures.",
			"ed25519 signatures are deterministic: an implementation must reproduce signature, tx_bytes and tx_hash exactly.",
			"P-256 signatures are randomised: check that the recorded one verifies and that your own signature verifies and has s <= n/2; tx_bytes and tx_hash are reproducible given the recorded signature.",
			"invalid: txs that a conforming decoder must reject at the given stage with the given error code.",
		},
		SignDomain: hx(chain.SignBytes(nil)),
	}
	for _, s := range vecSpecs(t) {
		body := &pb.TxBody{ChainId: s.chainID, Nonce: s.nonce, TimeoutHeight: s.timeout, Memo: s.memo}
		for _, k := range s.signers {
			a := k.PubKey().Address()
			body.Signers = append(body.Signers, a[:])
		}
		v := txVector{Description: s.desc, ChainID: s.chainID, Nonce: strconv.FormatUint(s.nonce, 10),
			TimeoutHeight: strconv.FormatUint(s.timeout, 10), Memo: s.memo}
		for _, m := range s.sends {
			msg := &pb.MsgSend{From: addr(m.from), To: addr(m.to), Amount: &pb.Coin{Asset: "USD", Amount: m.amount}}
			value := marshal(t, msg)
			body.Msgs = append(body.Msgs, &pb.Msg{Type: chain.MsgType(msg), Value: value})
			v.Messages = append(v.Messages, vecMsg{Type: chain.MsgType(msg), Value: hx(value), Fields: sendFields{
				From: m.from.PubKey().Address().String(), To: m.to.PubKey().Address().String(), Asset: "USD", Amount: m.amount}})
		}
		bodyBytes := marshal(t, body)
		signBytes := chain.SignBytes(bodyBytes)
		env := &pb.Tx{Body: bodyBytes}
		for i, k := range s.signers {
			sig := recordedSig(old, s.desc, i, k, signBytes)
			if sig == nil {
				var err error
				if sig, err = k.Sign(signBytes); err != nil {
					t.Fatal(err)
				}
			}
			env.Signatures = append(env.Signatures, &pb.Signature{PubKey: k.PubKey().Proto(), Sig: sig})
			a := k.PubKey().Address()
			v.Signers = append(v.Signers, vecSigner{
				KeyType: k.Type().String(), KeyTypeNumber: int(k.Type()), PrivateKey: hx(k.Bytes()),
				PublicKey: hx(k.PubKey().Bytes), Address: a.String(), AddressBytes: hx(a[:]),
				Signature: hx(sig), Deterministic: k.Type() == chain.KeyEd25519,
			})
		}
		raw := marshal(t, env)
		h := chain.TxHash(raw)
		v.BodyBytes, v.SignBytes, v.TxBytes, v.TxHash = hx(bodyBytes), hx(signBytes), hx(raw), hx(h[:])
		out.Vectors = append(out.Vectors, v)
	}
	out.Invalid = buildInvalid(t, out.Vectors)
	return out
}

func buildInvalid(t testing.TB, vs []txVector) []invalidVector {
	a, b, _ := vecKeys(t)
	first := vs[0]
	body1 := unhexT(t, first.BodyBytes)
	raw1 := unhexT(t, first.TxBytes)
	var env1 pb.Tx
	if err := proto.Unmarshal(raw1, &env1); err != nil {
		t.Fatal(err)
	}
	sigMsg1 := marshal(t, env1.Signatures[0])
	signed := func(body []byte) []byte { // an envelope with a's valid signature over body
		sig, _ := a.Sign(chain.SignBytes(body))
		return canonicalTx(body, []handSig{{1, a.PubKey().Bytes, sig}})
	}
	var b1 pb.TxBody
	if err := proto.Unmarshal(body1, &b1); err != nil {
		t.Fatal(err)
	}

	// Vector 2's nonce 300 is the varint ac 02; ac 82 00 is a longer encoding of it.
	body2 := unhexT(t, vs[1].BodyBytes)
	nonce300 := []byte{0x10, 0xac, 0x02}
	i := bytes.Index(body2, nonce300)
	if i < 0 {
		t.Fatal("vector 2: nonce field not found")
	}
	body2Long := cat(body2[:i], []byte{0x10, 0xac, 0x82, 0x00}, body2[i+3:])

	// Vector 3 with its P-256 co-signature turned into its high-S twin.
	var env3 pb.Tx
	if err := proto.Unmarshal(unhexT(t, vs[2].TxBytes), &env3); err != nil {
		t.Fatal(err)
	}
	// Vector 3 with its two signature entries swapped (the co-signer would
	// become the tx signer), and without its co-signature.
	swapped := proto.Clone(&env3).(*pb.Tx)
	swapped.Signatures[0], swapped.Signatures[1] = swapped.Signatures[1], swapped.Signatures[0]
	dropped := proto.Clone(&env3).(*pb.Tx)
	dropped.Signatures = dropped.Signatures[:1]
	sig := env3.Signatures[1].Sig
	r, s := sig[:32], new(big.Int).SetBytes(sig[32:])
	env3.Signatures[1].Sig = append(bytes.Clone(r), new(big.Int).Sub(p256N, s).FillBytes(make([]byte, 32))...)

	noDomain, _ := a.Sign(body1)
	tampered := proto.Clone(&b1).(*pb.TxBody)
	tampered.Nonce = 1
	emptyChain := proto.Clone(&b1).(*pb.TxBody)
	emptyChain.ChainId = ""

	// Vector 1's body naming a twice, with a's signature entry twice: each
	// signature is by the key its entry names, so duplicate detection is
	// what rejects it.
	twice := proto.Clone(&b1).(*pb.TxBody)
	twice.Signers = append(twice.Signers, twice.Signers[0])
	twiceBody := marshal(t, twice)
	twiceSig, _ := a.Sign(chain.SignBytes(twiceBody))
	twiceSigMsg := marshal(t, &pb.Signature{PubKey: a.PubKey().Proto(), Sig: twiceSig})

	// A relay appends b's own valid signature over vector 1's body.
	bSig, _ := b.Sign(chain.SignBytes(body1))
	bSigMsg := marshal(t, &pb.Signature{PubKey: b.PubKey().Proto(), Sig: bSig})

	// The identity point as an ed25519 key, with R = identity and S = 0:
	// under ZIP-215 this verifies for every message, so such keys are
	// refused. The body names the key's address.
	identity := append([]byte{1}, make([]byte, 31)...)
	forgedBody := proto.Clone(&b1).(*pb.TxBody)
	forgedBody.Signers = [][]byte{rawAddr(1, identity)}
	forged := canonicalTx(marshal(t, forgedBody), []handSig{{1, identity, append(bytes.Clone(identity), make([]byte, 32)...)}})

	type inv struct {
		desc  string
		raw   []byte
		stage string
		err   *chain.Error
	}
	list := []inv{
		{"vector 1 with an unknown field (15, varint 1) appended to the envelope", cat(raw1, pbUint(15, 1)), "decode", chain.ErrTxDecode},
		{"vector 1 with the envelope's fields in reverse order (signatures before body)", cat(pbLen(2, sigMsg1), pbLen(1, body1)), "decode", chain.ErrTxDecode},
		{"vector 1's body with an explicit default nonce field (10 00), validly signed", signed(cat(body1[:2+len(first.ChainID)], pbUint(2, 0), body1[2+len(first.ChainID):])), "decode", chain.ErrTxDecode},
		{"vector 2's body with nonce 300 as the non-minimal varint ac 82 00, validly signed", signed(body2Long), "decode", chain.ErrTxDecode},
		{"vector 1's body with an empty chain id, validly signed", signed(marshal(t, emptyChain)), "decode", chain.ErrWrongChainID},
		{"vector 1 without its signature", canonicalTx(body1, nil), "decode", chain.ErrNoSignature},
		{"vector 1's body with its signer named twice in signers, and the same signature entry twice", cat(pbLen(1, twiceBody), pbLen(2, twiceSigMsg), pbLen(2, twiceSigMsg)), "decode", chain.ErrDuplicateSigner},
		{"vector 1 with its signature entry twice, the body naming its signer once", cat(raw1, pbLen(2, sigMsg1)), "decode", chain.ErrSignerMismatch},
		{"vector 3 with its two signature entries swapped relative to the body's signers", marshal(t, swapped), "decode", chain.ErrSignerMismatch},
		{"vector 1 with a valid co-signature by seed 02 appended that the body does not name", cat(raw1, pbLen(2, bSigMsg)), "decode", chain.ErrSignerMismatch},
		{"vector 3 without its P-256 co-signature", marshal(t, dropped), "decode", chain.ErrSignerMismatch},
		{"vector 1's body naming the ed25519 identity key (01 00…00), signed by it with R = identity, S = 0 (verifies for any message under ZIP-215)", forged, "decode", chain.ErrInvalidPubKey},
		{"vector 1's body with nonce 1 under vector 1's signature (tampered body)", canonicalTx(marshal(t, tampered), []handSig{{1, a.PubKey().Bytes, env1.Signatures[0].Sig}}), "verify", chain.ErrInvalidSignature},
		{"vector 1 signed over the body bytes without the sign domain tag", canonicalTx(body1, []handSig{{1, a.PubKey().Bytes, noDomain}}), "verify", chain.ErrInvalidSignature},
		{"vector 3 with the P-256 co-signature's s replaced by n - s (high-S twin, valid ECDSA but rejected)", marshal(t, &env3), "verify", chain.ErrInvalidSignature},
	}
	out := make([]invalidVector, len(list))
	for i, v := range list {
		out[i] = invalidVector{Description: v.desc, TxBytes: hx(v.raw), Stage: v.stage, Error: v.err.Reason, Code: v.err.Code}
	}
	return out
}

func unhexT(t testing.TB, s string) []byte { return unhex(t, s) }

func encodeVectors(t testing.TB, f *vectorFile) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTxVectors(t *testing.T) {
	data, err := os.ReadFile(vectorsPath)
	var old *vectorFile
	switch {
	case err == nil:
		old = new(vectorFile)
		if err := json.Unmarshal(data, old); err != nil {
			t.Fatalf("%s: %v", vectorsPath, err)
		}
	case !*update:
		t.Fatalf("%v (run `go test ./chain -run TestTxVectors -update` to create it)", err)
	}
	got := buildVectors(t, old)
	enc := encodeVectors(t, got)
	if *update {
		if err := os.WriteFile(vectorsPath, enc, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", vectorsPath)
	} else if !bytes.Equal(enc, data) {
		diffVectors(t, old, got)
		t.Fatalf("%s is out of date with the code: if the change is intended (a wire format change!), run `go test ./chain -run TestTxVectors -update`", vectorsPath)
	}
	// Check what clients will read, not just what was generated.
	var file vectorFile
	if err := json.Unmarshal(enc, &file); err != nil {
		t.Fatal(err)
	}
	checkVectorFile(t, &file)
}

func diffVectors(t *testing.T, old, got *vectorFile) {
	t.Helper()
	if len(old.Vectors) != len(got.Vectors) || len(old.Invalid) != len(got.Invalid) {
		t.Errorf("vector count: file %d+%d, code %d+%d", len(old.Vectors), len(old.Invalid), len(got.Vectors), len(got.Invalid))
		return
	}
	for i := range got.Vectors {
		a, _ := json.Marshal(old.Vectors[i])
		b, _ := json.Marshal(got.Vectors[i])
		if !bytes.Equal(a, b) {
			t.Errorf("vector %d (%s):\n file %s\n code %s", i+1, got.Vectors[i].Description, a, b)
		}
	}
	for i := range got.Invalid {
		if old.Invalid[i] != got.Invalid[i] {
			t.Errorf("invalid vector %d:\n file %+v\n code %+v", i+1, old.Invalid[i], got.Invalid[i])
		}
	}
}

// checkVectorFile re-derives every vector from its parts with independent
// code (the standard library and the hand encoder of helpers_test.go) and
// runs the tx bytes through DecodeTx and VerifySignatures.
func checkVectorFile(t *testing.T, f *vectorFile) {
	if f.SignDomain != hx([]byte("amp-tx-v1\x00")) {
		t.Fatalf("sign_domain %s", f.SignDomain)
	}
	if len(f.Vectors) < 3 {
		t.Fatalf("only %d vectors", len(f.Vectors))
	}
	sawP256 := false
	for i, v := range f.Vectors {
		t.Run(fmt.Sprintf("vector%d", i+1), func(t *testing.T) {
			var msgs []handMsg
			for _, m := range v.Messages {
				from, err1 := chain.ParseAddress(m.Fields.From)
				to, err2 := chain.ParseAddress(m.Fields.To)
				if err1 != nil || err2 != nil {
					t.Fatalf("message addresses: %v %v", err1, err2)
				}
				value := canonicalMsgSend(from[:], to[:], m.Fields.Asset, m.Fields.Amount)
				if hx(value) != m.Value || m.Type != "amp.bank.v1.MsgSend" {
					t.Fatalf("message value %s, hand encoding %x", m.Value, value)
				}
				if _, err := chain.ParseBaseUnits(m.Fields.Amount); err != nil {
					t.Fatalf("amount: %v", err)
				}
				msgs = append(msgs, handMsg{m.Type, value})
			}
			nonce, err1 := strconv.ParseUint(v.Nonce, 10, 64)
			timeout, err2 := strconv.ParseUint(v.TimeoutHeight, 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatal("nonce or timeout_height is not a uint64")
			}
			// The body names the signers' addresses (checked against
			// their keys below), in signature order.
			var named [][]byte
			for _, s := range v.Signers {
				named = append(named, unhex(t, s.AddressBytes))
			}
			body := canonicalBody(v.ChainID, nonce, timeout, msgs, v.Memo, named)
			if hx(body) != v.BodyBytes {
				t.Fatalf("body_bytes %s, hand encoding %x", v.BodyBytes, body)
			}
			signBytes := append([]byte("amp-tx-v1\x00"), body...)
			if hx(signBytes) != v.SignBytes {
				t.Fatal("sign_bytes is not the domain tag followed by body_bytes")
			}
			var sigs []handSig
			for j, s := range v.Signers {
				priv, pub, sig := unhex(t, s.PrivateKey), unhex(t, s.PublicKey), unhex(t, s.Signature)
				switch s.KeyType {
				case "ed25519":
					std := stded25519.NewKeyFromSeed(priv)
					if !bytes.Equal(std.Public().(stded25519.PublicKey), pub) {
						t.Fatalf("signer %d: public key is not the seed's", j)
					}
					if !bytes.Equal(stded25519.Sign(std, signBytes), sig) || !s.Deterministic {
						t.Fatalf("signer %d: ed25519 signature is not reproducible", j)
					}
				case "p256":
					sawP256 = true
					stdPub, compressed := stdP256FromScalar(t, priv)
					if !bytes.Equal(compressed, pub) {
						t.Fatalf("signer %d: public key is not the scalar's", j)
					}
					digest := sha256.Sum256(signBytes)
					r, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
					if len(sig) != 64 || !ecdsa.Verify(stdPub, digest[:], r, ss) {
						t.Fatalf("signer %d: P-256 signature does not verify", j)
					}
					if ss.Cmp(p256Half) > 0 {
						t.Fatalf("signer %d: P-256 signature has high S", j)
					}
				default:
					t.Fatalf("signer %d: key type %q", j, s.KeyType)
				}
				typeNum := map[string]int{"ed25519": 1, "p256": 2}[s.KeyType]
				if s.KeyTypeNumber != typeNum {
					t.Fatalf("signer %d: key_type_number %d", j, s.KeyTypeNumber)
				}
				h := sha256.Sum256(append([]byte{byte(typeNum)}, pub...))
				if s.AddressBytes != hx(h[:20]) || s.Address != refBech32("amp", h[:20]) {
					t.Fatalf("signer %d: address %s / %s, want %x / %s", j, s.Address, s.AddressBytes, h[:20], refBech32("amp", h[:20]))
				}
				sigs = append(sigs, handSig{uint64(typeNum), pub, sig})
			}
			raw := canonicalTx(body, sigs)
			if hx(raw) != v.TxBytes {
				t.Fatalf("tx_bytes %s, hand encoding %x", v.TxBytes, raw)
			}
			h := sha256.Sum256(raw)
			if hx(h[:]) != v.TxHash {
				t.Fatal("tx_hash is not SHA-256 of tx_bytes")
			}
			tx := decode(t, raw)
			wantErr(t, tx.VerifySignatures(), nil)
			if a := tx.Signer().Address(); a.String() != v.Signers[0].Address || tx.Hash != h || tx.Body.Nonce != nonce {
				t.Fatal("DecodeTx disagrees with the vector")
			}
			for j, s := range v.Signers {
				if hx(tx.Body.Signers[j]) != s.AddressBytes {
					t.Fatalf("DecodeTx: body signer %d is %x, the vector says %s", j, tx.Body.Signers[j], s.AddressBytes)
				}
			}
		})
	}
	if !sawP256 {
		t.Error("no P-256 vector")
	}
	for i, v := range f.Invalid {
		want, ok := chain.ErrorByCode(v.Code)
		if !ok || want.Reason != v.Error {
			t.Fatalf("invalid vector %d: code %d / %q not registered", i+1, v.Code, v.Error)
		}
		tx, err := chain.DecodeTx(unhex(t, v.TxBytes))
		switch v.Stage {
		case "decode":
			if err == nil {
				t.Errorf("invalid vector %d (%s): decoded", i+1, v.Description)
				continue
			}
		case "verify":
			if err != nil {
				t.Errorf("invalid vector %d (%s): decode failed: %v", i+1, v.Description, err)
				continue
			}
			err = tx.VerifySignatures()
		default:
			t.Fatalf("invalid vector %d: stage %q", i+1, v.Stage)
		}
		if chain.CodeOf(err) != want {
			t.Errorf("invalid vector %d (%s): got %v, want %s", i+1, v.Description, err, want.Reason)
		}
	}
}
