package app

import (
	"hash/maphash"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// absentKeys lets a block skip the disk for reads that would find nothing.
//
// Some key spaces are read mostly for keys that are not there: every payment
// checks that its merchant has not seen its order before, and the answer is
// almost always no. Badger answers such a miss only after searching each of
// its memtables, several microseconds per payment. Modules name these key
// spaces (module.HasSparseKeys); absentKeys keeps a Bloom filter of every
// key committed under them, filled from disk when the app opens and from
// each block's writes at commit. A read the filter rules out is answered
// "absent" without a disk read; anything else reads the disk, so a false
// positive costs only the read it would have cost anyway. Deleted keys stay
// in the filter (also just a read).
//
// The filter is node-local and decides no result: with or without it, a
// read returns what is committed. It is touched only by the consensus
// connection (open, FinalizeBlock, Commit).
type absentKeys struct {
	prefixes []string
	seed     maphash.Seed
	logBits  uint // size of the first filter
	// filters grow by appending a larger one when the newest is full, so
	// no rebuild from disk is ever needed; a key is in one of them.
	filters []bloom
}

// bloom is one Bloom filter of 2^logBits bits with bloomHashes probes,
// holding at most limit keys (about 1% false positives there).
type bloom struct {
	bits     []uint64
	mask     uint64
	n, limit int
}

const (
	bloomHashes  = 7
	firstLogBits = 22 // 512 KiB, ~440k keys
)

func newBloom(logBits uint) bloom {
	m := uint64(1) << logBits
	return bloom{bits: make([]uint64, m/64), mask: m - 1, limit: int(m / 10)}
}

func (b *bloom) add(h1, h2 uint64) {
	for i := uint64(0); i < bloomHashes; i++ {
		p := (h1 + i*h2) & b.mask
		b.bits[p/64] |= 1 << (p % 64)
	}
	b.n++
}

func (b *bloom) has(h1, h2 uint64) bool {
	for i := uint64(0); i < bloomHashes; i++ {
		p := (h1 + i*h2) & b.mask
		if b.bits[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}

// newAbsentKeys returns a filter over prefixes (full keys), filled with the
// keys committed under them in db; nil if there are no prefixes.
func newAbsentKeys(db *badger.DB, prefixes []string) (*absentKeys, error) {
	if len(prefixes) == 0 {
		return nil, nil
	}
	a := newAbsentFilter(prefixes, firstLogBits)
	err := db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		for _, p := range prefixes {
			opts.Prefix = []byte(p)
			it := txn.NewIterator(opts)
			for it.Rewind(); it.Valid(); it.Next() {
				a.add(it.Item().Key())
			}
			it.Close()
		}
		return nil
	})
	return a, err
}

func newAbsentFilter(prefixes []string, logBits uint) *absentKeys {
	return &absentKeys{prefixes: prefixes, seed: maphash.MakeSeed(), logBits: logBits, filters: []bloom{newBloom(logBits)}}
}

func (a *absentKeys) covers(k []byte) bool {
	for _, p := range a.prefixes {
		if strings.HasPrefix(string(k), p) {
			return true
		}
	}
	return false
}

func (a *absentKeys) hashes(k []byte) (uint64, uint64) {
	h := maphash.Bytes(a.seed, k)
	return h, h>>32 | h<<32 | 1 // odd second hash: probes never repeat early
}

func (a *absentKeys) add(k []byte) {
	last := &a.filters[len(a.filters)-1]
	if last.n >= last.limit {
		a.filters = append(a.filters, newBloom(a.logBits+2*uint(len(a.filters))))
		last = &a.filters[len(a.filters)-1]
	}
	last.add(a.hashes(k))
}

// committed adds a block's stored keys under the prefixes.
func (a *absentKeys) committed(ws []write) {
	if a == nil {
		return
	}
	for _, w := range ws {
		if w.Value != nil && a.covers(w.Key) {
			a.add(w.Key)
		}
	}
}

// absent reports whether k is certainly not stored: it is under one of the
// prefixes and no filter has it.
func (a *absentKeys) absent(k []byte) bool {
	if a == nil || !a.covers(k) {
		return false
	}
	h1, h2 := a.hashes(k)
	for i := range a.filters {
		if a.filters[i].has(h1, h2) {
			return false
		}
	}
	return true
}
