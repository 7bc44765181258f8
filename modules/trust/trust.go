package trust

import (
	"bytes"
	"encoding/binary"
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
)

// Name is the module's store prefix and query path.
const Name = "trust"

// Errors of this module. An unknown agent is identity's unknown_agent.
var (
	ErrInvalidTiers = chain.RegisterError(501, "invalid_tiers", "the trust tier table is malformed: min_score not ascending from 0, a name repeated, or a gate or cap lower than in the tier below")
	ErrInvalidFact  = chain.RegisterError(502, "invalid_trust_fact", "a fact reported to the trust rating is malformed (empty Agent ID, too many attestations)")
)

// EventRating is emitted when an agent's tier changes (including its first
// rating, with previous_tier empty).
const EventRating = "trust_rating"

// Identity is what the rating needs from the identity module: the facts of
// an agent it has not heard of yet, and turning a query's agent reference
// (Agent ID or key address) into an Agent ID. *identity.Keeper implements it.
type Identity interface {
	AgentFacts(ctx *module.Context, agentID string) (identity.AgentFacts, error)
	ResolveAgent(ctx *module.Context, ref string) (string, error)
}

// Store layout under "trust/":
//
//	a/<agent id>      record: facts and rating (binary, see record.go)
//	t/<agent id>      touched in this block: rescore at its end (empty value)
//	q/<be64 height>   the agents whose scheduled rescore is at the end of
//	                  that height: a list of (be16 length, agent id)
//	p                 sha256 of the parameters the last rescores used
//
// The queue is one key per height, not one per agent, so serving it is one
// Get and one Delete, and requeueing everyone served is one Set, whatever
// the store.
func recordKey(id string) []byte  { return append([]byte("a/"), id...) }
func touchedKey(id string) []byte { return append([]byte("t/"), id...) }
func queueKey(h int64) []byte     { return binary.BigEndian.AppendUint64([]byte("q/"), uint64(h)) }

// maxIDLen bounds an Agent ID so that it fits the queue's length prefix.
const maxIDLen = 1024

func appendQueue(b []byte, id string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(id)))
	return append(b, id...)
}

// parseQueue splits a queue value into Agent IDs.
func parseQueue(b []byte) ([]string, error) {
	var ids []string
	for len(b) > 0 {
		if len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
			return nil, chain.Wrapf(chain.ErrInternal, "trust: truncated rescore queue")
		}
		n := int(binary.BigEndian.Uint16(b))
		ids = append(ids, string(b[2:2+n]))
		b = b[2+n:]
	}
	return ids, nil
}

var fingerprintKey = []byte("p")

// Keeper is the trust rating: it implements identity.Observer and the
// Record… methods other modules report evidence with, rescores at the end
// of every block, and answers Tier and Explain.
type Keeper struct {
	params *params.Keeper
	id     Identity
	tiers  atomic.Pointer[tierCache] // the last tier table parsed
}

var (
	_ identity.Observer    = (*Keeper)(nil)
	_ module.HasEndBlock   = (*Keeper)(nil)
	_ module.HasQueries    = (*Keeper)(nil)
	_ module.HasInvariants = (*Keeper)(nil)
)

// New returns the trust module and declares its parameters in ps.
func New(ps *params.Keeper, id Identity) *Keeper {
	declareParams(ps)
	return &Keeper{params: ps, id: id}
}

func (*Keeper) Name() string { return Name }

func store(ctx *module.Context) module.Store { return ctx.Store(Name + "/") }

// load returns the stored record of an agent, or ok false if there is none.
func load(s module.Store, id string, r *record) (ok bool, err error) {
	b := s.Get(recordKey(id))
	if b == nil {
		return false, nil
	}
	if err := r.decode(b); err != nil {
		return false, chain.Wrapf(chain.ErrInternal, "agent %s: %v", id, err)
	}
	return true, nil
}

