package fault

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/amp-ledger/amp/testnet/harness"
)

// SoakEnv sets the duration of TestSoak (e.g. "10m"); without it the test
// is skipped.
const SoakEnv = "AMP_TESTNET_SOAK"

// TestSoak kills (SIGKILL), stops (SIGTERM), wipes and restarts random
// validators of a four-validator network under a stream of transfers, never
// more than one at a time, for the duration in AMP_TESTNET_SOAK. After each
// fault the chain must go on; at the end every node must hold the same
// blocks and app hashes, every transfer the client logged committed must be
// found, and balances must equal genesis plus the logged transfers.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv(SoakEnv))
	if err != nil || d <= 0 {
		t.Skipf("set %s to a duration (e.g. 10m) to run the soak (make test-long)", SoakEnv)
	}
	n := harness.New(t, harness.Options{Configure: fastRounds})
	n.StartAll()
	n.WaitHeight(2, startTimeout)
	w := startWorkload(t, n)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	end := time.Now().Add(d)
	faults := map[string]int{}
	for round := 0; time.Now().Before(end); round++ {
		i := rng.IntN(len(n.Nodes))
		switch k := rng.IntN(10); {
		case k < 5:
			n.Kill(i)
			faults["kill"]++
		case k < 8:
			n.Stop(i)
			faults["stop"]++
		case k < 9:
			n.Kill(i)
			n.Wipe(i)
			faults["wipe"]++
		default:
			n.Kill(i)
			n.WipeKeepingSignState(i)
			faults["wipe keeping sign state"]++
		}
		// The other three go on.
		var others []int
		for j := range n.Nodes {
			if j != i {
				others = append(others, j)
			}
		}
		h := height(t, n, others[0])
		n.WaitHeight(h+3+int64(rng.IntN(20)), progressWindow, others...)
		before, _ := w.counts()
		w.waitCommitted(t, before+3, progressWindow)
		n.Start(i)
		n.WaitCaughtUp(i, catchUpTimeout)
		tip := n.CheckConsistent()
		if round%10 == 0 {
			got, _ := w.counts()
			t.Logf("round %d: faults %v, %d transfers committed, consistent up to height %d", round, faults, got, tip)
		}
	}
	w.finish(t)
	tip := n.CheckConsistent()
	t.Logf("soak of %s: faults %v; consistent up to height %d", d, faults, tip)
}
