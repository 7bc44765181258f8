package rules

import (
	"encoding/binary"
	"unicode/utf8"
)

// Sizes and limits of the rules_v1 ABI.
const (
	BufferSize = 65536 // the I/O buffer shared with the host
	MaxOutput  = 4096  // largest output
	MaxMessage = 200   // largest reject/deny message (UTF-8 bytes; longer ones are cut)
	MaxKey     = 64    // state keys are 1..MaxKey bytes
	MaxValue   = 1024  // state values are at most MaxValue bytes
	MaxEvents  = 8     // events per evaluation
	MaxEvent   = 256   // bytes per event

	HeaderSize  = 32
	PaymentSize = 152 // in_len of a payment
	ClaimSize   = 152 // in_len of a claim
)

// AbortBadState is the abort code the SDK uses when a state value has the
// wrong form (rules should use codes ≥ 0).
const AbortBadState int32 = -1

// Entry says which hook the host is calling.
type Entry int32

const (
	EntryPayment Entry = 1 // may read and write state
	EntryClaim   Entry = 2 // may read and write state
	EntryQuery   Entry = 3 // read-only
)

// Outcome is the decision code (low 32 bits of evaluate's result).
type Outcome uint32

const (
	OutcomeAccept        Outcome = 0
	OutcomeReject        Outcome = 1
	OutcomeHold          Outcome = 2
	OutcomeApproveRefund Outcome = 10
	OutcomeDeny          Outcome = 11
	OutcomeNoAnswer      Outcome = 12
	OutcomeOK            Outcome = 20
)

// ClaimReason is the reason of a refund claim.
type ClaimReason uint32

const (
	ReasonUnauthorized       ClaimReason = 1
	ReasonNotReceived        ClaimReason = 2
	ReasonNotAsDescribed     ClaimReason = 3
	ReasonDuplicate          ClaimReason = 4
	ReasonCanceledByMerchant ClaimReason = 5
	ReasonOther              ClaimReason = 6
)

// Ctx fields of the host's ctx_get.
const (
	CtxHeight      int32 = 1
	CtxTime        int32 = 2
	CtxRuleVersion int32 = 3
)

// Address is a 20-byte account address.
type Address [20]byte

// buffer is the I/O buffer: the host writes the input at its start and reads
// the output from its start.
var buffer [BufferSize]byte

func le16(off int) uint16 { return binary.LittleEndian.Uint16(buffer[off:]) }
func le32(off int) uint32 { return binary.LittleEndian.Uint32(buffer[off:]) }
func le64(off int) uint64 { return binary.LittleEndian.Uint64(buffer[off:]) }
func u128At(off int) U128 { return U128{Lo: le64(off), Hi: le64(off + 8)} }

func addrAt(off int) (a Address) {
	copy(a[:], buffer[off:off+20])
	return a
}

// symbol returns the zero-padded 7-byte asset symbol at off.
func symbol(off int) string {
	n := 0
	for n < 7 && buffer[off+n] != 0 {
		n++
	}
	return string(buffer[off : off+n])
}

func symbolIs(off int, sym string) bool {
	if len(sym) > 7 {
		return false
	}
	for i := 0; i < 7; i++ {
		var want byte
		if i < len(sym) {
			want = sym[i]
		}
		if buffer[off+i] != want {
			return false
		}
	}
	return true
}

// Input is the evaluation's input, read in place from the I/O buffer.
type Input struct {
	entry Entry
	n     int
}

// Entry is the hook being called.
func (in Input) Entry() Entry { return in.entry }

// Len is in_len, the input's length in bytes.
func (in Input) Len() int { return in.n }

// ABIMinor is the header's ABI minor version (1).
func (Input) ABIMinor() uint16 { return le16(0) }

// Height is the block height.
func (Input) Height() uint64 { return le64(8) }

// Time is the block time, Unix seconds.
func (Input) Time() int64 { return int64(le64(16)) }

// Day is the UTC day index of the block time (Time / 86400).
func (in Input) Day() uint64 { return uint64(in.Time() / 86400) }

