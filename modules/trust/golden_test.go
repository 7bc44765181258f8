package trust

import (
	"testing"
)

func (s *sim) expect(what string, id string, score int, tier string) {
	s.t.Helper()
	gs, gt := s.rating(id)
	c, err := s.k.config(s.ctx())
	if err != nil {
		s.t.Fatal(err)
	}
	if gs != score || c.tiers[gt].Name != tier {
		s.t.Errorf("%s: score %d tier %s, want %d %s", what, gs, c.tiers[gt].Name, score, tier)
	}
	// The stored rating explained adds up to itself.
	s.expectExplained(what, id, gs)
}

func (s *sim) expectExplained(what, id string, score int) {
	s.t.Helper()
	r := s.record(id)
	c, _ := s.k.config(s.ctx())
	e := explain(id, &r, evaluate(&r, r.computedTime, c), c)
	sum := 0
	for _, f := range e.Factors {
		sum += f.Points
	}
	if sum != score || e.Score != score {
		s.t.Errorf("%s: factors add up to %d, explanation says %d, stored %d", what, sum, e.Score, score)
	}
}

// TestGoldenHistory pins the score and tier of one agent through a scripted
// life with the default parameters. The comment at each check works the
// figure out from the factor table, so a change of weights shows here.
func TestGoldenHistory(t *testing.T) {
	s := newSim(t, map[string]any{ParamRescoreInterval: 1})
	const a = "agent-1"

	// Day 0: onboarded with an L1 attestation valid for a year.
	s.onboard(a, 365, 1)
	s.endBlock(at(1))
	s.expect("day 0, L1", a, 150, "T1") // level 150

	twenty := usd(t, "20")
	for d := int64(1); d <= 100; d++ {
		s.pay(a, 3, twenty)
		s.endBlock(at(d + 1))
		switch d {
		case 29:
			// level 150 + age 58 + payments 10×√87=90 + volume 5×11 bits
			// (1740 USD)=55 + clean 29 = 382, but the T2 gates (30 days)
			// do not pass yet.
			s.expect("day 29", a, 382, "T1")
		case 30:
			// 150 + 60 + 90 (√90=9) + 55 (1800 USD) + 30 = 385 < 450.
			s.expect("day 30", a, 385, "T1")
		case 50:
			// 150 + 100 + 120 (√150=12) + 60 (3000 USD, 12 bits) + 50 = 480.
			s.expect("day 50", a, 480, "T2")
		case 100:
			// 150 + 180 (full) + 150 (cap) + 65 (6000 USD, 13 bits) + 60 = 605.
			s.expect("day 100, 300 payments", a, 605, "T2")
		}
	}

	// Day 101: the issuer raises the attestation to L2.
	f := s.facts(a)
	f.Attestations[0].Level, f.Attestations[0].ExpiresAt = 2, at(101)+365*day
	s.push(f)
	s.endBlock(at(102))
	s.expect("day 101, L2", a, 755, "T3") // 300 + 180 + 150 + 65 + 60

	// Day 102: key rotation, 50 points falling to 0 over 7 days.
	f = s.facts(a)
	f.KeyRotations, f.LastRotatedAt = 1, s.now
	s.push(f)
	s.endBlock(at(106))
	s.expect("day 102, rotation", a, 705, "T2")
	s.endBlock(at(109))
	s.expect("day 106", a, 734, "T2") // 755 - 50×3/7
	s.endBlock(at(110))
	s.expect("day 109", a, 755, "T3")

	// Day 110: a lost claim. The tier the payments module sees drops at
	// once; the stored rating at the end of the block.
	if err := s.k.RecordClaimLost(s.ctx(), a); err != nil {
		t.Fatal(err)
	}
	if tc, err := s.k.Tier(s.ctx(), a); err != nil || tc.Name != "T1" {
		t.Errorf("Tier right after the lost claim: %+v %v, want T1", tc, err)
	}
	s.endBlock(at(125))
	// 300 + 180 + 150 + 65 + clean 0 - 400 = 295; probation holds it at T2
	// at most for 30 days.
	s.expect("day 110, claim lost", a, 295, "T1")
	last := s.events[len(s.events)-1]
	if last.Type != EventRating || last.Attrs[2].Value != "T1" || last.Attrs[3].Value != "T3" {
		t.Errorf("event %+v, want trust_rating T3 -> T1", last)
	}

	// Decay: the penalty halves every 30 days, linearly in between.
	s.endBlock(at(140))
	s.expect("day 125", a, 410, "T1") // 695 + clean 15 - (400 - 400×15/60 = 300)
	s.endBlock(at(170))
	s.expect("day 140", a, 525, "T2") // 725 - 200; probation over
	s.endBlock(at(320))
	s.expect("day 170", a, 655, "T2") // 755 - 100
	s.endBlock(at(330))
	s.expect("day 320", a, 752, "T3") // 755 - 400>>7

	// Day 330: suspended. Held in T0, and 150 per past suspension.
	f = s.facts(a)
	f.Suspended, f.Suspensions, f.LastSuspendedAt = true, 1, s.now
	s.push(f)
	s.endBlock(at(331))
	// 695 capped at 149 (top of T0) - 3 (claim) - 150 (suspension) < 0.
	s.expect("day 330, suspended", a, 0, "T0")

	// Day 331: reinstated.
	f = s.facts(a)
	f.Suspended = false
	s.push(f)
	s.endBlock(at(465))
	// 300+180+150+65 + clean 1 - 3 (claim) - (150 - 150/60 = 148) = 545.
	s.expect("day 331, reinstated", a, 545, "T2")

	// The L2 attestation given on day 101 expires on day 466.
	s.endBlock(at(466))
	// 755 - suspension (150>>4 = 9, 9 - 9×15/60 = 7) = 748.
	s.expect("day 465", a, 748, "T2")
	if tc, err := s.k.Tier(s.ctx(), a); err != nil || tc.Name != "T0" || tc.Score != 142 {
		t.Errorf("Tier at expiry, before the block ends: %+v %v, want T0 (142)", tc, err)
	}
	s.endBlock(at(467))
	// No attestation: held in T0. 455 capped at 149, - 7.
	s.expect("day 466, expired", a, 142, "T0")
}
