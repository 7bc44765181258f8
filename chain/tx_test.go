package chain_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/big"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

const testChain = "amp-test-1"

type txKeys struct {
	a, b chain.PrivKey // ed25519
	d    chain.PrivKey // P-256 (a device)
}

func keys(t testing.TB) txKeys {
	return txKeys{
		a: fixedKey(t, chain.KeyEd25519, 0x01),
		b: fixedKey(t, chain.KeyEd25519, 0x02),
		d: fixedKey(t, chain.KeyP256, 0x03),
	}
}

func sign(t testing.TB, k chain.PrivKey, body []byte) []byte {
	t.Helper()
	sig, err := k.Sign(chain.SignBytes(body))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func hsig(t testing.TB, k chain.PrivKey, body []byte) handSig {
	return handSig{keyType: uint64(k.Type()), key: k.PubKey().Bytes, sig: sign(t, k, body)}
}

func decode(t testing.TB, raw []byte) *chain.Tx {
	t.Helper()
	tx, err := chain.DecodeTx(raw)
	if err != nil {
		t.Fatalf("DecodeTx: %v", err)
	}
	return tx
}

// envelope re-encodes a tx from chosen signers and signatures.
func envelope(t testing.TB, body []byte, pairs ...any) []byte {
	t.Helper()
	env := &pb.Tx{Body: body}
	for i := 0; i < len(pairs); i += 2 {
		env.Signatures = append(env.Signatures, &pb.Signature{PubKey: pairs[i].(chain.PubKey).Proto(), Sig: pairs[i+1].([]byte)})
	}
	return marshal(t, env)
}

func TestBuildAndDecodeTx(t *testing.T) {
	k := keys(t)
	msg := sendMsg(k.a, k.b, "USD", "1000000000000")
	raw := buildTx(t, testChain, 5, chain.TxOptions{TimeoutHeight: 100, Memo: "invoice 7"}, []proto.Message{msg}, k.a, k.d)
	if len(raw) > chain.MaxTxBytes {
		t.Fatal("tiny tx over the limit")
	}
	tx := decode(t, raw)
	if tx.Hash != sha256.Sum256(raw) || tx.Hash != chain.TxHash(raw) {
		t.Fatal("Hash is not SHA-256 of the tx bytes")
	}
	if !tx.Signer().Equal(k.a.PubKey()) || len(tx.Signers) != 2 || !tx.Signers[1].Equal(k.d.PubKey()) || len(tx.Sigs) != 2 {
		t.Fatal("signers")
	}
	if tx.Body.ChainId != testChain || tx.Body.Nonce != 5 || tx.Body.TimeoutHeight != 100 || tx.Body.Memo != "invoice 7" || len(tx.Body.Msgs) != 1 {
		t.Fatalf("body %v", tx.Body)
	}
	// The body names the signers' addresses in signature order.
	if len(tx.Body.Signers) != 2 || !bytes.Equal(tx.Body.Signers[0], addr(k.a)) || !bytes.Equal(tx.Body.Signers[1], addr(k.d)) {
		t.Fatalf("body signers %x", tx.Body.Signers)
	}
	m := tx.Body.Msgs[0]
	if m.Type != "amp.bank.v1.MsgSend" || m.Type != chain.MsgType(msg) {
		t.Fatalf("msg type %q", m.Type)
	}
	var got pb.MsgSend
	if err := chain.UnmarshalCanonical(m.Value, &got); err != nil || !proto.Equal(&got, msg) {
		t.Fatalf("msg value: %v %v", err, &got)
	}
	// The library's canonical bytes are the hand-encoded bytes of the spec.
	value := canonicalMsgSend(msg.From, msg.To, "USD", "1000000000000")
	if !bytes.Equal(m.Value, value) {
		t.Fatalf("msg value %x, hand encoding %x", m.Value, value)
	}
	body := canonicalBody(testChain, 5, 100, []handMsg{{"amp.bank.v1.MsgSend", value}}, "invoice 7", addrs(k.a, k.d))
	if !bytes.Equal(tx.BodyBytes, body) {
		t.Fatalf("body %x, hand encoding %x", tx.BodyBytes, body)
	}
	want := canonicalTx(body, []handSig{
		{1, k.a.PubKey().Bytes, tx.Sigs[0]},
		{2, k.d.PubKey().Bytes, tx.Sigs[1]},
	})
	if !bytes.Equal(raw, want) {
		t.Fatalf("tx %x, hand encoding %x", raw, want)
	}
	wantErr(t, tx.VerifySignatures(), nil)
}

func TestBuildTxDeterministicForEd25519(t *testing.T) {
	k := keys(t)
	msgs := []proto.Message{sendMsg(k.a, k.b, "USD", "1")}
	one := buildTx(t, testChain, 0, chain.TxOptions{}, msgs, k.a, k.b)
	two := buildTx(t, testChain, 0, chain.TxOptions{}, msgs, k.a, k.b)
	if !bytes.Equal(one, two) {
		t.Fatal("ed25519-only txs differ between builds")
	}
	if _, err := chain.BuildTx(testChain, 0, chain.TxOptions{}, msgs); err == nil {
		t.Fatal("BuildTx without signers succeeded")
	}
	if _, err := chain.SignTxBody([]byte{1}); err == nil {
		t.Fatal("SignTxBody without signers succeeded")
	}
}

// BuildTx names every signer's address in the body, in the order of the
// signatures, whatever the key types.
func TestBuildTxNamesSigners(t *testing.T) {
	k := keys(t)
	msgs := []proto.Message{sendMsg(k.a, k.b, "USD", "1")}
	for _, signers := range [][]chain.PrivKey{{k.a}, {k.d}, {k.d, k.b, k.a}, {k.b, k.a}} {
		tx := decode(t, buildTx(t, testChain, 0, chain.TxOptions{}, msgs, signers...))
		want := addrs(signers...)
		if len(tx.Body.Signers) != len(want) {
			t.Fatalf("body names %d signers, want %d", len(tx.Body.Signers), len(want))
		}
		for i := range want {
			if !bytes.Equal(tx.Body.Signers[i], want[i]) || !tx.Signers[i].Equal(signers[i].PubKey()) {
				t.Fatalf("signer %d: body names %x, signature by %s; want %x", i, tx.Body.Signers[i], tx.Signers[i], want[i])
			}
		}
		wantErr(t, tx.VerifySignatures(), nil)
	}
}

func TestSignBytesAndHash(t *testing.T) {
	body := []byte{0x0a, 0x01, 'x'}
	sb := chain.SignBytes(body)
	if want := append([]byte("amp-tx-v1\x00"), body...); !bytes.Equal(sb, want) {
		t.Fatalf("SignBytes = %x, want %x", sb, want)
	}
	if !bytes.Equal(chain.SignBytes(nil), unhex(t, "616d702d74782d763100")) {
		t.Fatal("sign domain is not ASCII amp-tx-v1 then a zero byte")
	}
	sb[len(sb)-1] = 'y'
	if body[2] != 'x' {
		t.Fatal("SignBytes aliases the body")
	}
	raw := []byte("any bytes")
	if chain.TxHash(raw) != sha256.Sum256(raw) {
		t.Fatal("TxHash")
	}
	names := map[proto.Message]string{
		&pb.MsgSend{}: "amp.bank.v1.MsgSend",
		&pb.MsgMint{}: "amp.bank.v1.MsgMint",
		&pb.MsgBurn{}: "amp.bank.v1.MsgBurn",
		&pb.TxBody{}:  "amp.tx.v1.TxBody",
		&pb.Tx{}:      "amp.tx.v1.Tx",
	}
	for m, want := range names {
		if got := chain.MsgType(m); got != want {
			t.Errorf("MsgType = %q, want %q", got, want)
		}
	}
}

func TestDecodeTxNonCanonical(t *testing.T) {
	k := keys(t)
	msgValue := canonicalMsgSend(addr(k.a), addr(k.b), "USD", "5")
	msg := cat(pbLen(1, []byte("amp.bank.v1.MsgSend")), pbLen(2, msgValue))
	chainF := pbLen(1, []byte(testChain))
	nonceF := pbUint(2, 3)
	msgF := pbLen(4, msg)
	memoF := pbLen(5, []byte("hi"))
	signersF := pbLen(6, addr(k.a))
	body := cat(chainF, nonceF, msgF, memoF, signersF)
	if want := canonicalBody(testChain, 3, 0, []handMsg{{"amp.bank.v1.MsgSend", msgValue}}, "hi", addrs(k.a)); !bytes.Equal(body, want) {
		t.Fatal("test setup: body pieces")
	}
	pub := k.a.PubKey().Bytes
	sig := sign(t, k.a, body)
	pubF := cat(pbUint(1, 1), pbLen(2, pub))
	sigMsg := cat(pbLen(1, pubF), pbLen(2, sig))
	env := cat(pbLen(1, body), pbLen(2, sigMsg))

	// The canonical control case decodes and verifies.
	if !bytes.Equal(env, buildTx(t, testChain, 3, chain.TxOptions{Memo: "hi"}, []proto.Message{sendMsg(k.a, k.b, "USD", "5")}, k.a)) {
		t.Fatal("test setup: hand-made tx differs from BuildTx")
	}
	wantErr(t, decode(t, env).VerifySignatures(), nil)

	// withBody wraps a (non-canonical) body in a correctly signed envelope,
	// so that only the body's encoding is at fault.
	withBody := func(b []byte) []byte {
		return canonicalTx(b, []handSig{hsig(t, k.a, b)})
	}
	nonMinimal := func(v uint64) []byte { // one extra continuation byte
		b := pbVarint(v)
		b[len(b)-1] |= 0x80
		return append(b, 0x00)
	}

	cases := []struct {
		name   string
		raw    []byte
		parses bool // the protobuf library alone accepts it: only the canonical check stands in the way
	}{
		{"unknown varint field appended to envelope", cat(env, pbUint(3, 1)), true},
		{"unknown bytes field appended to envelope", cat(env, pbLen(15, []byte("x"))), true},
		{"unknown field prepended to envelope", cat(pbUint(3, 1), env), true},
		{"unknown fixed64 field appended", cat(env, pbKey(9, 1), make([]byte, 8)), true},
		{"unknown fixed32 field appended", cat(env, pbKey(9, 5), make([]byte, 4)), true},
		{"known field with wrong wire type appended", cat(env, pbUint(1, 5)), true},
		{"signatures before body", cat(pbLen(2, sigMsg), pbLen(1, body)), true},
		{"body field repeated", cat(pbLen(1, body), pbLen(1, body), pbLen(2, sigMsg)), true},
		{"explicit empty body", cat(pbLen(1, nil), pbLen(1, body), pbLen(2, sigMsg)), true},
		{"non-minimal length prefix", cat(pbKey(1, 2), nonMinimal(uint64(len(body))), body, pbLen(2, sigMsg)), true},
		{"unknown field in Signature", cat(pbLen(1, body), pbLen(2, cat(sigMsg, pbUint(3, 1)))), true},
		{"Signature fields reordered", cat(pbLen(1, body), pbLen(2, cat(pbLen(2, sig), pbLen(1, pubF)))), true},
		{"explicit empty sig", cat(pbLen(1, body), pbLen(2, cat(pbLen(1, pubF), pbLen(2, nil), pbLen(2, sig)))), true},
		{"unknown field in PubKey", cat(pbLen(1, body), pbLen(2, cat(pbLen(1, cat(pubF, pbUint(3, 1))), pbLen(2, sig)))), true},
		{"PubKey fields reordered", cat(pbLen(1, body), pbLen(2, cat(pbLen(1, cat(pbLen(2, pub), pbUint(1, 1))), pbLen(2, sig)))), true},
		{"non-minimal key type varint", cat(pbLen(1, body), pbLen(2, cat(pbLen(1, cat(pbKey(1, 0), nonMinimal(1), pbLen(2, pub))), pbLen(2, sig)))), true},
		{"key type over 32 bits", cat(pbLen(1, body), pbLen(2, cat(pbLen(1, cat(pbUint(1, 1<<32|1), pbLen(2, pub))), pbLen(2, sig)))), true},

		{"unknown field appended to body", withBody(cat(body, pbUint(7, 1))), true},
		{"explicit default nonce 0", withBody(cat(chainF, pbUint(2, 0), msgF, memoF, signersF)), true},
		{"explicit default timeout 0", withBody(cat(chainF, nonceF, pbUint(3, 0), msgF, memoF, signersF)), true},
		{"explicit empty memo", withBody(cat(chainF, nonceF, msgF, pbLen(5, nil), signersF)), true},
		{"nonce before chain id", withBody(cat(nonceF, chainF, msgF, memoF, signersF)), true},
		{"memo before msgs", withBody(cat(chainF, nonceF, memoF, msgF, signersF)), true},
		{"signers before memo", withBody(cat(chainF, nonceF, msgF, signersF, memoF)), true},
		{"signers before msgs", withBody(cat(chainF, nonceF, signersF, msgF, memoF)), true},
		{"signers first", withBody(cat(signersF, chainF, nonceF, msgF, memoF)), true},
		{"signer with wrong wire type", withBody(cat(chainF, nonceF, msgF, memoF, pbUint(6, 1))), true},
		{"signer with non-minimal length prefix", withBody(cat(chainF, nonceF, msgF, memoF, pbKey(6, 2), nonMinimal(20), addr(k.a))), true},
		{"chain id twice", withBody(cat(chainF, chainF, nonceF, msgF, memoF, signersF)), true},
		{"nonce twice", withBody(cat(chainF, pbUint(2, 9), nonceF, msgF, memoF, signersF)), true},
		{"non-minimal nonce varint", withBody(cat(chainF, pbKey(2, 0), nonMinimal(3), msgF, memoF, signersF)), true},
		{"nonce with wrong wire type", withBody(cat(chainF, pbLen(2, []byte{3}), msgF, memoF, signersF)), true},
		{"unknown field in Msg", withBody(cat(chainF, nonceF, pbLen(4, cat(msg, pbUint(3, 1))), memoF, signersF)), true},
		{"Msg fields reordered", withBody(cat(chainF, nonceF, pbLen(4, cat(pbLen(2, msgValue), pbLen(1, []byte("amp.bank.v1.MsgSend")))), memoF, signersF)), true},
		{"explicit empty Msg value", withBody(cat(chainF, nonceF, pbLen(4, cat(pbLen(1, []byte("amp.bank.v1.MsgSend")), pbLen(2, nil))), memoF, signersF)), true},

		{"invalid UTF-8 chain id", withBody(cat(pbLen(1, []byte("amp\xff")), nonceF, msgF)), false},
		{"invalid UTF-8 memo", withBody(cat(chainF, nonceF, msgF, pbLen(5, []byte{0xc3, 0x28}))), false},
		{"invalid UTF-8 msg type", withBody(cat(chainF, nonceF, pbLen(4, pbLen(1, []byte{0xff})))), false},
		{"truncated envelope", env[:len(env)-1], false},
		{"truncated body", withBody(body[:len(body)-1]), false},
		{"trailing zero byte", cat(env, []byte{0}), false},
		{"field number 0", cat(pbKey(0, 0), []byte{1}, env), false},
		{"group wire type", cat(env, pbKey(3, 3), pbKey(3, 4)), true},
		{"length past the end", cat(pbKey(1, 2), pbVarint(uint64(len(env)+10)), env), false},
		{"varint of 11 bytes", cat(pbKey(3, 0), fill(0xff, 10), []byte{1}, env), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var probe pb.Tx
			err := proto.Unmarshal(tc.raw, &probe)
			if err == nil && tc.parses {
				var b pb.TxBody
				if !bytes.Equal(probe.Body, body) {
					err = proto.Unmarshal(probe.Body, &b)
				}
			}
			if tc.parses && err != nil {
				t.Fatalf("test setup: the protobuf library rejects the input itself: %v", err)
			}
			_, err = chain.DecodeTx(tc.raw)
			wantErr(t, err, chain.ErrTxDecode)
		})
	}
}

