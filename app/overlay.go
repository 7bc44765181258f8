package app

import (
	"bytes"
	"sort"

	"github.com/amp-ledger/amp/modules/module"
)

// overlay buffers writes over a parent store: the per-block write buffer over
// committed state, and the per-tx cache over the block. Reads fall through
// to the parent; Iterate merges both in key order.
type overlay struct {
	parent module.Store
	w      map[string][]byte // nil value: deleted
}

func newOverlay(parent module.Store) *overlay {
	return &overlay{parent: parent, w: make(map[string][]byte)}
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
	o.w[string(k)] = v
}

func (o *overlay) Delete(k []byte) { o.w[string(k)] = nil }

func (o *overlay) sortedKeys(prefix []byte) []string {
	keys := make([]string, 0, len(o.w))
	for k := range o.w {
		if bytes.HasPrefix([]byte(k), prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
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
		dst.w[k] = v
	}
}
