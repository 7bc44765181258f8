package app

import (
	"context"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/amp-ledger/amp/chain"
)

// TestConcurrentCheckTxDuringBlocks runs CheckTx from many goroutines (as
// the node's unsynchronised ABCI client does for concurrent RPC calls)
// while blocks execute, and queries at the same time. Run with -race.
func TestConcurrentCheckTxDuringBlocks(t *testing.T) {
	c := newTestChain(t)
	c.block()
	senders := make([]chain.PrivKey, 8)
	for i := range senders {
		senders[i] = testKey(t, byte(40+i))
		c.block(c.tx(c.alice, send(t, c.alice, senders[i], "10")))
	}
	// Each sender's txs in nonce order; senders run concurrently.
	perSender := make([][][]byte, len(senders))
	for i, s := range senders {
		for n := 0; n < 20; n++ {
			perSender[i] = append(perSender[i], c.tx(s, send(t, s, c.bob, "0.01")))
		}
	}
	var wg sync.WaitGroup
	admitted := make([][][]byte, len(senders))
	for i := range senders {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for _, tx := range perSender[i] {
				r, _ := c.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK})
				if r.Code != 0 {
					t.Errorf("sender %d: %s", i, r.Log)
					return
				}
				admitted[i] = append(admitted[i], tx)
			}
		}(i)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			c.app.Query(context.Background(), &abci.QueryRequest{Path: "/app/nonce/" + senders[i%len(senders)].PubKey().Address().String()})
		}
	}()
	// A block executes while txs are admitted; CometBFT holds CheckTx back
	// only during Commit and the recheck that follows it.
	c.height++
	if _, err := c.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: c.height, Time: genesisTime}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	<-done
	if _, err := c.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		t.Fatal(err)
	}
	for i, txs := range admitted {
		for _, tx := range txs {
			if r, _ := c.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_RECHECK}); r.Code != 0 {
				t.Fatalf("recheck of sender %d: %s", i, r.Log)
			}
		}
	}
	var all [][]byte
	for _, txs := range admitted {
		all = append(all, txs...)
	}
	r := c.block(all...)
	for i, res := range r.TxResults {
		if res.Code != 0 {
			t.Fatalf("tx %d: %s", i, res.Log)
		}
	}
	if err := c.app.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