// setFacts copies identity's facts into r; attestations are sorted by
// issuer (stably, so equal issuers keep their order) to count distinct
// issuers in one pass.
func setFacts(r *record, f *identity.AgentFacts) error {
	if len(f.Attestations) > maxAttestations {
		return chain.Wrapf(ErrInvalidFact, "agent %s has %d attestations, at most %d are kept", f.AgentID, len(f.Attestations), maxAttestations)
	}
	r.onboardedAt = f.OnboardedAt
	r.suspended = f.Suspended
	r.suspensions, r.lastSuspendedAt = f.Suspensions, f.LastSuspendedAt
	r.keyRotations, r.lastRotatedAt = f.KeyRotations, f.LastRotatedAt
	r.attestations = r.attestations[:0]
	for _, a := range f.Attestations {
		r.attestations = append(r.attestations, attestation{issuer: a.Issuer, level: a.Level, expiresAt: a.ExpiresAt})
	}
	sort.SliceStable(r.attestations, func(i, j int) bool {
		return bytes.Compare(r.attestations[i].issuer[:], r.attestations[j].issuer[:]) < 0
	})
	return nil
}

// AgentChanged stores an agent's identity facts and marks it for a rescore
// at the end of the block (identity.Observer).
func (k *Keeper) AgentChanged(ctx *module.Context, f identity.AgentFacts) error {
	if f.AgentID == "" || len(f.AgentID) > maxIDLen {
		return chain.Wrapf(ErrInvalidFact, "agent facts with an Agent ID of %d bytes", len(f.AgentID))
	}
	s := store(ctx)
	var r record
	if _, err := load(s, f.AgentID, &r); err != nil {
		return err
	}
	if err := setFacts(&r, &f); err != nil {
		return err
	}
	s.Set(recordKey(f.AgentID), r.encode())
	s.Set(touchedKey(f.AgentID), nil)
	return nil
}

// update applies fn to an agent's record and marks the agent touched. An
// agent the rating has not heard of is first loaded from identity, so an
// unknown Agent ID fails with identity's unknown_agent.
func (k *Keeper) update(ctx *module.Context, id string, fn func(r *record, now int64) error) error {
	if id == "" || len(id) > maxIDLen {
		return chain.Wrapf(ErrInvalidFact, "an Agent ID of %d bytes", len(id))
	}
	s := store(ctx)
	var r record
	ok, err := load(s, id, &r)
	if err != nil {
		return err
	}
	if !ok {
		f, err := k.id.AgentFacts(ctx, id)
		if err != nil {
			return err
		}
		if err := setFacts(&r, &f); err != nil {
			return err
		}
	}
	if err := fn(&r, ctx.Time.Unix()); err != nil {
		return err
	}
	s.Set(recordKey(id), r.encode())
	s.Set(touchedKey(id), nil)
	return nil
}

// RecordSettledPayment counts one settled payment of the agent and its
// value in base units of USD (18 decimals).
func (k *Keeper) RecordSettledPayment(ctx *module.Context, agentID string, usdBaseUnits chain.Amount) error {
	if usdBaseUnits.IsZero() {
		return chain.Wrapf(chain.ErrInvalidAmount, "a settled payment of %s has no value", agentID)
	}
	return k.update(ctx, agentID, func(r *record, _ int64) error {
		v, err := r.settledVolume.Add(usdBaseUnits)
		if err != nil {
			return err
		}
		r.settledVolume = v
		if r.settledPayments < ^uint64(0) {
			r.settledPayments++
		}
		return nil
	})
}

// RecordClaimFiled counts a claim filed against a payment of the agent.
func (k *Keeper) RecordClaimFiled(ctx *module.Context, agentID string) error {
	return k.update(ctx, agentID, func(r *record, now int64) error {
		incr(&r.claimsFiled)
		r.lastClaimFiled = now
		return nil
	})
}