// RuleVersion is the binding version of this rule (starts at 1).
func (Input) RuleVersion() uint32 { return le32(24) }

// Payment is the payment body (entry 1).
func (Input) Payment() Payment { return Payment{} }

// Claim is the claim body (entry 2).
func (Input) Claim() Claim { return Claim{} }

// Query is the query body (entry 3): the caller's bytes. It aliases the I/O
// buffer: copy what must outlive the decision helpers.
func (in Input) Query() []byte {
	if in.n <= HeaderSize {
		return nil
	}
	return buffer[HeaderSize:in.n:in.n]
}

// Payment reads a payment body.
type Payment struct{}

func (Payment) Amount() U128            { return u128At(32) } // base units of the asset
func (Payment) Decimals() uint8         { return buffer[48] } // 18 for USD
func (Payment) Asset() string           { return symbol(49) } // allocates
func (Payment) AssetIs(sym string) bool { return symbolIs(49, sym) }
func (Payment) Payer() Address          { return addrAt(56) } // the person
func (Payment) Merchant() Address       { return addrAt(76) }
func (Payment) Agent() uint64           { return le64(96) } // n of Agent ID "agent-<n>"
func (Payment) Mandate() uint64         { return le64(104) }
func (Payment) TrustScore() uint32      { return le32(144) } // 0..1000
func (Payment) TrustTier() uint32       { return le32(148) }

// OrderHash is the payment's order hash.
func (Payment) OrderHash() (h [32]byte) {
	copy(h[:], buffer[112:144])
	return h
}

// Claim reads a claim body.
type Claim struct{}

func (Claim) Amount() U128            { return u128At(32) } // claimed amount
func (Claim) Decimals() uint8         { return buffer[48] }
func (Claim) Asset() string           { return symbol(49) }
func (Claim) AssetIs(sym string) bool { return symbolIs(49, sym) }
func (Claim) Payer() Address          { return addrAt(56) }
func (Claim) Merchant() Address       { return addrAt(76) }
func (Claim) Agent() uint64           { return le64(96) }
func (Claim) Payment() uint64         { return le64(104) } // number of the payment claimed
func (Claim) PaymentAmount() U128     { return u128At(112) }
func (Claim) Reason() ClaimReason     { return ClaimReason(le32(128)) }
func (Claim) CapturedAt() int64       { return int64(le64(136)) } // Unix seconds
func (Claim) Number() uint64          { return le64(144) }

// Decision is what evaluate returns: (out_len << 32) | outcome. Build it with
// the helpers below; they write the output into the I/O buffer.
type Decision uint64

// Outcome is the decision code.
func (d Decision) Outcome() Outcome { return Outcome(uint32(d)) }

// OutputLen is the length of the output written in the buffer.
func (d Decision) OutputLen() int { return int(d >> 32) }

func pack(n int, o Outcome) Decision { return Decision(uint64(n)<<32 | uint64(o)) }

// putText writes s at off, at most max bytes, never splitting a character;
// invalid UTF-8 becomes U+FFFD (the host refuses invalid messages).
func putText(off int, s string, max int) int {
	return copy(buffer[off:], cutText(s, max))
}

