package loadgen

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/node/home"
)

// BenchmarkBlocks executes the bench's loads in process, with the state
// shape of a node under `ampbench`: 2,000 lanes, blocks of 5,000 txs (each
// agent or account about 2.5 times per block), FinalizeBlock + Commit
// timed, CheckTx and PrepareProposal not (they run beside the block on a
// node). It reports wall µs per tx and the process's CPU µs per tx over the
// same spans (GC included), so the block execution of payments and
// transfers can be compared without a node's scheduling noise; on a shared
// machine the CPU figure moves less than the wall one.
func BenchmarkBlocks(b *testing.B) {
	const lanes, perBlock, blocks = 2000, 5000, 8
	per := perBlock * blocks / lanes * b.N
	gen := benchHome(b)
	accts := DeriveAccounts("blocks-bench", lanes)
	if err := FundGenesis(gen, accts, "1000000USD"); err != nil {
		b.Fatal(err)
	}
	transfers, err := NewTransferSource(TransferOptions{ChainID: "amp-bench", Accounts: accts, PerAccount: per})
	if err != nil {
		b.Fatal(err)
	}
	tWall, tCPU := runBlocks(b, gen, lanes, perBlock, blocks, transfers.Next)

	gen = benchHome(b)
	l, err := DerivePayLanes("blocks-bench", lanes, 4, chain.KeyEd25519)
	if err != nil {
		b.Fatal(err)
	}
	if err := PayGenesis(gen, l, PayGenesisOptions{}); err != nil {
		b.Fatal(err)
	}
	pays, err := NewPaySource(PayOptions{ChainID: "amp-bench", Lanes: l, PerLane: per})
	if err != nil {
		b.Fatal(err)
	}
	pWall, pCPU := runBlocks(b, gen, lanes, perBlock, blocks, pays.Next)

	b.ReportMetric(tWall, "transfer-µs/tx")
	b.ReportMetric(tCPU, "transfer-cpu-µs/tx")
	b.ReportMetric(pWall, "pay-µs/tx")
	b.ReportMetric(pCPU, "pay-cpu-µs/tx")
	b.ReportMetric(pCPU/tCPU, "pay/transfer-cpu")
	b.ReportMetric(0, "ns/op")
}

// processCPU is the user and system time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchHome(b *testing.B) string {
	dir := filepath.Join(b.TempDir(), "home")
	if _, err := home.Init(home.InitOptions{Dir: dir, ChainID: "amp-bench", Node: home.NodeConfig{Moniker: "bench"},
		Accounts: home.OperatorAccounts("bench", nil)}); err != nil {
		b.Fatal(err)
	}
	return home.GenesisFile(dir)
}

// runBlocks executes b.N rounds of blocks on a new chain from gen and
// returns wall and CPU µs per tx.
func runBlocks(b *testing.B, gen string, lanes, perBlock, blocks int, next func(int) []byte) (wall, cpuPerTx float64) {
	c := startChainWith(b, gen, false)
	ctx := context.Background()
	var total, cpu time.Duration
	n := 0
	lane := 0
	for i := 0; i < b.N; i++ {
		for blk := 0; blk < blocks; blk++ {
			txs := make([][]byte, 0, perBlock)
			for len(txs) < perBlock {
				tx := next(lane)
				lane = (lane + 1) % lanes
				if tx == nil {
					b.Fatal("source ran out")
				}
				if r, _ := c.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: tx}); r.Code != 0 {
					b.Fatalf("CheckTx: %s", r.Log)
				}
				txs = append(txs, tx)
			}
			prep, err := c.app.PrepareProposal(ctx, &abci.PrepareProposalRequest{Txs: txs, MaxTxBytes: 1 << 22})
			if err != nil {
				b.Fatal(err)
			}
			c.height++
			start, cpu0 := time.Now(), processCPU()
			r, err := c.app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: c.height,
				Time: c.doc.GenesisTime.Add(time.Duration(c.height) * time.Second), Txs: prep.Txs})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.app.Commit(ctx, &abci.CommitRequest{}); err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
			cpu += processCPU() - cpu0
			n += len(prep.Txs)
			for _, res := range r.TxResults {
				if res.Code != 0 {
					b.Fatalf("tx failed: %s", res.Log)
				}
			}
		}
	}
	return float64(total.Microseconds()) / float64(n), float64(cpu.Microseconds()) / float64(n)
}