// RecordClaimLost counts a claim the agent lost: an approved unauthorized
// claim, or a contested claim decided against it. It also puts the agent
// on probation (see probate).
func (k *Keeper) RecordClaimLost(ctx *module.Context, agentID string) error {
	return k.probate(ctx, agentID, func(r *record, now int64) {
		incr(&r.claimsLost)
		r.lastClaimLost = now
	})
}

// RecordRefund counts a refund of a payment the agent made.
func (k *Keeper) RecordRefund(ctx *module.Context, agentID string) error {
	return k.update(ctx, agentID, func(r *record, now int64) error {
		incr(&r.refunds)
		r.lastRefund = now
		return nil
	})
}

// RecordChannelDispute counts a channel dispute the agent lost; like a lost
// claim it puts the agent on probation.
func (k *Keeper) RecordChannelDispute(ctx *module.Context, agentID string) error {
	return k.probate(ctx, agentID, func(r *record, now int64) {
		incr(&r.disputesLost)
		r.lastDisputeLost = now
	})
}

// probate records lost evidence and caps the agent, for trust.probation_days,
// one tier below the tier it holds now (or lower, if an earlier probation
// still running is lower). Points alone could leave an agent whose gates
// just opened in the same tier; the cap makes the drop certain.
func (k *Keeper) probate(ctx *module.Context, agentID string, fn func(r *record, now int64)) error {
	var days int64
	if err := k.params.Get(ctx, ParamProbationDays, &days); err != nil {
		return err
	}
	return k.update(ctx, agentID, func(r *record, now int64) error {
		capTier := uint8(0)
		if r.rated && r.tier > 0 {
			capTier = r.tier - 1
		}
		if now < r.probationUntil {
			capTier = min(capTier, r.probationTier)
		}
		r.probationTier, r.probationUntil = capTier, max(r.probationUntil, now+days*day)
		fn(r, now)
		return nil
	})
}

// EndBlock rescores every agent touched in the block and every agent whose
// scheduled rescore is due; if the scoring parameters changed, every agent.
func (k *Keeper) EndBlock(ctx *module.Context) error {
	c, err := k.config(ctx)
	if err != nil {
		return err
	}
	e := endBlock{ctx: ctx, s: store(ctx), c: c}
	if !bytes.Equal(e.s.Get(fingerprintKey), c.fingerprint[:]) {
		// Governance changed the tiers or a weight: every stored rating
		// is stale. Rare, and the only time EndBlock reads every agent.
		e.s.Set(fingerprintKey, c.fingerprint[:])
		var ids []string
		e.s.Iterate([]byte("a/"), func(key, _ []byte) bool {
			ids = append(ids, string(key[2:]))
			return true
		})
		for _, id := range ids {
			if err := e.rescore(id, false, true); err != nil {
				return err
			}
		}
	}
	var touched []string
	e.s.Iterate([]byte("t/"), func(key, _ []byte) bool {
		touched = append(touched, string(key[2:]))
		return true
	})
	for _, id := range touched {
		e.s.Delete(touchedKey(id))
		if err := e.rescore(id, false, false); err != nil {
			return err
		}
	}
	if b := e.s.Get(queueKey(ctx.Height)); b != nil {
		due, err := parseQueue(b)
		if err != nil {
			return err
		}
		e.s.Delete(queueKey(ctx.Height))
		for _, id := range due {
			if err := e.rescore(id, true, false); err != nil {
				return err
			}
		}
	}
	if len(e.requeue) > 0 {
		at := queueKey(ctx.Height + c.interval)
		// The bucket may hold agents queued under an earlier interval.
		e.s.Set(at, append(append([]byte(nil), e.s.Get(at)...), e.requeue...))
	}
	return nil
}

// endBlock is the state of one EndBlock: requeue collects the agents to
// queue at height + interval.
type endBlock struct {
	ctx     *module.Context
	s       module.Store
	c       *config
	requeue []byte
}

