package app

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestCarriedReadsMatchBadger runs random blocks of reads and writes
// through the block read cache the way FinalizeBlock and Commit use it
// (what one block read, brought up to date with its writes, serves the
// next) and checks every read against a fresh badger snapshot: a stale
// carried value would be read as committed state.
func TestCarriedReadsMatchBadger(t *testing.T) {
	db, err := openBadger(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewSource(7))
	key := func() []byte { return fmt.Appendf(nil, "k/%02d", rng.Intn(40)) }
	var carried map[string][]byte
	for block := 0; block < 200; block++ {
		read := db.NewTransaction(false)
		snap := newCachedSnapshot(read, carried, nil)
		truth := db.NewTransaction(false)
		for i := 0; i < 20; i++ {
			k := key()
			got, want := snap.Get(k), snapshot{truth}.Get(k)
			if string(got) != string(want) || (got == nil) != (want == nil) {
				t.Fatalf("block %d: %s reads %q through the cache, %q in badger", block, k, got, want)
			}
		}
		truth.Discard()
		// The block's writes: sets, empty values and deletes, in key order
		// like overlay.writes.
		o := newOverlay(snap)
		for i := 0; i < 10; i++ {
			switch k := key(); rng.Intn(3) {
			case 0:
				o.Delete(k)
			case 1:
				o.Set(k, []byte{})
			default:
				o.Set(k, fmt.Appendf(nil, "v%d.%d", block, i))
			}
		}
		ws := o.writes()
		txn := db.NewTransaction(true)
		for _, w := range ws {
			if w.Value == nil {
				err = txn.Delete(w.Key)
			} else {
				err = txn.Set(w.Key, w.Value)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := txn.Commit(); err != nil {
			t.Fatal(err)
		}
		read.Discard()
		carried = snap.carry(ws)
	}
}
