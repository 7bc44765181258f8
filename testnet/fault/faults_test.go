package fault

import (
	"context"
	"sync"
	"testing"
	"time"

	cfg "github.com/cometbft/cometbft/config"

	"github.com/amp-ledger/amp/testnet/harness"
)

// Bounds of the waits: generous for two shared cores, so that a failure
// means the behaviour is wrong, not that the machine was busy.
const (
	startTimeout   = 90 * time.Second
	progressWindow = 45 * time.Second
	catchUpTimeout = 90 * time.Second
	// haltWindow is how long a halted network must commit nothing: many
	// block times, and more than CometBFT's round timeouts.
	haltWindow = 5 * time.Second
)

// fastRounds shortens the wait for a missing proposer (timeout_propose,
// 3 s by default), so that a network with a validator down still makes
// blocks briskly.
func fastRounds(_ int, c *cfg.Config) {
	c.Consensus.TimeoutPropose = time.Second
	c.Consensus.TimeoutProposeDelta = 250 * time.Millisecond
}

// step runs one scenario as a subtest on a view of the shared network, and
// stops the test at the first failed scenario: the later ones build on the
// network's state.
func step(t *testing.T, n *harness.Network, name string, f func(t *testing.T, n *harness.Network)) {
	t.Helper()
	if !t.Run(name, func(t *testing.T) { f(t, n.For(t)) }) {
		t.FailNow()
	}
}

func height(t *testing.T, n *harness.Network, i int) int64 {
	t.Helper()
	h, err := n.Height(i)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestFaults runs a network of four validators through crashes, a halt, a
// wipe and a whole-network crash under a stream of transfers, and checks
// consistency and durability (see the package comment).
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a network of ampd processes")
	}
	start := time.Now()
	n := harness.New(t, harness.Options{Configure: fastRounds})
	n.StartAll()
	n.WaitHeight(2, startTimeout)
	w := startWorkload(t, n)

	step(t, n, "transfers_commit_everywhere", func(t *testing.T, n *harness.Network) {
		w.waitCommitted(t, 40, progressWindow)
		_, per := w.counts()
		for _, nd := range n.Nodes {
			if per[nd.Name] == 0 {
				t.Fatalf("no transfer was submitted through %s: %v", nd.Name, per)
			}
		}
		h := height(t, n, 0)
		n.WaitHeight(h+1, progressWindow)
		tip := n.CheckConsistent()
		checkFoundEverywhere(t, n, w)
		got, _ := w.counts()
		t.Logf("%d transfers committed, submitted per node %v; same blocks and app hashes on all nodes up to height %d", got, per, tip)
	})

	step(t, n, "clean_restart", func(t *testing.T, n *harness.Network) {
		n.Restart(0) // SIGTERM: must exit cleanly
		n.WaitCaughtUp(0, catchUpTimeout)
		n.CheckConsistent()
	})

	step(t, n, "one_validator_killed_chain_goes_on", func(t *testing.T, n *harness.Network) {
		n.Kill(3)
		before, _ := w.counts()
		h := height(t, n, 0)
		n.WaitHeight(h+6, progressWindow, 0, 1, 2)
		w.waitCommitted(t, before+10, progressWindow)
		n.CheckConsistent(0, 1, 2)
	})

	var halted int64
	step(t, n, "two_of_four_killed_no_blocks_no_divergence", func(t *testing.T, n *harness.Network) {
		n.Kill(2)
		// A block whose votes were already cast may still commit; then
		// nothing more.
		time.Sleep(2 * time.Second)
		before, _ := w.counts()
		hs := n.AssertHalted(haltWindow, 0, 1)
		if after, _ := w.counts(); after != before {
			t.Fatalf("%d transfers committed while the network was halted", after-before)
		}
		n.CheckConsistent(0, 1)
		halted = max(hs[0], hs[1])
		t.Logf("halted at height %d for %s with 20 of 40 power online", halted, haltWindow)
	})

	step(t, n, "restarted_chain_resumes_and_laggards_catch_up", func(t *testing.T, n *harness.Network) {
		n.Start(2)
		n.Start(3)
		n.WaitHeight(halted+5, progressWindow, 0, 1, 2)
		n.WaitCaughtUp(3, catchUpTimeout) // down since before the halt
		n.WaitCaughtUp(2, catchUpTimeout)
		before, _ := w.counts()
		w.waitCommitted(t, before+10, progressWindow)
		n.CheckConsistent()
	})

	step(t, n, "wiped_node_block_syncs_and_signs_again", func(t *testing.T, n *harness.Network) {
		n.Kill(1)
		n.Wipe(1)
		h := height(t, n, 0)
		n.WaitHeight(h+5, progressWindow, 0, 2, 3)
		n.Start(1) // waits until the network is past the height node1 last signed
		n.WaitCaughtUp(1, catchUpTimeout)
		st, err := n.Status(1)
		if err != nil {
			t.Fatal(err)
		}
		if st.SyncInfo.EarliestBlockHeight != 1 {
			t.Fatalf("wiped node's earliest block is %d, want 1 (synced from scratch)", st.SyncInfo.EarliestBlockHeight)
		}
		n.CheckConsistent()
		n.WaitFor(progressWindow, "node1's validator to sign a block again", func() (bool, error) {
			h, err := n.Height(0)
			if err != nil {
				return false, err
			}
			return n.Signed(0, h, 1)
		})
	})

	step(t, n, "wiped_node_keeping_sign_state_rejoins", func(t *testing.T, n *harness.Network) {
		// What docs/operating.md tells an operator: delete data/ but keep
		// priv_validator_state.json.
		n.Stop(2)
		n.WipeKeepingSignState(2)
		n.Start(2)
		n.WaitCaughtUp(2, catchUpTimeout)
		n.CheckConsistent()
		n.WaitFor(progressWindow, "node2's validator to sign a block again", func() (bool, error) {
			h, err := n.Height(0)
			if err != nil {
				return false, err
			}
			return n.Signed(0, h, 2)
		})
	})

	step(t, n, "whole_network_killed_and_restarted", func(t *testing.T, n *harness.Network) {
		before, _ := w.counts()
		w.waitCommitted(t, before+5, progressWindow)
		var wg sync.WaitGroup
		for i := range n.Nodes {
			wg.Add(1)
			go func() { defer wg.Done(); n.Kill(i) }()
		}
		wg.Wait()
		logged, _ := w.counts()
		var top int64
		w.mu.Lock()
		for _, tr := range w.committed {
			top = max(top, tr.Height)
		}
		w.mu.Unlock()
		n.StartAll()
		n.WaitHeight(top+3, startTimeout)
		n.CheckConsistent()
		checkFoundEverywhere(t, n, w)
		t.Logf("all four killed with %d transfers logged committed (up to height %d); chain resumed", logged, top)
	})

	step(t, n, "nothing_committed_is_lost", func(t *testing.T, n *harness.Network) {
		w.finish(t)
		tip := n.CheckConsistent()
		t.Logf("same blocks and app hashes on all four nodes at every height up to %d", tip)
	})
	t.Logf("TestFaults took %s", time.Since(start).Round(time.Second))
}

