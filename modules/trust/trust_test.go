package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
)

// TestCannotBuyCheaply: an agent with the best attestation from three
// issuers and thousands of large settled payments on its first day stays
// in T1 until the T2 age gate (30 days) and below T3 until 90 days.
func TestCannotBuyCheaply(t *testing.T) {
	s := newSim(t, map[string]any{ParamRescoreInterval: 1})
	const a = "agent-7"
	s.onboard(a, 365, 3, 3, 3)
	s.pay(a, 5000, usd(t, "1000"))
	s.endBlock(at(1))
	s.expect("day 0", a, 449, "T1") // 400+80+150+100 = 730, held at the top of T1
	for d := int64(1); d <= 90; d++ {
		s.pay(a, 10, usd(t, "1000"))
		s.endBlock(at(d + 1))
		_, tier := s.rating(a)
		switch {
		case d < 30 && tier > 1:
			t.Fatalf("day %d: tier T%d before the 30-day gate", d, tier)
		case d < 90 && tier > 2:
			t.Fatalf("day %d: tier T%d before the 90-day gate", d, tier)
		case d == 30:
			s.expect("day 30", a, 749, "T2") // 820, held at the top of T2
		case d == 90:
			s.expect("day 90", a, 970, "T3") // every positive factor at its cap
		}
	}
}

// randomAgent adds an agent of a random history, rated at the end of the
// block.
func (s *sim) randomAgent(rng *rand.Rand, id string) {
	levels := make([]uint32, 1+rng.Intn(3))
	for i := range levels {
		levels[i] = uint32(1 + rng.Intn(3))
	}
	f := identity.AgentFacts{AgentID: id, OnboardedAt: s.now - int64(rng.Intn(200))*day}
	for i, l := range levels {
		f.Attestations = append(f.Attestations, identity.AttestationFact{Issuer: issuer(byte(i + 1)), Level: l, ExpiresAt: s.now + 400*day})
	}
	if rng.Intn(4) == 0 {
		f.KeyRotations, f.LastRotatedAt = 1, s.now-int64(rng.Intn(10))*day
	}
	if rng.Intn(5) == 0 {
		f.Suspensions, f.LastSuspendedAt = 1, s.now-int64(rng.Intn(300))*day
	}
	s.push(f)
	s.pay(id, rng.Intn(400), usd(s.t, fmt.Sprint(1+rng.Intn(500))))
}

