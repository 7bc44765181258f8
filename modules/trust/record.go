package trust

import (
	"encoding/binary"

	"github.com/amp-ledger/amp/chain"
)

// record is everything the rating keeps about one agent: the facts it
// scores and the rating last computed. It is stored in a fixed binary
// layout (below), so a rescore is one Get, a decode, the arithmetic, an
// encode and one Set, with no JSON and no reflection.
type record struct {
	// Facts pushed by the identity module.
	onboardedAt     int64
	suspended       bool
	suspensions     uint32
	lastSuspendedAt int64
	keyRotations    uint32
	lastRotatedAt   int64
	attestations    []attestation

	// Facts recorded by payments, claims and channels.
	settledPayments uint64
	settledVolume   chain.Amount // USD base units (18 decimals)
	claimsFiled     uint32
	lastClaimFiled  int64
	claimsLost      uint32
	lastClaimLost   int64
	refunds         uint32
	lastRefund      int64
	disputesLost    uint32
	lastDisputeLost int64

	// Probation: until probationUntil (Unix seconds) the agent rates at
	// most probationTier.
	probationTier  uint8
	probationUntil int64

	// The rating, as computed at the end of block computedHeight.
	rated          bool
	score          uint16
	tier           uint8
	computedHeight int64
	computedTime   int64
	// dueHeight is the height of the agent's scheduled rescore (its one
	// entry in the queue), 0 while it is not yet rated.
	dueHeight int64
}

type attestation struct {
	issuer    chain.Address
	level     uint32
	expiresAt int64
}

// Record layout, big-endian, version 1:
//
//	0    u8   version (1)
//	1    u8   flags: 1 suspended, 2 rated
//	2    u16  score
//	4    u8   tier
//	5    u8   probation tier
//	6    u32  suspensions, key rotations, claims filed, claims lost,
//	          refunds, disputes lost (6 × 4 bytes)
//	30   u64  settled payments
//	38   i64  onboarded at, last suspended at, last rotated at, last claim
//	          filed, last claim lost, last refund, last dispute lost,
//	          probation until, computed height, computed time, due height
//	          (11 × 8 bytes)
//	126  [32] settled volume
//	158  u16  number of attestations n
//	160  n × (20-byte issuer, u32 level, i64 expires at)
const (
	recordVersion   = 1
	recordFixedLen  = 160
	attestationLen  = chain.AddressLen + 4 + 8
	maxAttestations = 1024
	flagSuspended   = 1
	flagRated       = 2
)

func (r *record) encode() []byte {
	b := make([]byte, recordFixedLen+len(r.attestations)*attestationLen)
	b[0] = recordVersion
	if r.suspended {
		b[1] |= flagSuspended
	}
	if r.rated {
		b[1] |= flagRated
	}
	be := binary.BigEndian
	be.PutUint16(b[2:], r.score)
	b[4], b[5] = r.tier, r.probationTier
	for i, v := range [...]uint32{r.suspensions, r.keyRotations, r.claimsFiled, r.claimsLost, r.refunds, r.disputesLost} {
		be.PutUint32(b[6+4*i:], v)
	}
	be.PutUint64(b[30:], r.settledPayments)
	for i, v := range [...]int64{r.onboardedAt, r.lastSuspendedAt, r.lastRotatedAt, r.lastClaimFiled, r.lastClaimLost,
		r.lastRefund, r.lastDisputeLost, r.probationUntil, r.computedHeight, r.computedTime, r.dueHeight} {
		be.PutUint64(b[38+8*i:], uint64(v))
	}
	vol := r.settledVolume.Bytes32()
	copy(b[126:158], vol[:])
	be.PutUint16(b[158:], uint16(len(r.attestations)))
	p := b[recordFixedLen:]
	for _, a := range r.attestations {
		copy(p, a.issuer[:])
		be.PutUint32(p[chain.AddressLen:], a.level)
		be.PutUint64(p[chain.AddressLen+4:], uint64(a.expiresAt))
		p = p[attestationLen:]
	}
	return b
}

// decode fills r from b, reusing r's attestation slice.
func (r *record) decode(b []byte) error {
	if len(b) < recordFixedLen || b[0] != recordVersion {
		return chain.Wrapf(chain.ErrInternal, "trust record of %d bytes, version %d", len(b), firstByte(b))
	}
	be := binary.BigEndian
	n := int(be.Uint16(b[158:]))
	if len(b) != recordFixedLen+n*attestationLen {
		return chain.Wrapf(chain.ErrInternal, "trust record of %d bytes holds %d attestations", len(b), n)
	}
	r.suspended, r.rated = b[1]&flagSuspended != 0, b[1]&flagRated != 0
	r.score = be.Uint16(b[2:])
	r.tier, r.probationTier = b[4], b[5]
	for i, p := range [...]*uint32{&r.suspensions, &r.keyRotations, &r.claimsFiled, &r.claimsLost, &r.refunds, &r.disputesLost} {
		*p = be.Uint32(b[6+4*i:])
	}
	r.settledPayments = be.Uint64(b[30:])
	for i, p := range [...]*int64{&r.onboardedAt, &r.lastSuspendedAt, &r.lastRotatedAt, &r.lastClaimFiled, &r.lastClaimLost,
		&r.lastRefund, &r.lastDisputeLost, &r.probationUntil, &r.computedHeight, &r.computedTime, &r.dueHeight} {
		*p = int64(be.Uint64(b[38+8*i:]))
	}
	r.settledVolume, _ = chain.AmountFromBytes32(b[126:158])
	r.attestations = r.attestations[:0]
	p := b[recordFixedLen:]
	for i := 0; i < n; i++ {
		var a attestation
		copy(a.issuer[:], p)
		a.level = be.Uint32(p[chain.AddressLen:])
		a.expiresAt = int64(be.Uint64(p[chain.AddressLen+4:]))
		r.attestations = append(r.attestations, a)
		p = p[attestationLen:]
	}
	return nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

// incr adds one to a count, saturating rather than wrapping.
func incr(n *uint32) {
	if *n < ^uint32(0) {
		*n++
	}
}
