package chain

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain/pb"
)

// Limits on a tx, checked before anything else touches it.
const (
	MaxTxBytes    = 64 << 10
	MaxSignatures = 8
	MaxMsgs       = 64
	MaxMemoBytes  = 256
	MaxChainIDLen = 50
)

// signDomain prefixes the sign bytes so that a tx signature can never be
// taken for a signature of another kind of AMP object (vouchers, bindings).
const signDomain = "amp-tx-v1\x00"

// SignBytes returns what every signature of a tx covers: a domain tag and
// the canonical TxBody bytes (which hold the chain id).
func SignBytes(body []byte) []byte {
	out := make([]byte, 0, len(signDomain)+len(body))
	out = append(out, signDomain...)
	return append(out, body...)
}

// TxHash is SHA-256 of the tx bytes, the hash CometBFT indexes txs by.
func TxHash(tx []byte) [32]byte { return sha256.Sum256(tx) }

// MsgType is the wire type name of a message: its proto full name.
func MsgType(m proto.Message) string {
	return string(m.ProtoReflect().Descriptor().FullName())
}

var canonical = proto.MarshalOptions{Deterministic: true}

// decodeDiscard drops unknown fields (and known fields sent with the wrong
// wire type, which the decoder treats as unknown) instead of keeping them:
// kept, they would be re-emitted verbatim and an appended unknown field
// would survive the re-encoding check below.
var decodeDiscard = proto.UnmarshalOptions{DiscardUnknown: true}

// Marshal encodes a message canonically.
func Marshal(m proto.Message) ([]byte, error) { return canonical.Marshal(m) }

// UnmarshalCanonical decodes b into m and rejects any b that is not the
// canonical encoding of the result: unknown fields, fields out of order,
// explicit defaults or duplicated fields all change the bytes, and would let
// one signed payload travel under many hashes.
func UnmarshalCanonical(b []byte, m proto.Message) error {
	if err := decodeDiscard.Unmarshal(b, m); err != nil {
		return err
	}
	again, err := canonical.Marshal(m)
	if err != nil {
		return err
	}
	if !bytes.Equal(again, b) {
		return fmt.Errorf("not canonical encoding of %s", MsgType(m))
	}
	return nil
}

// Tx is a decoded, structurally valid tx. Signatures are not yet verified:
// the app verifies them in bulk (VerifySignatures), through its cache.
type Tx struct {
	Hash      [32]byte
	Body      *pb.TxBody
	BodyBytes []byte
	Signers   []PubKey // signers[0] is the tx signer
	Sigs      [][]byte
}

// Signer returns the tx signer's key.
func (t *Tx) Signer() PubKey { return t.Signers[0] }

// DecodeTx decodes tx bytes and checks everything that needs no state:
// size limits, canonical encoding, key formats, at least one signature and
// one message, no key signing twice. Errors carry ErrTxDecode or a more
// precise code.
func DecodeTx(raw []byte) (*Tx, error) {
	if len(raw) > MaxTxBytes {
		return nil, Wrapf(ErrTxTooLarge, "tx has %d bytes, at most %d", len(raw), MaxTxBytes)
	}
	var env pb.Tx
	if err := UnmarshalCanonical(raw, &env); err != nil {
		return nil, Wrapf(ErrTxDecode, "envelope: %v", err)
	}
	if len(env.Signatures) == 0 {
		return nil, Wrapf(ErrNoSignature, "tx has no signature")
	}
	if len(env.Signatures) > MaxSignatures {
		return nil, Wrapf(ErrTxTooLarge, "tx has %d signatures, at most %d", len(env.Signatures), MaxSignatures)
	}
	var body pb.TxBody
	if err := UnmarshalCanonical(env.Body, &body); err != nil {
		return nil, Wrapf(ErrTxDecode, "body: %v", err)
	}
	if len(body.Msgs) == 0 {
		return nil, Wrapf(ErrNoMsgs, "tx has no message")
	}
	if len(body.Msgs) > MaxMsgs {
		return nil, Wrapf(ErrTxTooLarge, "tx has %d messages, at most %d", len(body.Msgs), MaxMsgs)
	}
	if len(body.Memo) > MaxMemoBytes {
		return nil, Wrapf(ErrTxTooLarge, "memo has %d bytes, at most %d", len(body.Memo), MaxMemoBytes)
	}
	if body.ChainId == "" || len(body.ChainId) > MaxChainIDLen {
		return nil, Wrapf(ErrWrongChainID, "chain id must have 1 to %d bytes", MaxChainIDLen)
	}
	if len(body.Signers) != len(env.Signatures) {
		return nil, Wrapf(ErrSignerMismatch, "body names %d signers, tx carries %d signatures", len(body.Signers), len(env.Signatures))
	}
	t := &Tx{Hash: TxHash(raw), Body: &body, BodyBytes: env.Body}
	t.Signers = make([]PubKey, len(env.Signatures))
	t.Sigs = make([][]byte, len(env.Signatures))
	for i, s := range env.Signatures {
		k, err := PubKeyFromProto(s.PubKey)
		if err != nil {
			return nil, fmt.Errorf("signature %d: %w", i, err)
		}
		if a := k.Address(); !bytes.Equal(a[:], body.Signers[i]) {
			return nil, Wrapf(ErrSignerMismatch, "signature %d is by %s, the body names %x", i, a, body.Signers[i])
		}
		for j := 0; j < i; j++ {
			if t.Signers[j].Equal(k) {
				return nil, Wrapf(ErrDuplicateSigner, "key %s signs twice", k.Address())
			}
		}
		t.Signers[i], t.Sigs[i] = k, s.Sig
	}
	return t, nil
}

// VerifySignatures checks every signature against the sign bytes.
func (t *Tx) VerifySignatures() error {
	sb := SignBytes(t.BodyBytes)
	for i, k := range t.Signers {
		if !k.Verify(sb, t.Sigs[i]) {
			return Wrapf(ErrInvalidSignature, "signature %d by %s", i, k.Address())
		}
	}
	return nil
}

// TxOptions are the optional fields of a tx body.
type TxOptions struct {
	TimeoutHeight uint64
	Memo          string
}

// BuildTx encodes msgs into a tx for chainID, signed by signers (the first
// is the tx signer, whose nonce is given). It is what clients and tests use
// to make txs.
func BuildTx(chainID string, nonce uint64, opts TxOptions, msgs []proto.Message, signers ...PrivKey) ([]byte, error) {
	body := &pb.TxBody{ChainId: chainID, Nonce: nonce, TimeoutHeight: opts.TimeoutHeight, Memo: opts.Memo}
	for _, s := range signers {
		a := s.PubKey().Address()
		body.Signers = append(body.Signers, a[:])
	}
	for _, m := range msgs {
		v, err := Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", MsgType(m), err)
		}
		body.Msgs = append(body.Msgs, &pb.Msg{Type: MsgType(m), Value: v})
	}
	bodyBytes, err := Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	return SignTxBody(bodyBytes, signers...)
}

// SignTxBody signs canonical body bytes and returns the encoded tx. The
// signers must be those the body names, in its order.
func SignTxBody(bodyBytes []byte, signers ...PrivKey) ([]byte, error) {
	if len(signers) == 0 {
		return nil, fmt.Errorf("a tx needs at least one signer")
	}
	sb := SignBytes(bodyBytes)
	env := &pb.Tx{Body: bodyBytes}
	for _, s := range signers {
		sig, err := s.Sign(sb)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		env.Signatures = append(env.Signatures, &pb.Signature{PubKey: s.PubKey().Proto(), Sig: sig})
	}
	return Marshal(env)
}