// checkFoundEverywhere checks that every transfer logged committed so far
// is found by hash, at its height, on every running node.
func checkFoundEverywhere(t *testing.T, n *harness.Network, w *workload) {
	t.Helper()
	w.mu.Lock()
	txs := append([]transfer(nil), w.committed...)
	w.mu.Unlock()
	var top int64
	for _, tr := range txs {
		top = max(top, tr.Height)
	}
	// A node reports a block before it has executed and indexed it; it
	// starts the next height only after executing it.
	n.WaitHeight(top+1, progressWindow)
	for _, nd := range n.Nodes {
		if !nd.Running() {
			continue
		}
		for _, tr := range txs {
			findTx(t, nd, tr)
		}
	}
}

// findTx checks that nd finds tr by hash with code 0 at its logged height,
// allowing a few seconds for the node's tx indexer, which writes a block's
// txs just after executing it.
func findTx(t *testing.T, nd *harness.Node, tr transfer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := contextFor(5 * time.Second)
		res, err := nd.Client().Tx(ctx, tr.Hash)
		cancel()
		if err == nil {
			if res.Height != tr.Height || res.Code != 0 {
				t.Fatalf("transfer %s: height %d code %d on %s, logged at height %d", tr.Hash, res.Height, res.Code, nd.Name, tr.Height)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("transfer %s (committed at height %d via %s) is not found by hash on %s: %v", tr.Hash, tr.Height, tr.Via, nd.Name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func contextFor(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
