package app

import "sync"

// txCache remembers txs that passed the stateless checks (decoding, chain
// id, signatures, message validation), by tx hash, so that a tx is decoded
// and verified once per node: CheckTx fills it, and recheck,
// PrepareProposal, ProcessProposal and FinalizeBlock reuse the result. The
// hash covers the body, keys and signatures, so a hit means the same bytes
// passed before. It holds two generations of at most max entries each; when
// the newer fills up the older is dropped, bounding memory without
// per-entry bookkeeping.
type txCache struct {
	mu       sync.Mutex
	max      int
	cur, old map[[32]byte]*checkedTx
}

func newTxCache(max int) *txCache {
	return &txCache{max: max, cur: make(map[[32]byte]*checkedTx), old: make(map[[32]byte]*checkedTx)}
}

func (c *txCache) add(h [32]byte, tx *checkedTx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[[32]byte]*checkedTx, c.max)
	}
	c.cur[h] = tx
}

func (c *txCache) get(h [32]byte) (*checkedTx, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.cur[h]; ok {
		return t, true
	}
	t, ok := c.old[h]
	return t, ok
}