// rescore recomputes one agent's rating at the block's time and stores it.
// An agent rated for the first time, or served from the queue (due), is
// queued again one interval on. An agent already rated in this block is
// not computed again unless force.
func (e *endBlock) rescore(id string, due, force bool) error {
	ctx, c := e.ctx, e.c
	var r record
	ok, err := load(e.s, id, &r)
	if err != nil {
		return err
	}
	if !ok {
		return chain.Wrapf(chain.ErrInternal, "trust: agent %s scheduled without a record", id)
	}
	if due && (!r.rated || r.dueHeight != ctx.Height) {
		return chain.Wrapf(chain.ErrInternal, "trust: agent %s queued at %d but due at %d", id, ctx.Height, r.dueHeight)
	}
	dirty := false
	if !r.rated || due {
		r.dueHeight = ctx.Height + c.interval
		e.requeue = appendQueue(e.requeue, id)
		dirty = true
	}
	if force || !r.rated || r.computedHeight != ctx.Height {
		now := ctx.Time.Unix()
		b := evaluate(&r, now, c)
		if !r.rated || int(r.tier) != b.tier {
			prev := ""
			if r.rated && int(r.tier) < len(c.tiers) {
				prev = c.tiers[r.tier].Name
			}
			ctx.Emit(EventRating,
				module.Attr{Key: "agent", Value: id, Index: true},
				module.Attr{Key: "score", Value: strconv.Itoa(b.score)},
				module.Attr{Key: "tier", Value: c.tiers[b.tier].Name},
				module.Attr{Key: "previous_tier", Value: prev})
		}
		r.rated, r.score, r.tier = true, uint16(b.score), uint8(b.tier)
		r.computedHeight, r.computedTime = ctx.Height, now
		dirty = true
	}
	if dirty {
		e.s.Set(recordKey(id), r.encode())
	}
	return nil
}

// TierCaps is an agent's tier with its caps parsed, as the payments module
// enforces them.
type TierCaps struct {
	Index int    // 0 is the lowest tier
	Name  string // "T2"
	Label string // "limited"
	Score int
	// Autonomous allows autonomous mandates; without it only immediate
	// (human-confirmed) mandates.
	Autonomous bool
	// MaxPayment and MaxDaily are USD base units (18 decimals).
	MaxPayment chain.Amount
	MaxDaily   chain.Amount
	Channels   bool
}

func capsOf(c *config, t, score int) TierCaps {
	d := &c.tiers[t]
	return TierCaps{Index: t, Name: d.Name, Label: d.Label, Score: score, Autonomous: d.Autonomous,
		MaxPayment: d.maxPayment, MaxDaily: d.maxDaily, Channels: d.Channels}
}

// Tier returns the tier the agent may act in now: its stored rating, but
// never above what a live evaluation at the block's time gives. So evidence
// and expiries lower the caps at once, within the block, while a better
// rating takes effect at the end of the block, like every rating. An agent
// the rating has not rated yet (a genesis agent, or one onboarded earlier
// in the block) gets the live evaluation: what its first rating will be.
func (k *Keeper) Tier(ctx *module.Context, agentID string) (TierCaps, error) {
	c, err := k.config(ctx)
	if err != nil {
		return TierCaps{}, err
	}
	var r record
	ok, err := load(store(ctx), agentID, &r)
	if err != nil {
		return TierCaps{}, err
	}
	if !ok {
		// Not seen yet (an agent of the genesis, or onboarded earlier in
		// this block): the rating it would get now, from identity's facts.
		f, err := k.id.AgentFacts(ctx, agentID)
		if err != nil {
			return TierCaps{}, err
		}
		if err := setFacts(&r, &f); err != nil {
			return TierCaps{}, err
		}
	}
	b := evaluate(&r, ctx.Time.Unix(), c)
	if !r.rated {
		return capsOf(c, b.tier, b.score), nil
	}
	t, score := min(int(r.tier), len(c.tiers)-1), int(r.score)
	if b.tier < t {
		t, score = b.tier, b.score
	}
	return capsOf(c, t, score), nil
}
