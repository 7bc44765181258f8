package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/node/client"
	"github.com/amp-ledger/amp/node/home"
)

// TestValidatorProfileWithoutTxIndex runs a node with the validator
// profile (tx_index = "null"): the client still reports every tx's
// committed result, found in the blocks, and a lookup by hash says the
// node keeps no index.
func TestValidatorProfileWithoutTxIndex(t *testing.T) {
	dir := t.TempDir()
	opts := home.DevOptions(dir, freeAddr(t), freeAddr(t), 150*time.Millisecond)
	opts.Node.TxIndex = home.TxIndexNull
	res, err := home.Init(opts)
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	if got := res.Config.TxIndex.Indexer; got != home.TxIndexNull {
		t.Fatalf("tx_index.indexer = %q", got)
	}
	c, kr := homeClient(t, dir, startNode(t, dir))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, _ := kr.Get("alice")
	bob, _ := kr.Get("bob")

	var last int64
	for i, amount := range []string{"1USD", "2.5USD", "0.000001USD"} {
		coin, err := c.ParseCoin(ctx, amount)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Send(ctx, alice.PrivKey(), bob.Address(), coin)
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if r.Code != 0 || r.Height < last || len(r.Hash) != 64 {
			t.Fatalf("send %d: result %+v after height %d", i, r, last)
		}
		if to, ok := r.Attr("transfer", "to"); !ok || to != bob.Address().String() {
			t.Fatalf("send %d: events %+v", i, r.Events)
		}
		last = r.Height
	}
	if got := balances(t, ctx, c, "alice", "bob"); got["alice"] != "996.499999" || got["bob"] != "1003.500001" {
		t.Fatalf("balances: %v", got)
	}

	// A tx that passes CheckTx and fails in its block: the result found in
	// the block carries the code, as /tx would.
	coin, err := c.ParseCoin(ctx, "5000USD")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Send(ctx, alice.PrivKey(), bob.Address(), coin)
	e := wantCode(t, "overdraft", err, bank.ErrInsufficientFunds)
	if e.Height < last || e.TxHash == "" {
		t.Fatalf("overdraft: height %d (last %d), hash %q", e.Height, last, e.TxHash)
	}

	if _, err := c.Tx(ctx, e.TxHash); !errors.Is(err, client.ErrNoTxIndex) {
		t.Fatalf("lookup by hash on a node without an index: %v", err)
	}
}
