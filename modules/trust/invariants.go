package trust

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/amp-ledger/amp/modules/module"
)

// Invariants of the trust rating, checked after every block.
func (k *Keeper) Invariants() []module.Invariant {
	return []module.Invariant{
		{Name: "trust/ratings", Check: k.checkRatings},
		{Name: "trust/schedule", Check: k.checkSchedule},
	}
}

// eachRecord calls fn for every stored record in key order.
func eachRecord(s module.Store, fn func(id string, r *record) error) error {
	var err error
	var r record
	s.Iterate([]byte("a/"), func(key, v []byte) bool {
		id := string(key[2:])
		if e := r.decode(v); e != nil {
			err = fmt.Errorf("agent %s: %w", id, e)
			return false
		}
		err = fn(id, &r)
		return err == nil
	})
	return err
}

// checkRatings: every stored score is within 0..MaxScore, its tier is the
// one the tier table gives for it, a suspended agent is in the lowest tier,
// and evaluating the stored facts again at the rating's own time under the
// parameters in force gives the stored score and tier (EndBlock rescores
// every agent when the parameters change, so they are the ones used).
func (k *Keeper) checkRatings(ctx *module.Context) error {
	c, err := k.config(ctx)
	if err != nil {
		return err
	}
	s := store(ctx)
	current := bytes.Equal(s.Get(fingerprintKey), c.fingerprint[:])
	return eachRecord(s, func(id string, r *record) error {
		if !r.rated {
			return nil
		}
		if r.score > MaxScore || int(r.tier) >= len(c.tiers) {
			return fmt.Errorf("agent %s: score %d, tier %d of %d", id, r.score, r.tier, len(c.tiers))
		}
		// An agent touched since its rating (evidence reported after this
		// module's EndBlock) is rescored at the end of the next block.
		if s.Get(touchedKey(id)) != nil {
			return nil
		}
		if r.suspended && r.tier != 0 {
			return fmt.Errorf("agent %s is suspended but in tier %s", id, c.tiers[r.tier].Name)
		}
		if current {
			if t := tierOf(c.tiers, int(r.score)); t != int(r.tier) {
				return fmt.Errorf("agent %s: score %d is tier %s, stored %s", id, r.score, c.tiers[t].Name, c.tiers[r.tier].Name)
			}
			b := evaluate(r, r.computedTime, c)
			if b.score != int(r.score) || b.tier != int(r.tier) {
				return fmt.Errorf("agent %s: stored score %d tier %d, its facts give %d tier %d", id, r.score, r.tier, b.score, b.tier)
			}
		}
		return nil
	})
}

// checkSchedule: a rated agent is queued exactly once, at its due height,
// which is after the current height (every earlier one has been served);
// an agent not yet rated is not queued and is marked touched.
func (k *Keeper) checkSchedule(ctx *module.Context) error {
	s := store(ctx)
	queued := map[string]int64{} // only looked up, never ranged over
	var err error
	s.Iterate([]byte("q/"), func(key, v []byte) bool {
		h := int64(binary.BigEndian.Uint64(key[2:]))
		ids, e := parseQueue(v)
		if e != nil {
			err = e
			return false
		}
		for _, id := range ids {
			if prev, dup := queued[id]; dup {
				err = fmt.Errorf("agent %s queued at %d and %d", id, prev, h)
				return false
			}
			queued[id] = h
		}
		return true
	})
	if err != nil {
		return err
	}
	rated := 0
	err = eachRecord(s, func(id string, r *record) error {
		h, isQueued := queued[id]
		if !r.rated {
			if s.Get(touchedKey(id)) == nil || isQueued {
				return fmt.Errorf("agent %s is not rated yet but not touched, or queued", id)
			}
			return nil
		}
		rated++
		switch {
		case r.dueHeight <= ctx.Height:
			return fmt.Errorf("agent %s due at %d, at height %d", id, r.dueHeight, ctx.Height)
		case !isQueued || h != r.dueHeight:
			return fmt.Errorf("agent %s due at %d is queued at %d (queued: %v)", id, r.dueHeight, h, isQueued)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(queued) != rated {
		return fmt.Errorf("%d agents queued, %d rated", len(queued), rated)
	}
	return nil
}
