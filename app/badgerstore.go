package app

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// storageFault is the panic value for a failing disk. It is not a tx's
// fault, so it must not become a tx result that other nodes would not
// produce: FinalizeBlock turns it into an error, which halts the node.
type storageFault struct{ err error }

func (f storageFault) Error() string { return "storage fault: " + f.err.Error() }

// snapshot reads committed state through one badger read transaction.
type snapshot struct{ txn *badger.Txn }

func (s snapshot) Get(k []byte) []byte {
	item, err := s.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		panic(storageFault{fmt.Errorf("get %q: %w", k, err)})
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		panic(storageFault{fmt.Errorf("read %q: %w", k, err)})
	}
	return v
}

func (s snapshot) Set(k, _ []byte) { panic(fmt.Sprintf("app: write to committed state at %q", k)) }
func (s snapshot) Delete(k []byte) { panic(fmt.Sprintf("app: delete in committed state at %q", k)) }

func (s snapshot) Iterate(prefix []byte, fn func(k, v []byte) bool) {
	it := s.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			panic(storageFault{fmt.Errorf("read %q: %w", item.Key(), err)})
		}
		if !fn(item.KeyCopy(nil), v) {
			return
		}
	}
}

// openBadger opens the app's database with durable commits: a block counts
// as committed only when its batch is on disk.
func openBadger(dir string, logger badger.Logger) (*badger.DB, error) {
	opts := badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithLogger(logger).
		// One block's writes go in one transaction, whose size badger bounds
		// by the memtable size; 128 MiB admits ~19 MiB of writes per block,
		// several times what a full 4 MiB block of txs produces.
		WithMemTableSize(128 << 20).
		WithNumMemtables(3).
		WithNumLevelZeroTables(4).
		WithNumLevelZeroTablesStall(8).
		WithValueThreshold(1 << 10).
		WithDetectConflicts(false)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open app database %s: %w", dir, err)
	}
	return db, nil
}

// cachedSnapshot remembers what a block reads from its snapshot: the
// payments of a block read the same merchants, asset and rule bindings, and
// an agent paying several times in a block reads its records again. The
// snapshot never changes under a block (writes go to the overlay above), so
// the cache is exact. Absent keys are remembered too.
//
// What a block read also serves the next block: Commit brings those
// entries up to date with the block's writes (carry), so they hold
// committed values, and the next block looks there before badger. Agents
// that pay every block then find their mandate, balance and records in
// memory instead of walking badger's memtables. An entry lives as long as
// every block or every other block reads it, which bounds the cache by what
// two blocks read.
type cachedSnapshot struct {
	snapshot
	seen   map[string][]byte
	prev   map[string][]byte // committed values the previous block read; may be nil
	absent *absentKeys       // may be nil
}

func newCachedSnapshot(txn *badger.Txn, prev map[string][]byte, absent *absentKeys) *cachedSnapshot {
	return &cachedSnapshot{snapshot: snapshot{txn}, seen: make(map[string][]byte, max(1024, len(prev))), prev: prev, absent: absent}
}

func (c *cachedSnapshot) Get(k []byte) []byte {
	if v, ok := c.seen[string(k)]; ok {
		return v
	}
	v, ok := c.prev[string(k)]
	if !ok && !c.absent.absent(k) {
		v = c.snapshot.Get(k)
	}
	c.seen[string(k)] = v
	return v
}

// carry returns what this block read, updated with the block's committed
// writes (ws): the prev of the next block. Called after the writes are in
// badger.
func (c *cachedSnapshot) carry(ws []write) map[string][]byte {
	for _, w := range ws {
		if _, ok := c.seen[string(w.Key)]; ok {
			c.seen[string(w.Key)] = w.Value
		}
	}
	return c.seen
}
