package app

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/amp-ledger/amp/modules/module"
)

// TestOverlayMatchesFlatStore applies random writes to a two-level overlay
// (a tx cache over a block buffer over a base) and to one flat store, and
// checks that reads and prefix iteration (including early stops) agree.
func TestOverlayMatchesFlatStore(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 50; round++ {
		base, flat := module.NewMemStore(), module.NewMemStore()
		key := func() []byte { return []byte(fmt.Sprintf("%c/%02d", "ab"[rng.Intn(2)], rng.Intn(30))) }
		for i := 0; i < 20; i++ {
			k, v := key(), []byte(fmt.Sprint(rng.Int()))
			base.Set(k, v)
			flat.Set(k, v)
		}
		block := newOverlay(base)
		tx := newOverlay(block)
		// Three phases of writes, each followed by iterations: writes after
		// an iteration take the overlays' kept key order path.
		for phase := 0; phase < 3; phase++ {
			for i := 0; i < 40; i++ {
				k := key()
				target := []module.Store{block, tx}[rng.Intn(2)]
				if target == module.Store(block) {
					// Writes to the block must not be shadowed by the tx cache
					// in this model, so only write keys the tx has not touched.
					if _, touched := tx.w[string(k)]; touched {
						continue
					}
				}
				if rng.Intn(3) == 0 {
					target.Delete(k)
					flat.Delete(k)
				} else {
					v := []byte(fmt.Sprint(rng.Int()))
					target.Set(k, v)
					flat.Set(k, v)
				}
			}
			for _, prefix := range []string{"", "a/", "b/", "a/1", "c"} {
				for _, stopAfter := range []int{1, 3, 1000} {
					var got, want []string
					collect := func(out *[]string) func(k, v []byte) bool {
						return func(k, v []byte) bool {
							*out = append(*out, string(k)+"="+string(v))
							return len(*out) < stopAfter
						}
					}
					tx.Iterate([]byte(prefix), collect(&got))
					flat.Iterate([]byte(prefix), collect(&want))
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("round %d prefix %q stop %d:\n got  %v\n want %v", round, prefix, stopAfter, got, want)
					}
				}
			}
		}
		for i := 0; i < 30; i++ {
			k := []byte(fmt.Sprintf("a/%02d", i))
			if string(tx.Get(k)) != string(flat.Get(k)) {
				t.Fatalf("Get(%s) differs", k)
			}
		}
	}
}