// TestLostClaimDropsATier: for agents of every kind of history, a lost
// claim (or a lost channel dispute) puts them at least one tier lower at
// the end of that very block, even when the gates of a higher tier open in
// the same block.
func TestLostClaimDropsATier(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, kind := range []string{"claim", "dispute"} {
		s := newSim(t, map[string]any{ParamRescoreInterval: 1})
		s.now = at(300)
		var ids []string
		for i := range 300 {
			id := fmt.Sprintf("agent-%d", i)
			s.randomAgent(rng, id)
			ids = append(ids, id)
		}
		// One agent whose T3 gates open exactly in the block of the loss.
		gate := "agent-gate"
		s.push(identity.AgentFacts{AgentID: gate, OnboardedAt: s.now - 90*day + 1,
			Attestations: []identity.AttestationFact{{Issuer: issuer(1), Level: 3, ExpiresAt: s.now + 400*day}}})
		s.pay(gate, 300, usd(t, "50"))
		ids = append(ids, gate)
		s.endBlock(s.now + 1)
		before := map[string]int{}
		for _, id := range ids {
			_, before[id] = s.rating(id)
		}
		if before[gate] != 2 {
			e, _ := s.k.Explain(s.ctx(), gate)
			t.Fatalf("gate agent starts in T%d, want T2: %+v", before[gate], e)
		}
		for _, id := range ids {
			var err error
			if kind == "claim" {
				err = s.k.RecordClaimLost(s.ctx(), id)
			} else {
				err = s.k.RecordChannelDispute(s.ctx(), id)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		s.endBlock(s.now + 1)
		dropped := 0
		for _, id := range ids {
			_, after := s.rating(id)
			if before[id] > 0 && after >= before[id] {
				t.Errorf("%s %s: tier T%d -> T%d", kind, id, before[id], after)
			}
			if after < before[id] {
				dropped++
			}
		}
		if dropped < 100 {
			t.Errorf("%s: only %d agents dropped; the profiles are too weak to test anything", kind, dropped)
		}
		// And probation keeps them there for its 30 days.
		s.endBlock(s.now + 29*day)
		for _, id := range ids {
			if _, after := s.rating(id); before[id] > 0 && after >= before[id] {
				t.Errorf("%s %s: back to T%d within probation", kind, id, after)
			}
		}
	}
}

// script feeds a seeded random history of facts and block advances to a
// fresh sim. It is the driver of the determinism and property tests.
func script(t testing.TB, seed int64, blocks int, check func(s *sim)) *sim {
	rng := rand.New(rand.NewSource(seed))
	s := newSim(t, map[string]any{ParamRescoreInterval: 1 + rng.Intn(20), ParamPenaltyHalfLife: 1 + rng.Intn(60)})
	ids := []string{}
	for b := 0; b < blocks; b++ {
		for range rng.Intn(6) {
			if len(ids) == 0 || rng.Intn(8) == 0 {
				id := fmt.Sprintf("agent-%d", len(ids)+1)
				ids = append(ids, id)
				levels := []uint32{}
				for range rng.Intn(4) {
					levels = append(levels, uint32(rng.Intn(5)))
				}
				s.onboard(id, int64(rng.Intn(400)), levels...)
				continue
			}
			id := ids[rng.Intn(len(ids))]
			var err error
			switch rng.Intn(10) {
			case 0:
				f := s.facts(id)
				f.Suspended = !f.Suspended
				if f.Suspended {
					f.Suspensions++
					f.LastSuspendedAt = s.now
				}
				s.push(f)
			case 1:
				f := s.facts(id)
				f.KeyRotations++
				f.LastRotatedAt = s.now
				s.push(f)
			case 2:
				f := s.facts(id)
				f.Attestations = append(f.Attestations, identity.AttestationFact{
					Issuer: issuer(byte(rng.Intn(4))), Level: uint32(rng.Intn(4)), ExpiresAt: s.now + int64(rng.Intn(200))*day})
				s.push(f)
			case 3:
				err = s.k.RecordClaimFiled(s.ctx(), id)
			case 4:
				err = s.k.RecordClaimLost(s.ctx(), id)
			case 5:
				err = s.k.RecordRefund(s.ctx(), id)
			case 6:
				err = s.k.RecordChannelDispute(s.ctx(), id)
			default:
				err = s.k.RecordSettledPayment(s.ctx(), id, chain.NewAmount(1+uint64(rng.Int63n(1<<62))))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		// Blocks a second apart, with now and then a jump of days.
		next := s.now + 1
		if rng.Intn(5) == 0 {
			next += int64(rng.Intn(40)) * day
		}
		s.endBlock(next)
		if check != nil {
			check(s)
		}
	}
	return s
}

// TestDeterminism: two stores fed the same history are byte-identical and
// emitted the same events.
func TestDeterminism(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		a, b := script(t, seed, 300, nil), script(t, seed, 300, nil)
		if !reflect.DeepEqual(dump(a.store), dump(b.store)) {
			t.Fatalf("seed %d: stores differ", seed)
		}
		if !reflect.DeepEqual(a.events, b.events) {
			t.Fatalf("seed %d: events differ", seed)
		}
		if len(a.events) == 0 {
			t.Fatalf("seed %d: no rating events at all", seed)
		}
	}
}

// TestRandomHistories: over random histories every score is within
// 0..1000 and the invariants hold (they run after every block), every
// explanation adds up to the stored score, the live Tier is never above the
// stored one, and Tier agrees with the stored rating right after it.
func TestRandomHistories(t *testing.T) {
	for seed := int64(100); seed < 108; seed++ {
		script(t, seed, 400, func(s *sim) {
			if s.height%4 != 0 {
				return // the invariants ran; the explanations every 4th block
			}
			c, err := s.k.config(s.ctx())
			if err != nil {
				t.Fatal(err)
			}
			eachRecord(store(s.ctx()), func(id string, r *record) error {
				if r.score > MaxScore {
					t.Fatalf("%s: score %d", id, r.score)
				}
				e := explain(id, r, evaluate(r, r.computedTime, c), c)
				sum := 0
				for _, f := range e.Factors {
					sum += f.Points
				}
				if sum != int(r.score) || e.Score != int(r.score) || e.Tier != c.tiers[r.tier].Name {
					t.Fatalf("%s: explanation %d (sum %d) %s, stored %d %s", id, e.Score, sum, e.Tier, r.score, c.tiers[r.tier].Name)
				}
				tc, err := s.k.Tier(s.ctx(), id)
				if err != nil {
					t.Fatal(err)
				}
				if tc.Index > int(r.tier) {
					t.Fatalf("%s: live tier %d above stored %d", id, tc.Index, r.tier)
				}
				return nil
			})
		})
	}
}

// TestScheduleServesOnlyDueAgents: with an interval of 10 blocks, an agent
// is rescored when touched and then every 10 blocks, and a block in which
// no agent is due or touched writes nothing.
func TestScheduleServesOnlyDueAgents(t *testing.T) {
	s := newSim(t, map[string]any{ParamRescoreInterval: 10})
	s.onboard("agent-1", 365, 1)
	s.endBlock(s.now + 1) // height 1: first rating, due at 11
	s.endBlock(s.now + 1)
	for range 3 {
		s.endBlock(s.now + 1) // heights 3-5
	}
	s.onboard("agent-2", 365, 2)
	s.endBlock(s.now + 1) // height 6: agent-2 rated, due at 16
	for s.height < 11 {
		before := dump(s.store)
		s.endBlock(s.now + 1)
		if !reflect.DeepEqual(before, dump(s.store)) {
			t.Fatalf("height %d: a block with nothing due wrote state", s.height-1)
		}
	}
	s.endBlock(s.now + day) // height 11: agent-1 due
	if r := s.record("agent-1"); r.computedHeight != 11 || r.dueHeight != 21 {
		t.Errorf("agent-1 computed at %d, due %d; want 11, 21", r.computedHeight, r.dueHeight)
	}
	if r := s.record("agent-2"); r.computedHeight != 6 || r.dueHeight != 16 {
		t.Errorf("agent-2 computed at %d, due %d; want 6, 16", r.computedHeight, r.dueHeight)
	}
	// Touched in a block where it is also due: computed once, requeued.
	for s.height < 16 {
		s.endBlock(s.now + 1)
	}
	s.pay("agent-2", 1, usd(t, "1"))
	s.endBlock(s.now + 1)
	if r := s.record("agent-2"); r.computedHeight != 16 || r.dueHeight != 26 || r.settledPayments != 1 {
		t.Errorf("agent-2 computed at %d, due %d, %d payments; want 16, 26, 1", r.computedHeight, r.dueHeight, r.settledPayments)
	}
}

// TestParamChangeRescoresAll: governance raising a tier's min_score re-rates
// every agent at the end of that block, so the invariants keep holding.
func TestParamChangeRescoresAll(t *testing.T) {
	s := newSim(t, map[string]any{ParamRescoreInterval: 1000})
	for i := range 5 {
		s.onboard(fmt.Sprintf("agent-%d", i), 365, 1)
	}
	s.endBlock(s.now + 1)
	if _, tier := s.rating("agent-3"); tier != 1 {
		t.Fatalf("tier %d, want T1", tier)
	}
	ts := DefaultTiers()
	ts[1].MinScore = 200
	raw, _ := json.Marshal(ts)
	if err := s.ps.Set(s.ctx(), ParamTiers, raw); err != nil {
		t.Fatal(err)
	}
	s.endBlock(s.now + 1)
	for i := range 5 {
		if _, tier := s.rating(fmt.Sprintf("agent-%d", i)); tier != 0 {
			t.Errorf("agent-%d: tier %d after T1 moved to 200, want T0", i, tier)
		}
	}
}

// TestInvariantsCatchCorruption: each invariant fails on a record broken
// in its way.
func TestInvariantsCatchCorruption(t *testing.T) {
	cases := []struct {
		name   string
		inv    string
		break_ func(r *record)
	}{
		{"score out of range", "trust/ratings", func(r *record) { r.score = 1001 }},
		{"tier not the table's", "trust/ratings", func(r *record) { r.tier = 3 }},
		{"score not the facts'", "trust/ratings", func(r *record) { r.score = 160 }},
		{"suspended above T0", "trust/ratings", func(r *record) { r.suspended = true }},
		{"due in the past", "trust/schedule", func(r *record) { r.dueHeight = 1 }},
		{"queue entry missing", "trust/schedule", func(r *record) { r.dueHeight += 5 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, nil)
			s.onboard("agent-1", 365, 1)
			s.endBlock(s.now + 1)
			r := s.record("agent-1")
			tc.break_(&r)
			store(s.ctx()).Set(recordKey("agent-1"), r.encode())
			for _, inv := range s.k.Invariants() {
				if inv.Name == tc.inv {
					if err := inv.Check(s.ctx()); err == nil {
						t.Errorf("%s passed", inv.Name)
					}
				}
			}
		})
	}
}

func TestTierTableValidation(t *testing.T) {
	mod := func(f func(ts []Tier) []Tier) []Tier { return f(DefaultTiers()) }
	cases := []struct {
		name string
		ts   any
	}{
		{"empty", []Tier{}},
		{"first min_score not 0", mod(func(ts []Tier) []Tier { ts[0].MinScore = 1; return ts })},
		{"first tier has a gate", mod(func(ts []Tier) []Tier { ts[0].MinAgeDays = 1; return ts })},
		{"min_score not ascending", mod(func(ts []Tier) []Tier { ts[2].MinScore = 150; return ts })},
		{"min_score above 1000", mod(func(ts []Tier) []Tier { ts[3].MinScore = 1001; return ts })},
		{"duplicate name", mod(func(ts []Tier) []Tier { ts[2].Name = "T1"; return ts })},
		{"empty name", mod(func(ts []Tier) []Tier { ts[2].Name = ""; return ts })},
		{"max_payment falls", mod(func(ts []Tier) []Tier { ts[3].MaxPayment = "400"; return ts })},
		{"max_daily falls", mod(func(ts []Tier) []Tier { ts[3].MaxDaily = "1000"; return ts })},
		{"max_payment above max_daily", mod(func(ts []Tier) []Tier { ts[1].MaxPayment = "600"; return ts })},
		{"channels taken back", mod(func(ts []Tier) []Tier { ts[3].Channels = false; return ts })},
		{"autonomy taken back", mod(func(ts []Tier) []Tier { ts[3].Autonomous = false; return ts })},
		{"gate falls", mod(func(ts []Tier) []Tier { ts[3].MinAgeDays = 10; return ts })},
		{"level gate falls", mod(func(ts []Tier) []Tier { ts[2].MinAttestationLevel = 3; return ts })},
		{"negative age", mod(func(ts []Tier) []Tier { ts[1].MinAgeDays = -1; return ts })},
		{"bad amount", mod(func(ts []Tier) []Tier { ts[1].MaxPayment = "1e3"; return ts })},
		{"too many decimals", mod(func(ts []Tier) []Tier { ts[1].MaxPayment = "0.0000000000000000001"; return ts })},
		{"unknown field", []map[string]any{{"name": "T0", "label": "x", "min_score": 0, "max_payment": "0", "max_daily": "0", "colour": "red"}}},
		{"too many tiers", func() []Tier {
			ts := []Tier{{Name: "T0", MaxPayment: "0", MaxDaily: "0"}}
			for i := 1; i <= MaxTiers; i++ {
				ts = append(ts, Tier{Name: fmt.Sprint("T", i), MinScore: i, MaxPayment: "0", MaxDaily: "0"})
			}
			return ts
		}()},
		{"not a list", map[string]any{"name": "T0"}},
	}
	ps := params.New()
	New(ps, &fakeIdentity{})
	for _, tc := range cases {
		raw, _ := json.Marshal(tc.ts)
		err := ps.Validate(ParamTiers, raw)
		if !errors.Is(err, params.ErrInvalidParam) {
			t.Errorf("%s: %v, want invalid_param", tc.name, err)
		}
		if _, err := parseTiers(raw); !errors.Is(err, ErrInvalidTiers) {
			t.Errorf("%s: parseTiers %v, want invalid_tiers", tc.name, err)
		}
	}
	good := []Tier{{Name: "only", MaxPayment: "0", MaxDaily: "0"}}
	raw, _ := json.Marshal(good)
	if err := ps.Validate(ParamTiers, raw); err != nil {
		t.Errorf("one-tier table: %v", err)
	}
	for _, bad := range []struct{ key, val string }{
		{ParamPenaltyHalfLife, "0"}, {ParamPenaltyHalfLife, "3651"}, {ParamPenaltyHalfLife, "1.5"},
		{ParamProbationDays, "0"}, {ParamRotationWindow, "-1"}, {ParamRescoreInterval, "0"}, {ParamRescoreInterval, `"10"`},
	} {
		if err := ps.Validate(bad.key, json.RawMessage(bad.val)); !errors.Is(err, params.ErrInvalidParam) {
			t.Errorf("%s = %s: %v, want invalid_param", bad.key, bad.val, err)
		}
	}
}

func TestQuery(t *testing.T) {
	s := newSim(t, nil)
	s.onboard("agent-1", 365, 2)
	keyAddr := issuer(9).String()
	s.id.keys[keyAddr] = "agent-1"
	s.pay("agent-1", 4, usd(t, "2.5"))
	s.endBlock(s.now + 1)

	// A node query has no block time: the stored rating is explained.
	q := module.NewContext("test", s.height-1, time.Time{}, s.store, nil, nil)
	for _, ref := range []string{"agent-1", keyAddr} {
		v, err := s.k.Query(q, []string{"score", ref})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(v)
		var got map[string]any
		json.Unmarshal(raw, &got)
		// level 300 + payments 20 + volume 5×4 bits (10 USD) = 340.
		if got["agent_id"] != "agent-1" || got["score"] != 340.0 || got["tier"] != "T1" || got["tier_label"] != "supervised" {
			t.Errorf("%s: %s", ref, raw)
		}
		factors, _ := got["factors"].([]any)
		if len(factors) != int(numFactors) {
			t.Fatalf("%d factors: %s", len(factors), raw)
		}
		f0 := factors[0].(map[string]any)
		if f0["name"] != "attestation_level" || f0["value"] != "level 2" || f0["points"] != 300.0 {
			t.Errorf("first factor %v", f0)
		}
		for _, k := range []string{"caps", "gates", "computed_at_height", "next_tier"} {
			if _, ok := got[k]; !ok {
				t.Errorf("no %q in %s", k, raw)
			}
		}
		nt := got["next_tier"].(map[string]any)
		if nt["tier"] != "T2" || !strings.Contains(fmt.Sprint(nt["missing"]), "age 30 days (has 0)") {
			t.Errorf("next_tier %v", nt)
		}
	}
	if _, err := s.k.Query(q, []string{"score", "agent-404"}); !errors.Is(err, identity.ErrUnknownAgent) {
		t.Errorf("unknown agent: %v", err)
	}
	v, err := s.k.Query(q, []string{"tiers"})
	if err != nil || !reflect.DeepEqual(v, DefaultTiers()) {
		t.Errorf("tiers: %v %v", v, err)
	}
	if _, err := s.k.Query(q, []string{"nope"}); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("unknown path: %v", err)
	}
}

func TestRecordErrors(t *testing.T) {
	s := newSim(t, nil)
	if err := s.k.RecordRefund(s.ctx(), "agent-9"); !errors.Is(err, identity.ErrUnknownAgent) {
		t.Errorf("unknown agent: %v", err)
	}
	if err := s.k.RecordClaimFiled(s.ctx(), ""); !errors.Is(err, ErrInvalidFact) {
		t.Errorf("empty id: %v", err)
	}
	if err := s.k.AgentChanged(s.ctx(), identity.AgentFacts{}); !errors.Is(err, ErrInvalidFact) {
		t.Errorf("facts without id: %v", err)
	}
	if err := s.k.RecordSettledPayment(s.ctx(), "agent-9", chain.Amount{}); !errors.Is(err, chain.ErrInvalidAmount) {
		t.Errorf("zero payment: %v", err)
	}
	if _, err := s.k.Tier(s.ctx(), "agent-9"); !errors.Is(err, identity.ErrUnknownAgent) {
		t.Errorf("Tier of unknown agent: %v", err)
	}
	// An agent identity knows but the rating has not heard of: evaluated
	// live from its identity facts, as its first rating will be.
	s.id.facts["agent-5"] = identity.AgentFacts{AgentID: "agent-5", OnboardedAt: s.now,
		Attestations: []identity.AttestationFact{{Issuer: issuer(1), Level: 1, ExpiresAt: s.now + day}}}
	if tc, err := s.k.Tier(s.ctx(), "agent-5"); err != nil || tc.Name != "T1" {
		t.Errorf("unrated L1 agent: %+v %v", tc, err)
	}
	s.id.facts["agent-6"] = identity.AgentFacts{AgentID: "agent-6", OnboardedAt: s.now, Suspended: true,
		Attestations: []identity.AttestationFact{{Issuer: issuer(1), Level: 1, ExpiresAt: s.now + day}}}
	if tc, err := s.k.Tier(s.ctx(), "agent-6"); err != nil || tc.Index != 0 || !tc.MaxPayment.IsZero() {
		t.Errorf("unrated suspended agent: %+v %v", tc, err)
	}
	if err := s.k.RecordSettledPayment(s.ctx(), "agent-5", usd(t, "1")); err != nil {
		t.Fatal(err)
	}
	s.endBlock(s.now + 1)
	tc, err := s.k.Tier(s.ctx(), "agent-5")
	if err != nil || tc.Name != "T1" || tc.MaxPayment.Cmp(usd(t, "100")) != 0 || tc.MaxDaily.Cmp(usd(t, "500")) != 0 || !tc.Autonomous || tc.Channels {
		t.Errorf("agent-5: %+v %v", tc, err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for range 200 {
		r := record{
			onboardedAt: rng.Int63(), suspended: rng.Intn(2) == 0, suspensions: rng.Uint32(), lastSuspendedAt: -rng.Int63(),
			keyRotations: rng.Uint32(), lastRotatedAt: rng.Int63(), settledPayments: rng.Uint64(),
			settledVolume: chain.NewAmount(rng.Uint64()), claimsFiled: rng.Uint32(), lastClaimFiled: rng.Int63(),
			claimsLost: rng.Uint32(), lastClaimLost: rng.Int63(), refunds: rng.Uint32(), lastRefund: rng.Int63(),
			disputesLost: rng.Uint32(), lastDisputeLost: rng.Int63(), probationTier: uint8(rng.Intn(16)), probationUntil: rng.Int63(),
			rated: rng.Intn(2) == 0, score: uint16(rng.Intn(1001)), tier: uint8(rng.Intn(4)),
			computedHeight: rng.Int63(), computedTime: rng.Int63(), dueHeight: rng.Int63(),
		}
		for range rng.Intn(4) {
			r.attestations = append(r.attestations, attestation{issuer: issuer(byte(rng.Intn(256))), level: rng.Uint32(), expiresAt: rng.Int63()})
		}
		var back record
		if err := back.decode(r.encode()); err != nil {
			t.Fatal(err)
		}
		if len(r.attestations) == 0 {
			back.attestations = nil
		}
		if !reflect.DeepEqual(r, back) {
			t.Fatalf("round trip:\n%+v\n%+v", r, back)
		}
	}
	var r record
	for _, bad := range [][]byte{nil, make([]byte, recordFixedLen), append([]byte{1}, make([]byte, recordFixedLen)...)} {
		if err := r.decode(bad); err == nil {
			t.Errorf("decoded %d bad bytes", len(bad))
		}
	}
}

func TestDecay(t *testing.T) {
	const h = 30 * day
	cases := []struct{ p, elapsed, want int64 }{
		{400, -5, 400}, {400, 0, 400}, {400, h / 2, 300}, {400, h, 200}, {400, 2 * h, 100},
		{400, 3*h + h/2, 38}, {400, 9 * h, 0}, {400, 1000 * h, 0}, {0, h, 0},
	}
	for _, c := range cases {
		if got := decay(c.p, c.elapsed, h); got != c.want {
			t.Errorf("decay(%d, %d) = %d, want %d", c.p, c.elapsed, got, c.want)
		}
	}
	// Never rises with time.
	prev := int64(2000)
	for e := int64(0); e < 12*h; e += 3607 {
		d := decay(2000, e, h)
		if d > prev {
			t.Fatalf("decay rises at %d: %d > %d", e, d, prev)
		}
		prev = d
	}
}

func BenchmarkTier(b *testing.B) {
	s := newSim(b, nil)
	s.onboard("agent-1", 365, 2)
	s.endBlock(s.now + 1)
	ctx := s.ctx()
	b.ResetTimer()
	for range b.N {
		if _, err := s.k.Tier(ctx, "agent-1"); err != nil {
			b.Fatal(err)
		}
	}
}
