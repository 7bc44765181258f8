package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"
)

// noIndexNode is a node without a tx index, scripted: blocks appear at
// the heights in blocks once the test raises latest, and the results of a
// block are missing for its first missing calls, as on a node that has
// stored the block but not executed it yet.
type noIndexNode struct {
	RPC     // unused methods panic
	latest  int64
	blocks  map[int64][]types.Tx
	missing int
	results int // BlockResults calls
	failing error
}

func (n *noIndexNode) Tx(context.Context, []byte, bool) (*ctypes.ResultTx, error) {
	return nil, errors.New("transaction indexing is disabled")
}

func (n *noIndexNode) Status(context.Context) (*ctypes.ResultStatus, error) {
	return &ctypes.ResultStatus{SyncInfo: ctypes.SyncInfo{LatestBlockHeight: n.latest}}, nil
}

func (n *noIndexNode) Block(_ context.Context, h *int64) (*ctypes.ResultBlock, error) {
	if *h > n.latest {
		return nil, fmt.Errorf("height %d must be less than or equal to the current blockchain height %d", *h, n.latest)
	}
	n.latest++ // the chain moves on while the client scans
	return &ctypes.ResultBlock{Block: &types.Block{Header: types.Header{Height: *h}, Data: types.Data{Txs: n.blocks[*h]}}}, nil
}

func (n *noIndexNode) BlockResults(_ context.Context, h *int64) (*ctypes.ResultBlockResults, error) {
	n.results++
	if n.failing != nil {
		return nil, n.failing
	}
	if n.missing > 0 {
		n.missing--
		return nil, fmt.Errorf("could not find results for height #%d", *h)
	}
	var rs []*abci.ExecTxResult
	for i := range n.blocks[*h] {
		rs = append(rs, &abci.ExecTxResult{Code: uint32(i), Log: "log", Events: []abci.Event{{Type: "transfer", Attributes: []abci.EventAttribute{{Key: "to", Value: fmt.Sprint(i)}}}}})
	}
	return &ctypes.ResultBlockResults{Height: *h, TxResults: rs}, nil
}

func TestWaitTxWithoutIndex(t *testing.T) {
	ours := types.Tx("ours")
	tests := []struct {
		name      string
		node      *noIndexNode
		want      error // nil: found at height at, index 1
		at        int64
		wantCalls int
	}{
		{"in a later block, results not yet stored", &noIndexNode{latest: 3, missing: 2,
			blocks: map[int64][]types.Tx{2: {types.Tx("a")}, 5: {types.Tx("b"), ours}}}, nil, 5, 3},
		{"in the block before the latest", &noIndexNode{latest: 3,
			blocks: map[int64][]types.Tx{2: {types.Tx("a"), ours}}}, nil, 2, 1},
		{"never included", &noIndexNode{latest: 3, blocks: map[int64][]types.Tx{}}, ErrTimeout, 0, 0},
		{"results gone for good", &noIndexNode{latest: 3, failing: errors.New("node is not persisting finalize block responses"),
			blocks: map[int64][]types.Tx{3: {types.Tx("a"), ours}}}, ErrNode, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewWithRPC(tc.node, nil)
			c.PollInterval = time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			r, err := c.WaitTx(ctx, HashString(ours))
			if tc.want != nil {
				if !errors.Is(err, tc.want) || r != nil {
					t.Fatalf("got %+v, %v; want %v", r, err, tc.want)
				}
			} else if err != nil || r.Hash != HashString(ours) || r.Height != tc.at || r.Index != 1 || r.Code != 1 ||
				len(r.Events) != 1 || r.Events[0].Attrs[0].Value != "1" {
				t.Fatalf("got %+v, %v", r, err)
			}
			if tc.node.results != tc.wantCalls {
				t.Fatalf("%d block_results calls, want %d", tc.node.results, tc.wantCalls)
			}
		})
	}
	// A lookup by hash says why it cannot answer.
	c := NewWithRPC(&noIndexNode{}, nil)
	if _, err := c.Tx(context.Background(), HashString(ours)); !errors.Is(err, ErrNoTxIndex) || !strings.Contains(err.Error(), `tx_index = "kv"`) {
		t.Fatalf("Tx: %v", err)
	}
}
