package gencache

import "sync"

// Cache maps K to V with two generations of at most max entries each.
// The zero value is not usable: call New.
type Cache[K comparable, V any] struct {
	mu       sync.Mutex
	max      int
	cur, old map[K]V
}

// New returns an empty cache of two generations of at most max entries.
func New[K comparable, V any](max int) *Cache[K, V] {
	return &Cache[K, V]{max: max, cur: make(map[K]V), old: make(map[K]V)}
}

// Add remembers v for k, starting a new generation if the current is full.
func (c *Cache[K, V]) Add(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[K]V, c.max)
	}
	c.cur[k] = v
}

// Get returns what was added for k, if it is still remembered.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	return v, ok
}
