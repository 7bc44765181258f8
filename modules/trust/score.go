package trust

import "github.com/amp-ledger/amp/chain"

// MaxScore is the highest score; scores are whole numbers 0..MaxScore.
const MaxScore = 1000

const day = 86400 // seconds

// The factor table. Every weight is a whole number of points; docs/trust.md
// explains each one. They are constants, not parameters, so the table can
// be reasoned about as a whole: the claim against the cheap-tier attack and
// against a misbehaving agent keeping its tier rests on their proportions.
const (
	// Positive history: at most 400+80+180+150+100+60 = 970 points.
	pointsLevel1, pointsLevel2, pointsLevel3 = 150, 300, 400
	pointsPerExtraIssuer                     = 40
	maxExtraIssuers                          = 2
	pointsPerAgeDay                          = 2
	ageFullDays                              = 90 // 180 points
	pointsPerSqrtPayment                     = 10
	maxPaymentPoints                         = 150 // reached at 225 payments
	pointsPerVolumeBit                       = 5
	maxVolumeBits                            = 20 // 100 points, from 2^19 = 524,288 USD
	pointsPerCleanDay                        = 1
	maxCleanPoints                           = 60

	// Negative evidence, each before decay. One lost claim (400) costs more
	// than everything settled payments and volume can give (250).
	penaltyClaimLost, maxClaimsLostCounted     = 400, 5
	penaltyDisputeLost, maxDisputesLostCounted = 200, 5
	penaltySuspension, maxSuspensionsCounted   = 150, 5
	penaltyRefund, maxRefundsCounted           = 20, 15
	penaltyClaimFiled, maxClaimsFiledCounted   = 10, 20
	penaltyRotation                            = 50
)

// Factor indexes, in the order the explanation lists them.
const (
	fLevel = iota
	fIssuers
	fAge
	fPayments
	fVolume
	fClean
	fCeiling
	fClaimsLost
	fDisputesLost
	fSuspensions
	fRefunds
	fClaimsFiled
	fRotation
	fFloor
	numFactors
)

var factorNames = [numFactors]string{
	"attestation_level", "extra_issuers", "age", "settled_payments", "settled_volume", "clean_record",
	"gate_ceiling", "claims_lost", "channel_disputes_lost", "suspensions", "refunds", "claims_filed",
	"key_rotation", "floor",
}

// volumeSteps[k] is 2^k USD in base units: the whole-USD volume has at
// least k+1 bits exactly when it reaches volumeSteps[k].
var volumeSteps = func() (s [maxVolumeBits]chain.Amount) {
	one, _ := chain.ParseDecimal("1", USDDecimals)
	for k := range s {
		s[k], _ = one.MulDiv(1<<k, 1)
	}
	return s
}()

// breakdown is one evaluation of an agent at a time: the inputs each factor
// read, the points it gave, the gates and the result. Rescoring and
// explaining share it, so an explanation always adds up to the score.
type breakdown struct {
	now        int64
	level      uint32 // effective attestation level
	issuers    int    // distinct issuers with an unexpired attestation
	ageDays    int64
	cleanDays  int64
	volumeBits int
	points     [numFactors]int64

	suspended  bool // hard gate
	unattested bool // hard gate
	gateTier   int  // highest tier whose per-tier gates (and all below) pass
	probation  bool // probation active
	ceiling    int  // highest tier the agent may reach
	score      int
	tier       int
}

// decay returns p halved once for every full half-life in elapsed, and
// linearly between two halvings; elapsed <= 0 keeps p whole.
func decay(p, elapsed, half int64) int64 {
	if elapsed <= 0 || p <= 0 {
		return p
	}
	k := elapsed / half
	if k >= 62 {
		return 0
	}
	q := p >> k
	return q - q*(elapsed%half)/(2*half)
}

func isqrt(n uint64) uint64 {
	var r uint64
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}

func days(from, to int64) int64 {
	if to <= from {
		return 0
	}
	return (to - from) / day
}

func penalty(per int64, count uint32, maxCount uint32, last, now, half int64) int64 {
	if count == 0 {
		return 0
	}
	return decay(per*int64(min(count, maxCount)), now-last, half)
}

