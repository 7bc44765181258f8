package trust

import (
	"fmt"
	"strings"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/module"
)

// Explanation is an agent's rating with every factor and gate that made
// it: the answer to /trust/score/<agent>. The points of the factors add up
// to the score.
type Explanation struct {
	AgentID   string   `json:"agent_id"`
	Score     int      `json:"score"`
	Tier      string   `json:"tier"`
	TierLabel string   `json:"tier_label"`
	Caps      CapsView `json:"caps"`
	Factors   []Factor `json:"factors"`
	Gates     []Gate   `json:"gates"`
	// AtTime is the block time (Unix seconds) the explanation is computed
	// at; ComputedAt… are those of the stored rating (0 if not yet rated).
	AtTime           int64     `json:"at_time"`
	ComputedAtHeight int64     `json:"computed_at_height"`
	ComputedAtTime   int64     `json:"computed_at_time"`
	NextTier         *NextTier `json:"next_tier"`
}

// CapsView is a tier's caps as JSON shows them: amounts in whole USD.
type CapsView struct {
	Autonomous bool   `json:"autonomous"`
	MaxPayment string `json:"max_payment"`
	MaxDaily   string `json:"max_daily"`
	Channels   bool   `json:"channels"`
}

// Factor is one line of the score: its input, the points it gave and how.
type Factor struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Points int    `json:"points"`
	Note   string `json:"note"`
}

// Gate is one condition that limits the tier whatever the points.
type Gate struct {
	Name   string `json:"name"`
	Rule   string `json:"rule"`
	Value  string `json:"value"`
	Pass   bool   `json:"pass"`
	Effect string `json:"effect"`
}

// NextTier says what the agent lacks for the tier above its own.
type NextTier struct {
	Tier     string   `json:"tier"`
	Label    string   `json:"label"`
	MinScore int      `json:"min_score"`
	Missing  []string `json:"missing"`
}

// Explain evaluates an agent at the context's time with every factor and
// gate. A context without a time (before any block is committed) evaluates
// at the time of the stored rating, so the answer is that rating explained.
func (k *Keeper) Explain(ctx *module.Context, agentID string) (Explanation, error) {
	c, err := k.config(ctx)
	if err != nil {
		return Explanation{}, err
	}
	var r record
	ok, err := load(store(ctx), agentID, &r)
	if err != nil {
		return Explanation{}, err
	}
	if !ok {
		f, err := k.id.AgentFacts(ctx, agentID)
		if err != nil {
			return Explanation{}, err
		}
		if err := setFacts(&r, &f); err != nil {
			return Explanation{}, err
		}
	}
	now := ctx.Time.Unix()
	if ctx.Time.IsZero() {
		now = r.onboardedAt
		if r.rated {
			now = r.computedTime
		}
	}
	return explain(agentID, &r, evaluate(&r, now, c), c), nil
}

func capsView(t *tier) CapsView {
	return CapsView{Autonomous: t.Autonomous, MaxPayment: t.MaxPayment, MaxDaily: t.MaxDaily, Channels: t.Channels}
}

