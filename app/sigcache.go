package app

import "sync"

// sigCache remembers txs whose signatures verified, by tx hash, so that
// FinalizeBlock does not verify again what CheckTx already did. The hash
// covers the body, keys and signatures, so a hit means the same bytes
// verified before. It holds two generations of at most max entries each;
// when the newer fills up the older is dropped, bounding memory without
// per-entry bookkeeping.
type sigCache struct {
	mu       sync.Mutex
	max      int
	cur, old map[[32]byte]struct{}
}

func newSigCache(max int) *sigCache {
	return &sigCache{max: max, cur: make(map[[32]byte]struct{}), old: make(map[[32]byte]struct{})}
}

func (c *sigCache) add(h [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[[32]byte]struct{}, c.max)
	}
	c.cur[h] = struct{}{}
}

func (c *sigCache) has(h [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[h]; ok {
		return true
	}
	_, ok := c.old[h]
	return ok
}
