package module

import (
	"bytes"
	"sort"
)

// Store is a key-value view of the ledger state. Reads see every write made
// before them in the same block. Values returned must not be modified.
//
// Implementations panic only on storage faults (a failing disk), which the
// app turns into a node halt rather than a divergent result.
type Store interface {
	// Get returns the value stored at key, or nil if there is none.
	Get(key []byte) []byte
	// Set stores value at key; a nil value is stored as empty.
	Set(key, value []byte)
	// Delete removes key; deleting an absent key is a no-op.
	Delete(key []byte)
	// Iterate calls fn for each key with the prefix, in ascending byte
	// order, until fn returns false. fn must not write to the store.
	Iterate(prefix []byte, fn func(key, value []byte) bool)
}

// Prefixed returns a view of s in which every key is prefixed by p: how each
// module gets a key space of its own.
func Prefixed(s Store, p string) Store {
	return &prefixed{s: s, p: p}
}

// prefixed keeps its prefix as a string: module prefixes are constants, so
// making a view allocates only the view (it is made on every store access).
type prefixed struct {
	s Store
	p string
}

func (x *prefixed) key(k []byte) []byte {
	out := make([]byte, 0, len(x.p)+len(k))
	return append(append(out, x.p...), k...)
}

func (x *prefixed) Get(k []byte) []byte { return x.s.Get(x.key(k)) }
func (x *prefixed) Set(k, v []byte)     { x.s.Set(x.key(k), v) }
func (x *prefixed) Delete(k []byte)     { x.s.Delete(x.key(k)) }
func (x *prefixed) Iterate(prefix []byte, fn func(k, v []byte) bool) {
	x.s.Iterate(x.key(prefix), func(k, v []byte) bool { return fn(k[len(x.p):], v) })
}

// MemStore is an in-memory Store for tests and for the overlays the app
// layers over disk. The zero value is not usable: call NewMemStore.
type MemStore struct {
	m map[string][]byte
}

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore { return &MemStore{m: map[string][]byte{}} }

func (s *MemStore) Get(k []byte) []byte { return s.m[string(k)] }
func (s *MemStore) Set(k, v []byte) {
	if v == nil {
		v = []byte{}
	}
	s.m[string(k)] = v
}
func (s *MemStore) Delete(k []byte) { delete(s.m, string(k)) }
func (s *MemStore) Iterate(prefix []byte, fn func(k, v []byte) bool) {
	keys := make([]string, 0)
	for k := range s.m {
		if bytes.HasPrefix([]byte(k), prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !fn([]byte(k), s.m[k]) {
			return
		}
	}
}

// Clone returns an independent copy: tests use it to apply a message the
// way the app does, keeping its writes only if it succeeds.
func (s *MemStore) Clone() *MemStore {
	c := NewMemStore()
	for k, v := range s.m {
		c.m[k] = v
	}
	return c
}

// Equal reports whether two stores hold the same keys and values.
func (s *MemStore) Equal(o *MemStore) bool {
	if len(s.m) != len(o.m) {
		return false
	}
	for k, v := range s.m {
		if w, ok := o.m[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}