// cutText is s as valid UTF-8 of at most max bytes.
func cutText(s string, max int) string {
	if !utf8.ValidString(s) {
		// each run of invalid bytes becomes one U+FFFD (as strings.ToValidUTF8,
		// without linking package strings into every rule)
		b := make([]byte, 0, len(s)+3)
		bad := false
		for len(s) > 0 {
			r, n := utf8.DecodeRuneInString(s)
			if r == utf8.RuneError && n == 1 {
				if !bad {
					b = utf8.AppendRune(b, utf8.RuneError)
				}
				bad = true
			} else {
				b = append(b, s[:n]...)
				bad = false
			}
			s = s[n:]
		}
		s = string(b)
	}
	if len(s) > max {
		i := max
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return s
}

func codeAndMessage(o Outcome, code uint32, msg string) Decision {
	binary.LittleEndian.PutUint32(buffer[0:], code)
	return pack(4+putText(4, msg, MaxMessage), o)
}

// Accept accepts a payment.
func Accept() Decision { return pack(0, OutcomeAccept) }

// Reject rejects a payment with a rule reason code and an optional message.
func Reject(code uint32, msg string) Decision { return codeAndMessage(OutcomeReject, code, msg) }

// Hold keeps a payment in escrow for seconds instead of the default window.
func Hold(seconds uint64) Decision {
	binary.LittleEndian.PutUint64(buffer[0:], seconds)
	return pack(8, OutcomeHold)
}

// ApproveRefund refunds the full claimed amount.
func ApproveRefund() Decision { return pack(0, OutcomeApproveRefund) }

// ApproveRefundAmount refunds amount (at most the claimed amount).
func ApproveRefundAmount(amount U128) Decision {
	amount.Put(buffer[0:16])
	return pack(16, OutcomeApproveRefund)
}

// Deny denies a claim with a code and an optional message.
func Deny(code uint32, msg string) Decision { return codeAndMessage(OutcomeDeny, code, msg) }

// NoAnswer leaves a claim to the ledger's ordinary process.
func NoAnswer() Decision { return pack(0, OutcomeNoAnswer) }

// Answer answers a query with b (at most MaxOutput bytes; b may alias the buffer).
func Answer(b []byte) Decision {
	if len(b) > MaxOutput {
		panic("rules: answer longer than 4096 bytes")
	}
	return pack(copy(buffer[:], b), OutcomeOK)
}

// AnswerU128 answers a query with v as 16 bytes little-endian.
func AnswerU128(v U128) Decision {
	v.Put(buffer[0:16])
	return pack(16, OutcomeOK)
}

// AnswerU64 answers a query with v as 8 bytes little-endian.
func AnswerU64(v uint64) Decision {
	binary.LittleEndian.PutUint64(buffer[0:], v)
	return pack(8, OutcomeOK)
}

// Default is the neutral decision for an entry a rule does not handle: accept
// a payment, no answer to a claim, an empty answer to a query.
func Default(e Entry) Decision {
	switch e {
	case EntryClaim:
		return NoAnswer()
	case EntryQuery:
		return pack(0, OutcomeOK)
	}
	return Accept()
}

// KeyBuf builds a binary state key of at most 64 bytes without allocating,
// e.g. KeyBuf{}.Addr(p.Payer()).U64(in.Day()).
type KeyBuf struct {
	b [MaxKey]byte
	n int
}

func (k *KeyBuf) fits(n int) {
	if k.n+n > MaxKey {
		panic("rules: state key longer than 64 bytes")
	}
}

// Bytes appends b.
func (k KeyBuf) Bytes(b []byte) KeyBuf {
	k.fits(len(b))
	k.n += copy(k.b[k.n:], b)
	return k
}

// String appends s.
func (k KeyBuf) String(s string) KeyBuf {
	k.fits(len(s))
	k.n += copy(k.b[k.n:], s)
	return k
}

// Addr appends a 20-byte address.
func (k KeyBuf) Addr(a Address) KeyBuf { return k.Bytes(a[:]) }

// U8 appends one byte.
func (k KeyBuf) U8(v uint8) KeyBuf {
	k.fits(1)
	k.b[k.n] = v
	k.n++
	return k
}

// U32 appends v as 4 bytes little-endian.
func (k KeyBuf) U32(v uint32) KeyBuf {
	k.fits(4)
	binary.LittleEndian.PutUint32(k.b[k.n:], v)
	k.n += 4
	return k
}

// U64 appends v as 8 bytes little-endian.
func (k KeyBuf) U64(v uint64) KeyBuf {
	k.fits(8)
	binary.LittleEndian.PutUint64(k.b[k.n:], v)
	k.n += 8
	return k
}

// Key is the key built so far. It aliases k: keep k alive while it is used.
func (k *KeyBuf) Key() []byte { return k.b[:k.n] }
