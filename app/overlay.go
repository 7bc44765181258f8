package app

import (
	"sort"
	"strings"

	"github.com/amp-ledger/amp/modules/module"
)

// overlay buffers writes over a parent store: the per-block write buffer over
// committed state, and the per-tx cache over the block. Reads fall through
// to the parent; Iterate merges both in key order.
type overlay struct {
	parent module.Store
	w      map[string][]byte // nil value: deleted

	// Iterate and writes need w's keys in order. A block's overlay holds
	// tens of thousands of keys and its end-of-block work iterates several
	// prefixes, so the order is kept once asked for: sorted holds the keys
	// ordered when last asked, added the keys new since (merged at the
	// next ask). Both stay nil until the first ask.
	sorted, added []string
}

func newOverlay(parent module.Store) *overlay {
	return &overlay{parent: parent, w: make(map[string][]byte)}
}

// newOverlaySized is newOverlay with room for n writes: a block's overlay
// is sized from the previous block's, sparing the map its growth steps.
func newOverlaySized(parent module.Store, n int) *overlay {
	return &overlay{parent: parent, w: make(map[string][]byte, n)}
}

func (o *overlay) Get(k []byte) []byte {
	if v, ok := o.w[string(k)]; ok {
		return v
	}
	return o.parent.Get(k)
}

func (o *overlay) Set(k, v []byte) {
	if v == nil {
		v = []byte{}
	}
	o.put(string(k), v)
}

func (o *overlay) Delete(k []byte) { o.put(string(k), nil) }

func (o *overlay) put(k string, v []byte) {
	if o.sorted != nil {
		if _, ok := o.w[k]; !ok {
			o.added = append(o.added, k)
		}
	}
	o.w[k] = v
}

// sortedKeys returns the written keys under prefix in order. The slice is
// shared: callers must not modify it, and it stays valid when the overlay
// is written (later keys are merged into a new slice).
func (o *overlay) sortedKeys(prefix []byte) []string {
	switch {
	case o.sorted == nil:
		o.sorted = make([]string, 0, len(o.w))
		for k := range o.w {
			o.sorted = append(o.sorted, k)
		}
		sort.Strings(o.sorted)
	case len(o.added) > 0:
		sort.Strings(o.added)
		o.sorted = mergeSorted(o.sorted, o.added)
		o.added = o.added[:0]
	}
	lo := sort.SearchStrings(o.sorted, string(prefix))
	hi := lo
	for hi < len(o.sorted) && strings.HasPrefix(o.sorted[hi], string(prefix)) {
		hi++
	}
	return o.sorted[lo:hi:hi]
}

// mergeSorted merges two ordered, disjoint key lists into a new one.
func mergeSorted(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

func (o *overlay) Iterate(prefix []byte, fn func(k, v []byte) bool) {
	mine := o.sortedKeys(prefix)
	i := 0
	// emit our keys below limit (all when limit is nil); false means stop.
	emitUpTo := func(limit []byte) bool {
		for ; i < len(mine) && (limit == nil || mine[i] < string(limit)); i++ {
			if v := o.w[mine[i]]; v != nil && !fn([]byte(mine[i]), v) {
				i = len(mine)
				return false
			}
		}
		return true
	}
	stopped := false
	o.parent.Iterate(prefix, func(k, v []byte) bool {
		if !emitUpTo(k) {
			stopped = true
			return false
		}
		if i < len(mine) && mine[i] == string(k) {
			mv := o.w[mine[i]]
			i++
			if mv == nil {
				return true // deleted here
			}
			v = mv
		}
		if !fn(k, v) {
			stopped = true
			return false
		}
		return true
	})
	if !stopped {
		emitUpTo(nil)
	}
}

// write is one entry of a block's write set.
type write struct {
	Key   []byte
	Value []byte // nil: delete
}

// writes returns the buffered writes in key order.
func (o *overlay) writes() []write {
	keys := o.sortedKeys(nil)
	out := make([]write, len(keys))
	for i, k := range keys {
		out[i] = write{Key: []byte(k), Value: o.w[k]}
	}
	return out
}

// flushTo applies the buffered writes to another overlay (a tx's cache into
// its block). Order does not matter: keys are distinct.
func (o *overlay) flushTo(dst *overlay) {
	for k, v := range o.w {
		dst.put(k, v)
	}
}