func plural(n uint64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func explain(id string, r *record, b breakdown, c *config) Explanation {
	t := &c.tiers[b.tier]
	e := Explanation{
		AgentID: id, Score: b.score, Tier: t.Name, TierLabel: t.Label, Caps: capsView(t),
		AtTime: b.now, ComputedAtHeight: r.computedHeight, ComputedAtTime: r.computedTime,
	}
	halfDays := c.halfLife / day
	ago := func(n uint32, what string, last int64) string {
		if n == 0 {
			return "none"
		}
		return fmt.Sprintf("%s, latest %d days ago", plural(uint64(n), what, what+"s"), days(last, b.now))
	}
	decays := fmt.Sprintf("halving every %d days since the latest", halfDays)
	top := MaxScore
	if b.ceiling+1 < len(c.tiers) {
		top = c.tiers[b.ceiling+1].MinScore - 1
	}
	ceilingNote := "positive history within the ceiling"
	if b.points[fCeiling] < 0 {
		ceilingNote = fmt.Sprintf("positive history counts only up to %d, the top of %s, until the gates of a higher tier pass", top, c.tiers[b.ceiling].Name)
	}
	rotation := "none"
	if r.keyRotations > 0 {
		rotation = fmt.Sprintf("%s, latest %d days ago", plural(uint64(r.keyRotations), "rotation", "rotations"), days(r.lastRotatedAt, b.now))
	}
	floor := "not needed"
	if b.points[fFloor] > 0 {
		floor = fmt.Sprintf("sum %d", -b.points[fFloor])
	}
	lines := [numFactors][2]string{
		fLevel:        {fmt.Sprintf("level %d", b.level), fmt.Sprintf("highest unexpired attestation: L1 %d, L2 %d, L3 %d", pointsLevel1, pointsLevel2, pointsLevel3)},
		fIssuers:      {plural(uint64(b.issuers), "issuer", "issuers"), fmt.Sprintf("%d per independent issuer beyond the first, at most %d", pointsPerExtraIssuer, maxExtraIssuers)},
		fAge:          {plural(uint64(b.ageDays), "day", "days"), fmt.Sprintf("%d per day since onboarding, full at %d days", pointsPerAgeDay, ageFullDays)},
		fPayments:     {plural(r.settledPayments, "payment", "payments"), fmt.Sprintf("%d × integer square root of settled payments, at most %d", pointsPerSqrtPayment, maxPaymentPoints)},
		fVolume:       {chain.FormatDecimal(r.settledVolume, USDDecimals) + " USD", fmt.Sprintf("%d per binary digit of the whole-USD volume settled, at most %d", pointsPerVolumeBit, pointsPerVolumeBit*maxVolumeBits)},
		fClean:        {plural(uint64(b.cleanDays), "day", "days"), fmt.Sprintf("%d per day since onboarding or the latest lost claim, lost dispute, refund or suspension, at most %d", pointsPerCleanDay, maxCleanPoints)},
		fCeiling:      {"ceiling " + c.tiers[b.ceiling].Name, ceilingNote},
		fClaimsLost:   {ago(r.claimsLost, "lost claim", r.lastClaimLost), fmt.Sprintf("%d per lost claim (at most %d counted), %s", penaltyClaimLost, maxClaimsLostCounted, decays)},
		fDisputesLost: {ago(r.disputesLost, "lost dispute", r.lastDisputeLost), fmt.Sprintf("%d per lost channel dispute (at most %d counted), %s", penaltyDisputeLost, maxDisputesLostCounted, decays)},
		fSuspensions:  {ago(r.suspensions, "suspension", r.lastSuspendedAt), fmt.Sprintf("%d per past suspension (at most %d counted), %s", penaltySuspension, maxSuspensionsCounted, decays)},
		fRefunds:      {ago(r.refunds, "refund", r.lastRefund), fmt.Sprintf("%d per refund (at most %d counted), %s", penaltyRefund, maxRefundsCounted, decays)},
		fClaimsFiled:  {ago(r.claimsFiled, "claim", r.lastClaimFiled), fmt.Sprintf("%d per claim filed against the agent (at most %d counted), %s", penaltyClaimFiled, maxClaimsFiledCounted, decays)},
		fRotation:     {rotation, fmt.Sprintf("%d for a key rotation, falling linearly to 0 over %d days", penaltyRotation, c.rotationWindow/day)},
		fFloor:        {floor, "a score below 0 is raised to 0"},
	}
	e.Factors = make([]Factor, numFactors)
	for f := range numFactors {
		e.Factors[f] = Factor{Name: factorNames[f], Value: lines[f][0], Points: int(b.points[f]), Note: lines[f][1]}
	}

	t0 := c.tiers[0].Name
	suspended := "not suspended"
	if b.suspended {
		suspended = "suspended"
	}
	attested := fmt.Sprintf("level %d from %s", b.level, plural(uint64(b.issuers), "issuer", "issuers"))
	if b.unattested {
		attested = "no unexpired attestation"
	}
	probation := "none"
	if b.probation {
		probation = fmt.Sprintf("at most %s until %d", c.tiers[min(int(r.probationTier), len(c.tiers)-1)].Name, r.probationUntil)
	}
	e.Gates = []Gate{
		{Name: "not_suspended", Rule: "no suspension stands", Value: suspended, Pass: !b.suspended, Effect: "held in " + t0},
		{Name: "attested", Rule: "an unexpired attestation", Value: attested, Pass: !b.unattested, Effect: "held in " + t0},
		{Name: "probation", Rule: fmt.Sprintf("no probation from a lost claim or channel dispute (%d days, one tier below the tier held)", c.probation/day),
			Value: probation, Pass: !b.probation, Effect: "held at the probation tier"},
	}
	for i := 1; i < len(c.tiers); i++ {
		ti := &c.tiers[i]
		e.Gates = append(e.Gates, Gate{
			Name:   "tier_" + ti.Name,
			Rule:   fmt.Sprintf("attestation level ≥ %d, age ≥ %d days, settled payments ≥ %d", ti.MinAttestationLevel, ti.MinAgeDays, ti.MinSettledPayments),
			Value:  fmt.Sprintf("level %d, %d days, %d payments", b.level, b.ageDays, r.settledPayments),
			Pass:   i <= b.gateTier,
			Effect: fmt.Sprintf("held below %s", ti.Name),
		})
	}

	if b.tier+1 < len(c.tiers) {
		n := &c.tiers[b.tier+1]
		nt := &NextTier{Tier: n.Name, Label: n.Label, MinScore: n.MinScore, Missing: []string{}}
		miss := func(format string, args ...any) { nt.Missing = append(nt.Missing, fmt.Sprintf(format, args...)) }
		if b.suspended {
			miss("the suspension lifted")
		}
		if b.unattested {
			miss("an unexpired attestation")
		}
		if b.probation && int(r.probationTier) <= b.tier {
			miss("the end of probation at %d", r.probationUntil)
		}
		if b.level < n.MinAttestationLevel {
			miss("attestation level %d (has %d)", n.MinAttestationLevel, b.level)
		}
		if b.ageDays < n.MinAgeDays {
			miss("age %d days (has %d)", n.MinAgeDays, b.ageDays)
		}
		if r.settledPayments < n.MinSettledPayments {
			miss("%d settled payments (has %d)", n.MinSettledPayments, r.settledPayments)
		}
		if b.score < n.MinScore {
			miss("score %d (has %d)", n.MinScore, b.score)
		}
		e.NextTier = nt
	}
	return e
}

// Query answers:
//
//	/trust/score/<agent id or agent key address>   the rating explained (Explanation)
//	/trust/tiers                                   the tier table in force ([]Tier)
func (k *Keeper) Query(ctx *module.Context, path []string) (any, error) {
	switch {
	case len(path) == 2 && path[0] == "score":
		id, err := k.id.ResolveAgent(ctx, path[1])
		if err != nil {
			return nil, err
		}
		return k.Explain(ctx, id)
	case len(path) == 1 && path[0] == "tiers":
		c, err := k.config(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]Tier, len(c.tiers))
		for i := range c.tiers {
			out[i] = c.tiers[i].Tier
		}
		return out, nil
	}
	return nil, chain.Wrapf(chain.ErrNotFound, "no trust query %q", strings.Join(path, "/"))
}
