package contracts

import (
	"encoding/binary"
	"fmt"
)

// U128 is an unsigned 128-bit amount in base units, as the ABI carries it.
type U128 struct{ Lo, Hi uint64 }

func (u U128) put(b []byte) {
	binary.LittleEndian.PutUint64(b, u.Lo)
	binary.LittleEndian.PutUint64(b[8:], u.Hi)
}

func u128At(b []byte) U128 {
	return U128{Lo: binary.LittleEndian.Uint64(b), Hi: binary.LittleEndian.Uint64(b[8:])}
}

// Cmp returns -1, 0 or 1.
func (u U128) Cmp(v U128) int {
	switch {
	case u.Hi < v.Hi || (u.Hi == v.Hi && u.Lo < v.Lo):
		return -1
	case u == v:
		return 0
	}
	return 1
}

// Payment is the body of a payment evaluation (entry 1), offsets relative to
// the start of the input (the header takes 0..32).
type Payment struct {
	Amount     U128     // 32
	Decimals   uint8    // 48
	Asset      string   // 49, ≤ 7 bytes, zero padded
	Payer      [20]byte // 56, the person
	Merchant   [20]byte // 76
	Agent      uint64   // 96, agent number (Agent ID "agent-<n>")
	Mandate    uint64   // 104
	OrderHash  [32]byte // 112
	TrustScore uint32   // 144, 0..1000
	TrustTier  uint32   // 148, tier index
}

// Encode returns the 120-byte body for Call.Body.
func (p Payment) Encode() ([]byte, error) {
	b := make([]byte, PaymentSize-HeaderSize)
	if len(p.Asset) > 7 {
		return nil, fmt.Errorf("asset symbol %q longer than 7 bytes", p.Asset)
	}
	const o = HeaderSize
	p.Amount.put(b[32-o:])
	b[48-o] = p.Decimals
	copy(b[49-o:56-o], p.Asset)
	copy(b[56-o:76-o], p.Payer[:])
	copy(b[76-o:96-o], p.Merchant[:])
	binary.LittleEndian.PutUint64(b[96-o:], p.Agent)
	binary.LittleEndian.PutUint64(b[104-o:], p.Mandate)
	copy(b[112-o:144-o], p.OrderHash[:])
	binary.LittleEndian.PutUint32(b[144-o:], p.TrustScore)
	binary.LittleEndian.PutUint32(b[148-o:], p.TrustTier)
	return b, nil
}

// Claim reasons.
const (
	ReasonUnauthorized       = 1
	ReasonNotReceived        = 2
	ReasonNotAsDescribed     = 3
	ReasonDuplicate          = 4
	ReasonCanceledByMerchant = 5
	ReasonOther              = 6
)

// Claim is the body of a refund-claim evaluation (entry 2).
type Claim struct {
	Amount        U128     // 32, claimed
	Decimals      uint8    // 48
	Asset         string   // 49, ≤ 7 bytes
	Payer         [20]byte // 56
	Merchant      [20]byte // 76
	Agent         uint64   // 96
	Payment       uint64   // 104, payment number
	PaymentAmount U128     // 112
	Reason        uint32   // 128, Reason*
	CapturedAt    int64    // 136, Unix seconds
	Claim         uint64   // 144, claim number
}

// Encode returns the 120-byte body for Call.Body.
func (c Claim) Encode() ([]byte, error) {
	b := make([]byte, ClaimSize-HeaderSize)
	if len(c.Asset) > 7 {
		return nil, fmt.Errorf("asset symbol %q longer than 7 bytes", c.Asset)
	}
	const o = HeaderSize
	c.Amount.put(b[32-o:])
	b[48-o] = c.Decimals
	copy(b[49-o:56-o], c.Asset)
	copy(b[56-o:76-o], c.Payer[:])
	copy(b[76-o:96-o], c.Merchant[:])
	binary.LittleEndian.PutUint64(b[96-o:], c.Agent)
	binary.LittleEndian.PutUint64(b[104-o:], c.Payment)
	c.PaymentAmount.put(b[112-o:])
	binary.LittleEndian.PutUint32(b[128-o:], c.Reason)
	binary.LittleEndian.PutUint64(b[136-o:], uint64(c.CapturedAt))
	binary.LittleEndian.PutUint64(b[144-o:], c.Claim)
	return b, nil
}

// buildInput writes header+body into dst (reused between calls, or guest
// memory with room for them) and returns it. The caller checked the body
// length.
func buildInput(dst []byte, c *Call) []byte {
	return appendInput(dst[:0], c.Entry, c.Height, c.Time, c.RuleVersion, c.Body)
}

func appendInput(dst []byte, entry Entry, height uint64, time int64, version uint32, body []byte) []byte {
	n := HeaderSize + len(body)
	if cap(dst) < n {
		dst = make([]byte, n, max(n, PaymentSize))
	}
	dst = dst[:n]
	clear(dst[:HeaderSize])
	binary.LittleEndian.PutUint16(dst[offABIMinor:], ABIMinor)
	binary.LittleEndian.PutUint16(dst[offEntry:], uint16(entry))
	binary.LittleEndian.PutUint64(dst[offHeight:], height)
	binary.LittleEndian.PutUint64(dst[offTime:], uint64(time))
	binary.LittleEndian.PutUint32(dst[offRuleVersion:], version)
	copy(dst[HeaderSize:], body)
	return dst
}

// checkCall refuses malformed requests: these are caller bugs, not guest
// behaviour, so they are errors rather than result classes.
func checkCall(c *Call) error {
	switch c.Entry {
	case EntryPayment:
		if len(c.Body) != PaymentSize-HeaderSize {
			return fmt.Errorf("contracts: payment body is %d bytes, want %d", len(c.Body), PaymentSize-HeaderSize)
		}
	case EntryClaim:
		if len(c.Body) != ClaimSize-HeaderSize {
			return fmt.Errorf("contracts: claim body is %d bytes, want %d", len(c.Body), ClaimSize-HeaderSize)
		}
	case EntryQuery:
		if len(c.Body) > MaxQuery {
			return fmt.Errorf("contracts: query body is %d bytes, limit %d", len(c.Body), MaxQuery)
		}
	default:
		return fmt.Errorf("contracts: unknown entry %d", c.Entry)
	}
	return nil
}