// evaluate scores r at time now (Unix seconds) under c. It reads r only.
func evaluate(r *record, now int64, c *config) (b breakdown) {
	b.now = now

	// Attestations: effective level and independent issuers count only
	// attestations unexpired at now. They are stored in issuer order.
	var lastIssuer *chain.Address
	for i := range r.attestations {
		a := &r.attestations[i]
		if a.expiresAt <= now {
			continue
		}
		b.level = max(b.level, a.level)
		if lastIssuer == nil || *lastIssuer != a.issuer {
			b.issuers++
			lastIssuer = &a.issuer
		}
	}
	switch {
	case b.level >= 3:
		b.points[fLevel] = pointsLevel3
	case b.level == 2:
		b.points[fLevel] = pointsLevel2
	case b.level == 1:
		b.points[fLevel] = pointsLevel1
	}
	if b.issuers > 1 {
		b.points[fIssuers] = pointsPerExtraIssuer * int64(min(b.issuers-1, maxExtraIssuers))
	}

	b.ageDays = days(r.onboardedAt, now)
	b.points[fAge] = pointsPerAgeDay * min(b.ageDays, ageFullDays)

	if r.settledPayments >= maxPaymentPoints*maxPaymentPoints/(pointsPerSqrtPayment*pointsPerSqrtPayment) {
		b.points[fPayments] = maxPaymentPoints
	} else {
		b.points[fPayments] = min(maxPaymentPoints, pointsPerSqrtPayment*int64(isqrt(r.settledPayments)))
	}

	for b.volumeBits < maxVolumeBits && r.settledVolume.Cmp(volumeSteps[b.volumeBits]) >= 0 {
		b.volumeBits++
	}
	b.points[fVolume] = pointsPerVolumeBit * int64(b.volumeBits)

	since := max(r.onboardedAt, r.lastClaimLost, r.lastDisputeLost, r.lastRefund, r.lastSuspendedAt)
	b.cleanDays = days(since, now)
	b.points[fClean] = min(maxCleanPoints, pointsPerCleanDay*b.cleanDays)

	// Negative evidence, each decaying from the latest event of its kind.
	h := c.halfLife
	b.points[fClaimsLost] = -penalty(penaltyClaimLost, r.claimsLost, maxClaimsLostCounted, r.lastClaimLost, now, h)
	b.points[fDisputesLost] = -penalty(penaltyDisputeLost, r.disputesLost, maxDisputesLostCounted, r.lastDisputeLost, now, h)
	b.points[fSuspensions] = -penalty(penaltySuspension, r.suspensions, maxSuspensionsCounted, r.lastSuspendedAt, now, h)
	b.points[fRefunds] = -penalty(penaltyRefund, r.refunds, maxRefundsCounted, r.lastRefund, now, h)
	b.points[fClaimsFiled] = -penalty(penaltyClaimFiled, r.claimsFiled, maxClaimsFiledCounted, r.lastClaimFiled, now, h)
	if r.keyRotations > 0 && c.rotationWindow > 0 {
		if e := max(0, now-r.lastRotatedAt); e < c.rotationWindow {
			b.points[fRotation] = -penaltyRotation * (c.rotationWindow - e) / c.rotationWindow
		}
	}

	// Gates: the highest tier the agent may reach.
	for i := 1; i < len(c.tiers); i++ {
		t := &c.tiers[i]
		if b.level < t.MinAttestationLevel || b.ageDays < t.MinAgeDays || r.settledPayments < t.MinSettledPayments {
			break
		}
		b.gateTier = i
	}
	b.ceiling = b.gateTier
	b.suspended, b.unattested = r.suspended, b.level == 0
	if b.suspended || b.unattested {
		b.ceiling = 0
	}
	if now < r.probationUntil {
		b.probation = true
		b.ceiling = min(b.ceiling, int(r.probationTier))
	}

	// Positive history counts only up to the top of the ceiling tier's
	// band; negative evidence is then taken off in full.
	var pos int64
	for f := fLevel; f <= fClean; f++ {
		pos += b.points[f]
	}
	top := int64(MaxScore)
	if b.ceiling+1 < len(c.tiers) {
		top = int64(c.tiers[b.ceiling+1].MinScore) - 1
	}
	if pos > top {
		b.points[fCeiling] = top - pos
	}
	var s int64
	for f := fLevel; f < fFloor; f++ {
		s += b.points[f]
	}
	if s < 0 {
		b.points[fFloor] = -s
		s = 0
	}
	b.score = int(s) // <= top <= MaxScore
	b.tier = tierOf(c.tiers, b.score)
	return b
}

// tierOf is the highest tier whose min_score the score reaches.
func tierOf(ts []tier, score int) int {
	t := 0
	for i := 1; i < len(ts) && ts[i].MinScore <= score; i++ {
		t = i
	}
	return t
}