func TestUnmarshalCanonical(t *testing.T) {
	k := keys(t)
	from, to := addr(k.a), addr(k.b)
	good := canonicalMsgSend(from, to, "USD", "5")
	var m pb.MsgSend
	if err := chain.UnmarshalCanonical(good, &m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.From, from) || m.Amount.GetAmount() != "5" {
		t.Fatal("decoded fields")
	}
	bad := map[string][]byte{
		"unknown field":         cat(good, pbUint(4, 1)),
		"explicit empty from":   cat(pbLen(1, nil), good),
		"to before from":        cat(pbLen(2, to), pbLen(1, from), pbLen(3, cat(pbLen(1, []byte("USD")), pbLen(2, []byte("5"))))),
		"unknown field in Coin": cat(pbLen(1, from), pbLen(2, to), pbLen(3, cat(pbLen(1, []byte("USD")), pbLen(2, []byte("5")), pbUint(3, 0)))),
		"coin amount twice":     cat(pbLen(1, from), pbLen(2, to), pbLen(3, cat(pbLen(1, []byte("USD")), pbLen(2, []byte("5")))), pbLen(3, pbLen(2, []byte("5")))),
		"garbage":               {0xff},
	}
	for name, b := range bad {
		var m pb.MsgSend
		if err := chain.UnmarshalCanonical(b, &m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// An empty embedded Coin is present, not default: its encoding is kept.
	withEmptyCoin := cat(pbLen(1, from), pbLen(3, nil))
	if err := chain.UnmarshalCanonical(withEmptyCoin, &m); err != nil {
		t.Fatalf("present empty Coin: %v", err)
	}
}

func TestDecodeTxNoSignature(t *testing.T) {
	k := keys(t)
	body := marshal(t, &pb.TxBody{ChainId: testChain, Msgs: []*pb.Msg{{Type: "amp.bank.v1.MsgSend", Value: []byte{1}}}, Signers: addrs(k.a)})
	unnamed := marshal(t, &pb.TxBody{ChainId: testChain, Msgs: []*pb.Msg{{Type: "amp.bank.v1.MsgSend", Value: []byte{1}}}})
	for name, raw := range map[string][]byte{
		"body only":                 canonicalTx(body, nil),
		"body naming no one, alone": canonicalTx(unnamed, nil), // the missing signature is reported first
		"empty":                     nil,
	} {
		_, err := chain.DecodeTx(raw)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		wantErr(t, err, chain.ErrNoSignature)
	}
	// An empty signature decodes (it is well formed) and fails verification.
	raw := envelope(t, body, k.a.PubKey(), []byte(nil))
	tx := decode(t, raw)
	wantErr(t, tx.VerifySignatures(), chain.ErrInvalidSignature)
}

func TestDecodeTxBadPubKey(t *testing.T) {
	k := keys(t)
	offCurve := notOnCurveX(t)
	sig := fill(0x5a, 64) // any signature: the key is refused before signatures are looked at
	cases := map[string]*pb.Signature{
		"missing pub key":       {Sig: sig},
		"type unspecified":      {PubKey: &pb.PubKey{Key: k.a.PubKey().Bytes}, Sig: sig},
		"unknown type 3":        {PubKey: &pb.PubKey{Type: 3, Key: k.a.PubKey().Bytes}, Sig: sig},
		"ed25519 31 bytes":      {PubKey: &pb.PubKey{Type: 1, Key: k.a.PubKey().Bytes[:31]}, Sig: sig},
		"p256 not on curve":     {PubKey: &pb.PubKey{Type: 2, Key: offCurve}, Sig: sig},
		"p256 given as ed25519": {PubKey: &pb.PubKey{Type: 1, Key: k.d.PubKey().Bytes}, Sig: sig},
		"empty pub key":         {PubKey: &pb.PubKey{}, Sig: sig},
		"ed25519 identity":      {PubKey: &pb.PubKey{Type: 1, Key: append([]byte{1}, make([]byte, 31)...)}, Sig: sig},
		"ed25519 not a point":   {PubKey: &pb.PubKey{Type: 1, Key: edNotOnCurve(t)}, Sig: sig},
	}
	for name, s := range cases {
		// Put the bad key second, so the loop over signatures is exercised
		// too, and name it in the body by the address its bytes would have:
		// only the key itself is at fault.
		var second []byte
		if s.PubKey != nil {
			second = rawAddr(uint64(s.PubKey.Type), s.PubKey.Key)
		}
		body := marshal(t, &pb.TxBody{ChainId: testChain, Msgs: []*pb.Msg{{Type: "x"}}, Signers: [][]byte{addr(k.a), second}})
		env := &pb.Tx{Body: body, Signatures: []*pb.Signature{{PubKey: k.a.PubKey().Proto(), Sig: sign(t, k.a, body)}, s}}
		_, err := chain.DecodeTx(marshal(t, env))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantErr(t, err, chain.ErrInvalidPubKey)
	}
}

// A key that signs twice is rejected with duplicate_signature when the body
// names it twice too (BuildTx names every signer it is given), so that each
// signature matches its body.signers entry and only the repetition is at
// fault. If the body names it once, the extra signature is a signer_mismatch.
func TestDecodeTxDuplicateSigner(t *testing.T) {
	k := keys(t)
	msgs := []proto.Message{sendMsg(k.a, k.b, "USD", "1")}
	for name, signers := range map[string][]chain.PrivKey{
		"ed25519 twice":        {k.a, k.a},
		"first and third":      {k.a, k.b, k.a},
		"p256 twice":           {k.a, k.d, k.d}, // different (randomised) signatures, same key
		"p256 signer repeated": {k.d, k.b, k.d},
	} {
		raw, err := chain.BuildTx(testChain, 0, chain.TxOptions{}, msgs, signers...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = chain.DecodeTx(raw)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantErr(t, err, chain.ErrDuplicateSigner)
	}
	// The body names a and b; the envelope carries a's signature twice.
	body := marshal(t, &pb.TxBody{ChainId: testChain, Msgs: []*pb.Msg{{Type: "amp.bank.v1.MsgSend", Value: marshal(t, msgs[0])}}, Signers: addrs(k.a, k.b)})
	sigA := sign(t, k.a, body)
	_, err := chain.DecodeTx(envelope(t, body, k.a.PubKey(), sigA, k.a.PubKey(), sigA))
	wantErr(t, err, chain.ErrSignerMismatch)
	// The body names a twice and the envelope carries a then b: signature 1
	// is not by the key the body names.
	body = marshal(t, &pb.TxBody{ChainId: testChain, Msgs: []*pb.Msg{{Type: "amp.bank.v1.MsgSend", Value: marshal(t, msgs[0])}}, Signers: addrs(k.a, k.a)})
	_, err = chain.DecodeTx(envelope(t, body, k.a.PubKey(), sign(t, k.a, body), k.b.PubKey(), sign(t, k.b, body)))
	wantErr(t, err, chain.ErrSignerMismatch)
	// The same private key as two different schemes is impossible; but two
	// keys with the same bytes and different types are different keys.
	if _, err := chain.DecodeTx(buildTx(t, testChain, 0, chain.TxOptions{}, msgs, k.a, k.b, k.d)); err != nil {
		t.Fatalf("three distinct signers: %v", err)
	}
}

// The body names the address of every signing key, in the order of the
// signatures. Each signature below verifies on its own: only that binding
// stands in the way.
func TestDecodeTxSignerMismatch(t *testing.T) {
	k := keys(t)
	pa, pB, pd := k.a.PubKey(), k.b.PubKey(), k.d.PubKey()
	msgs := []proto.Message{sendMsg(k.a, k.b, "USD", "1")}
	two := decode(t, buildTx(t, testChain, 4, chain.TxOptions{}, msgs, k.a, k.d))
	body := two.BodyBytes
	sigA, sigD, sigB := two.Sigs[0], two.Sigs[1], sign(t, k.b, body)
	for _, c := range []struct {
		k   chain.PubKey
		sig []byte
	}{{pa, sigA}, {pd, sigD}, {pB, sigB}} {
		if !c.k.Verify(chain.SignBytes(body), c.sig) {
			t.Fatal("test setup: a signature does not verify")
		}
	}
	withSigners := func(signers ...[]byte) []byte {
		var b pb.TxBody
		if err := proto.Unmarshal(body, &b); err != nil {
			t.Fatal(err)
		}
		b.Signers = signers
		return marshal(t, &b)
	}
	signedBy := func(b []byte, ks ...chain.PrivKey) []byte { // an envelope with valid signatures over b
		var pairs []any
		for _, k := range ks {
			pairs = append(pairs, k.PubKey(), sign(t, k, b))
		}
		return envelope(t, b, pairs...)
	}
	cases := []struct {
		name  string
		raw   []byte
		index string // the signature the error names, if any
	}{
		// A relay swaps the pairs to make the co-signer d the tx signer and
		// replay the tx under d's nonce.
		{"signatures swapped", envelope(t, body, pd, sigD, pa, sigA), "signature 0"},
		{"co-signature appended that the body does not name", envelope(t, body, pa, sigA, pd, sigD, pB, sigB), ""},
		{"co-signature inserted before the named one", envelope(t, body, pa, sigA, pB, sigB, pd, sigD), ""},
		{"co-signature dropped", envelope(t, body, pa, sigA), ""},
		{"tx signer's signature dropped", envelope(t, body, pd, sigD), ""},
		{"co-signature by a key the body does not name", envelope(t, body, pa, sigA, pB, sigB), "signature 1"},
		{"body names no signer", signedBy(withSigners(), k.a), ""},
		{"body names another key", signedBy(withSigners(addr(k.b)), k.a), "signature 0"},
		{"body names 19 bytes of the address", signedBy(withSigners(addr(k.a)[:19]), k.a), "signature 0"},
		{"body names the address and a byte more", signedBy(withSigners(append(addr(k.a), 0)), k.a), "signature 0"},
		{"body names an empty address", signedBy(withSigners(nil), k.a), "signature 0"},
		{"body names the bech32 text of the address", signedBy(withSigners([]byte(k.a.PubKey().Address().String())), k.a), "signature 0"},
		{"body names the key bytes under the other key type", signedBy(withSigners(rawAddr(uint64(chain.KeyP256), pa.Bytes)), k.a), "signature 0"},
		{"body names the public key, not its address", signedBy(withSigners(pa.Bytes), k.a), "signature 0"},
		{"body names a twice, signed by a once", signedBy(withSigners(addr(k.a), addr(k.a)), k.a), ""},
		{"body names three, signed by the first two", signedBy(withSigners(addr(k.a), addr(k.d), addr(k.b)), k.a, k.d), ""},
		{"body names three, signed by all three rotated", signedBy(withSigners(addr(k.a), addr(k.d), addr(k.b)), k.d, k.b, k.a), "signature 0"},
		{"body names three, last two signatures swapped", signedBy(withSigners(addr(k.a), addr(k.d), addr(k.b)), k.a, k.b, k.d), "signature 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := chain.DecodeTx(tc.raw)
			wantErr(t, err, chain.ErrSignerMismatch)
			if tc.index != "" && !strings.Contains(err.Error(), tc.index) {
				t.Fatalf("error %q does not name %s", err, tc.index)
			}
		})
	}

	// The same pairs in the order the body names verify: the control case.
	wantErr(t, decode(t, envelope(t, body, pa, sigA, pd, sigD)).VerifySignatures(), nil)
	rotated := withSigners(addr(k.d), addr(k.b), addr(k.a))
	wantErr(t, decode(t, signedBy(rotated, k.d, k.b, k.a)).VerifySignatures(), nil)

	// Order of the checks: the signature count and the chain id are checked
	// before the signers, each key's validity before its address, and the
	// address before duplicates.
	nine := make([][]byte, 9)
	var ninePairs []any
	for i := range nine {
		nine[i] = addr(k.a)
		ninePairs = append(ninePairs, pa, sigA)
	}
	_, err := chain.DecodeTx(envelope(t, body, ninePairs...))
	wantErr(t, err, chain.ErrTxTooLarge)
	_, err = chain.DecodeTx(signedBy(withSigners(nine...), k.a))
	wantErr(t, err, chain.ErrSignerMismatch)
	var noChain pb.TxBody
	if err := proto.Unmarshal(body, &noChain); err != nil {
		t.Fatal(err)
	}
	noChain.ChainId, noChain.Signers = "", nil
	_, err = chain.DecodeTx(signedBy(marshal(t, &noChain), k.a))
	wantErr(t, err, chain.ErrWrongChainID)
	badKey := &pb.PubKey{Type: pb.KeyType_KEY_TYPE_ED25519, Key: pa.Bytes[:31]}
	_, err = chain.DecodeTx(marshal(t, &pb.Tx{Body: body, Signatures: []*pb.Signature{{PubKey: badKey, Sig: sigA}, {PubKey: pd.Proto(), Sig: sigD}}}))
	wantErr(t, err, chain.ErrInvalidPubKey)
}

func TestDecodeTxLimits(t *testing.T) {
	k := keys(t)
	one := []proto.Message{sendMsg(k.a, k.b, "USD", "1")}
	many := func(n int) []proto.Message {
		out := make([]proto.Message, n)
		for i := range out {
			out[i] = sendMsg(k.a, k.b, "USD", "1")
		}
		return out
	}
	signers := func(n int) []chain.PrivKey {
		out := make([]chain.PrivKey, n)
		for i := range out {
			out[i] = fixedKey(t, chain.KeyEd25519, byte(0x40+i))
		}
		return out
	}
	if chain.MaxSignatures != 8 || chain.MaxMsgs != 64 || chain.MaxMemoBytes != 256 || chain.MaxChainIDLen != 50 || chain.MaxTxBytes != 65536 {
		t.Fatal("limits changed: update docs/wire-format.md and these tests")
	}
	cases := []struct {
		name    string
		chainID string
		opts    chain.TxOptions
		msgs    []proto.Message
		signers []chain.PrivKey
		err     *chain.Error
	}{
		{"8 signatures", testChain, chain.TxOptions{}, one, signers(8), nil},
		{"9 signatures", testChain, chain.TxOptions{}, one, signers(9), chain.ErrTxTooLarge},
		{"64 msgs", testChain, chain.TxOptions{}, many(64), signers(1), nil},
		{"65 msgs", testChain, chain.TxOptions{}, many(65), signers(1), chain.ErrTxTooLarge},
		{"no msgs", testChain, chain.TxOptions{}, nil, signers(1), chain.ErrNoMsgs},
		{"memo 256 bytes", testChain, chain.TxOptions{Memo: strings.Repeat("m", 256)}, one, signers(1), nil},
		{"memo 257 bytes", testChain, chain.TxOptions{Memo: strings.Repeat("m", 257)}, one, signers(1), chain.ErrTxTooLarge},
		{"memo 128 two-byte runes", testChain, chain.TxOptions{Memo: strings.Repeat("é", 128)}, one, signers(1), nil},
		{"memo 129 two-byte runes", testChain, chain.TxOptions{Memo: strings.Repeat("é", 129)}, one, signers(1), chain.ErrTxTooLarge},
		{"empty chain id", "", chain.TxOptions{}, one, signers(1), chain.ErrWrongChainID},
		{"chain id 50 bytes", strings.Repeat("c", 50), chain.TxOptions{}, one, signers(1), nil},
		{"chain id 51 bytes", strings.Repeat("c", 51), chain.TxOptions{}, one, signers(1), chain.ErrWrongChainID},
		{"max nonce and timeout", testChain, chain.TxOptions{TimeoutHeight: 1<<64 - 1}, one, signers(1), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := buildTx(t, tc.chainID, 1<<64-1, tc.opts, tc.msgs, tc.signers...)
			tx, err := chain.DecodeTx(raw)
			wantErr(t, err, tc.err)
			if err == nil {
				wantErr(t, tx.VerifySignatures(), nil)
			}
		})
	}
}

func TestDecodeTxMaxBytes(t *testing.T) {
	k := keys(t)
	build := func(pad int) []byte {
		m := &pb.MsgSend{From: make([]byte, pad), To: addr(k.b)}
		return buildTx(t, testChain, 0, chain.TxOptions{}, []proto.Message{m}, k.a)
	}
	pad := chain.MaxTxBytes - len(build(0))
	var raw []byte
	for i := 0; i < 10; i++ {
		raw = build(pad)
		if len(raw) == chain.MaxTxBytes {
			break
		}
		pad += chain.MaxTxBytes - len(raw)
	}
	if len(raw) != chain.MaxTxBytes {
		t.Fatalf("could not build a tx of exactly %d bytes", chain.MaxTxBytes)
	}
	tx, err := chain.DecodeTx(raw)
	wantErr(t, err, nil)
	wantErr(t, tx.VerifySignatures(), nil)

	over := build(pad + 1)
	if len(over) != chain.MaxTxBytes+1 {
		t.Fatalf("setup: %d bytes", len(over))
	}
	_, err = chain.DecodeTx(over)
	wantErr(t, err, chain.ErrTxTooLarge)
	// The size check comes before any parsing.
	_, err = chain.DecodeTx(fill(0xff, chain.MaxTxBytes+1))
	wantErr(t, err, chain.ErrTxTooLarge)
	_, err = chain.DecodeTx(fill(0xff, 1<<20))
	wantErr(t, err, chain.ErrTxTooLarge)
}

func TestVerifySignatures(t *testing.T) {
	k := keys(t)
	msgs := []proto.Message{sendMsg(k.a, k.b, "USD", "1000000000000")}
	raw := buildTx(t, testChain, 4, chain.TxOptions{Memo: "m"}, msgs, k.a, k.d)
	tx := decode(t, raw)
	wantErr(t, tx.VerifySignatures(), nil)
	sigA, sigD := tx.Sigs[0], tx.Sigs[1]
	pa, pd := k.a.PubKey(), k.d.PubKey()

	t.Run("tampered body", func(t *testing.T) {
		var body pb.TxBody
		if err := proto.Unmarshal(tx.BodyBytes, &body); err != nil {
			t.Fatal(err)
		}
		for _, mutate := range []func(*pb.TxBody){
			func(b *pb.TxBody) { b.Nonce++ },
			func(b *pb.TxBody) { b.ChainId = "amp-test-2" },
			func(b *pb.TxBody) { b.Memo = "n" },
			func(b *pb.TxBody) { b.TimeoutHeight = 1 },
			func(b *pb.TxBody) { b.Msgs[0].Value = append(bytes.Clone(b.Msgs[0].Value), 0) },
		} {
			c := proto.Clone(&body).(*pb.TxBody)
			mutate(c)
			tampered := decode(t, envelope(t, marshal(t, c), pa, sigA, pd, sigD))
			wantErr(t, tampered.VerifySignatures(), chain.ErrInvalidSignature)
		}
		// body.signers is signed like the rest of the body: reordering it
		// together with the signatures passes DecodeTx but not verification.
		c := proto.Clone(&body).(*pb.TxBody)
		c.Signers[0], c.Signers[1] = c.Signers[1], c.Signers[0]
		swapped := decode(t, envelope(t, marshal(t, c), pd, sigD, pa, sigA))
		wantErr(t, swapped.VerifySignatures(), chain.ErrInvalidSignature)
		// Neither can b be named in a's place with b's signature over the
		// original body.
		sigB := sign(t, k.b, tx.BodyBytes)
		c = proto.Clone(&body).(*pb.TxBody)
		c.Signers[1] = addr(k.b)
		renamed := decode(t, envelope(t, marshal(t, c), pa, sigA, k.b.PubKey(), sigB))
		wantErr(t, renamed.VerifySignatures(), chain.ErrInvalidSignature)
	})
	t.Run("tampered Tx value", func(t *testing.T) {
		c := decode(t, raw)
		c.BodyBytes = append(bytes.Clone(c.BodyBytes[:len(c.BodyBytes)-1]), 'n')
		wantErr(t, c.VerifySignatures(), chain.ErrInvalidSignature)
	})
	t.Run("swapped signatures", func(t *testing.T) {
		other := buildTx(t, testChain, 4, chain.TxOptions{Memo: "m"}, msgs, k.b)
		sigB := decode(t, other).Sigs[0]
		for name, r := range map[string][]byte{
			"a and d swap sigs":       envelope(t, tx.BodyBytes, pa, sigD, pd, sigA),
			"b's sig under a's key":   envelope(t, tx.BodyBytes, pa, sigB, pd, sigD),
			"co-signer sig by signer": envelope(t, tx.BodyBytes, pa, sigA, pd, sigA),
		} {
			err := decode(t, r).VerifySignatures()
			if err == nil {
				t.Errorf("%s: verified", name)
				continue
			}
			wantErr(t, err, chain.ErrInvalidSignature)
		}
	})
	t.Run("bad co-signature is reported by index", func(t *testing.T) {
		bad := bytes.Clone(sigD)
		bad[5] ^= 1
		err := decode(t, envelope(t, tx.BodyBytes, pa, sigA, pd, bad)).VerifySignatures()
		wantErr(t, err, chain.ErrInvalidSignature)
		if !strings.Contains(err.Error(), "signature 1") {
			t.Fatalf("error %q does not name signature 1", err)
		}
	})
	t.Run("co-signer order", func(t *testing.T) {
		// Every signature verifies whatever its position, but the body names
		// the signers in order: a relay can no longer reorder the pairs
		// (which would make the co-signer the tx signer, to be replayed
		// under its nonce), drop a co-signature or add one of its own.
		_, err := chain.DecodeTx(envelope(t, tx.BodyBytes, pd, sigD, pa, sigA))
		wantErr(t, err, chain.ErrSignerMismatch)
		_, err = chain.DecodeTx(envelope(t, tx.BodyBytes, pa, sigA))
		wantErr(t, err, chain.ErrSignerMismatch)
		sigB := sign(t, k.b, tx.BodyBytes)
		_, err = chain.DecodeTx(envelope(t, tx.BodyBytes, pa, sigA, pd, sigD, k.b.PubKey(), sigB))
		wantErr(t, err, chain.ErrSignerMismatch)
	})
	// A body that names a alone, for the single-signature cases below.
	alone := decode(t, buildTx(t, testChain, 4, chain.TxOptions{Memo: "m"}, msgs, k.a))
	t.Run("domain separation", func(t *testing.T) {
		for name, signed := range map[string][]byte{
			"raw body":         alone.BodyBytes,
			"v2 tag":           append([]byte("amp-tx-v2\x00"), alone.BodyBytes...),
			"tag without zero": append([]byte("amp-tx-v1"), alone.BodyBytes...),
			"body hash":        func() []byte { h := sha256.Sum256(chain.SignBytes(alone.BodyBytes)); return h[:] }(),
		} {
			sig, _ := k.a.Sign(signed)
			err := decode(t, envelope(t, alone.BodyBytes, pa, sig)).VerifySignatures()
			if err == nil {
				t.Errorf("signature over %s verified", name)
				continue
			}
			wantErr(t, err, chain.ErrInvalidSignature)
		}
	})
	t.Run("high-S co-signature", func(t *testing.T) {
		r, s := new(big.Int).SetBytes(sigD[:32]), new(big.Int).SetBytes(sigD[32:])
		high := make([]byte, 64)
		r.FillBytes(high[:32])
		new(big.Int).Sub(p256N, s).FillBytes(high[32:])
		err := decode(t, envelope(t, tx.BodyBytes, pa, sigA, pd, high)).VerifySignatures()
		wantErr(t, err, chain.ErrInvalidSignature)
	})
	t.Run("signature for another chain", func(t *testing.T) {
		other := decode(t, buildTx(t, "amp-test-2", 4, chain.TxOptions{Memo: "m"}, msgs, k.a))
		err := decode(t, envelope(t, alone.BodyBytes, pa, other.Sigs[0])).VerifySignatures()
		wantErr(t, err, chain.ErrInvalidSignature)
	})
}

// Errors from DecodeTx always carry a registered code, never ErrInternal.
func TestDecodeTxErrorsAreCoded(t *testing.T) {
	inputs := [][]byte{nil, {0}, {0xff}, {0x0a}, {0x0a, 0x05, 1}, fill(0x0a, 100), {0x12, 0x00}, {0x0a, 0x00, 0x12, 0x00}}
	for _, in := range inputs {
		_, err := chain.DecodeTx(in)
		if err == nil {
			t.Errorf("DecodeTx(%x) accepted", in)
			continue
		}
		var ce *chain.Error
		if !errors.As(err, &ce) || ce == chain.ErrInternal {
			t.Errorf("DecodeTx(%x): %v has no specific code", in, err)
		}
	}
}
