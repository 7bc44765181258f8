package trust

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
)

// fakeIdentity stands in for identity.Keeper: facts by Agent ID, and key
// addresses that resolve to Agent IDs.
type fakeIdentity struct {
	facts map[string]identity.AgentFacts
	keys  map[string]string
}

func (f *fakeIdentity) AgentFacts(_ *module.Context, id string) (identity.AgentFacts, error) {
	a, ok := f.facts[id]
	if !ok {
		return identity.AgentFacts{}, chain.Wrapf(identity.ErrUnknownAgent, "%q", id)
	}
	return a, nil
}

func (f *fakeIdentity) ResolveAgent(_ *module.Context, ref string) (string, error) {
	if _, ok := f.facts[ref]; ok {
		return ref, nil
	}
	if id, ok := f.keys[ref]; ok {
		return id, nil
	}
	return "", chain.Wrapf(identity.ErrUnknownAgent, "%q", ref)
}

// t0 is the genesis time of every simulated chain.
const t0 = int64(1_700_000_000)

// sim is a small chain: a store, the params and trust modules, a fake
// identity, a height and a block time. Every block ends with EndBlock and
// the trust invariants.
type sim struct {
	t      testing.TB
	store  *module.MemStore
	ps     *params.Keeper
	k      *Keeper
	id     *fakeIdentity
	height int64
	now    int64
	events []module.Event
	// inBlock is the context of the open block, so the Record… calls and
	// EndBlock share one event list as in the app.
	inBlock *module.Context
}

func newSim(t testing.TB, overrides map[string]any) *sim {
	s := &sim{t: t, store: module.NewMemStore(), ps: params.New(), height: 1, now: t0,
		id: &fakeIdentity{facts: map[string]identity.AgentFacts{}, keys: map[string]string{}}}
	s.k = New(s.ps, s.id)
	if len(overrides) > 0 {
		raw, _ := json.Marshal(overrides)
		if err := s.ps.InitGenesis(s.ctx(), raw); err != nil {
			t.Fatal(err)
		}
	}
	s.inBlock = nil // so a test may set s.now before the first block
	return s
}

func (s *sim) ctx() *module.Context {
	if s.inBlock == nil {
		s.inBlock = module.NewContext("test", s.height, time.Unix(s.now, 0), s.store, nil, nil)
	}
	return s.inBlock
}

// at is the time d days after genesis.
func at(d int64) int64 { return t0 + d*day }

// endBlock runs EndBlock and the invariants, then opens the next block at
// time next (Unix seconds).
func (s *sim) endBlock(next int64) {
	s.t.Helper()
	ctx := s.ctx()
	if err := s.k.EndBlock(ctx); err != nil {
		s.t.Fatalf("height %d: EndBlock: %v", s.height, err)
	}
	for _, inv := range s.k.Invariants() {
		if err := inv.Check(ctx); err != nil {
			s.t.Fatalf("height %d: %s: %v", s.height, inv.Name, err)
		}
	}
	s.events = append(s.events, ctx.Events()...)
	s.height++
	if next < s.now {
		s.t.Fatalf("time goes back from %d to %d", s.now, next)
	}
	s.now = next
	s.inBlock = nil
}

// facts returns the agent's identity facts for editing.
func (s *sim) facts(id string) identity.AgentFacts { return s.id.facts[id] }

// push stores new identity facts and tells the rating, as identity does.
func (s *sim) push(f identity.AgentFacts) {
	s.t.Helper()
	f.Attestations = append([]identity.AttestationFact(nil), f.Attestations...)
	s.id.facts[f.AgentID] = f
	if err := s.k.AgentChanged(s.ctx(), f); err != nil {
		s.t.Fatal(err)
	}
}

func issuer(b byte) chain.Address {
	var a chain.Address
	a[0], a[19] = b, b
	return a
}

// onboard registers an agent now with one attestation per level given,
// each from its own issuer (1, 2, …), expiring after validDays.
func (s *sim) onboard(id string, validDays int64, levels ...uint32) {
	f := identity.AgentFacts{AgentID: id, OnboardedAt: s.now}
	for i, l := range levels {
		f.Attestations = append(f.Attestations, identity.AttestationFact{Issuer: issuer(byte(i + 1)), Level: l, ExpiresAt: s.now + validDays*day})
	}
	s.push(f)
}

func usd(t testing.TB, whole string) chain.Amount {
	a, err := chain.ParseDecimal(whole, USDDecimals)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (s *sim) pay(id string, n int, each chain.Amount) {
	s.t.Helper()
	for range n {
		if err := s.k.RecordSettledPayment(s.ctx(), id, each); err != nil {
			s.t.Fatal(err)
		}
	}
}

// rating returns the stored rating.
func (s *sim) rating(id string) (score, tier int) {
	s.t.Helper()
	var r record
	ok, err := load(store(s.ctx()), id, &r)
	if err != nil || !ok {
		s.t.Fatalf("no record of %s: %v", id, err)
	}
	return int(r.score), int(r.tier)
}

func (s *sim) record(id string) record {
	s.t.Helper()
	var r record
	if ok, err := load(store(s.ctx()), id, &r); err != nil || !ok {
		s.t.Fatalf("no record of %s: %v", id, err)
	}
	return r
}

// dump returns every key and value of the store, in key order.
func dump(m *module.MemStore) [][2]string {
	var out [][2]string
	m.Iterate(nil, func(k, v []byte) bool {
		out = append(out, [2]string{string(k), string(v)})
		return true
	})
	return out
}
