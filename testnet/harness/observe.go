package harness

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"
)

// CallTimeout bounds each RPC call the harness makes.
const CallTimeout = 5 * time.Second

func callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), CallTimeout)
}

// RPC returns node i's CometBFT RPC client (a new one after each Start).
func (n *Network) RPC(i int) *rpchttp.HTTP {
	n.T.Helper()
	nd := n.Node(i)
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.rpc == nil {
		r, err := rpchttp.New(nd.RPC)
		if err != nil {
			n.T.Fatalf("rpc client of %s: %v", nd.Name, err)
		}
		nd.rpc = r
	}
	return nd.rpc
}

// Status returns node i's /status.
func (n *Network) Status(i int) (*ctypes.ResultStatus, error) {
	ctx, cancel := callCtx()
	defer cancel()
	st, err := n.RPC(i).Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: status: %w", n.Nodes[i].Name, err)
	}
	return st, nil
}

// Height returns node i's latest height (/status: the last block it has
// stored; see WaitHeight).
func (n *Network) Height(i int) (int64, error) {
	st, err := n.Status(i)
	if err != nil {
		return 0, err
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

// Heights returns every node's height, -1 for a node that does not answer.
func (n *Network) Heights() []int64 {
	out := make([]int64, len(n.Nodes))
	for i := range n.Nodes {
		h, err := n.Height(i)
		if err != nil {
			h = -1
		}
		out[i] = h
	}
	return out
}

// HeightsString describes every node's height, for failure messages.
func (n *Network) HeightsString() string {
	var parts []string
	for i, h := range n.Heights() {
		s := fmt.Sprint(h)
		if h < 0 {
			s = "down"
			if n.Nodes[i].Running() {
				s = "not answering"
			}
		}
		parts = append(parts, n.Nodes[i].Name+"="+s)
	}
	return strings.Join(parts, " ")
}

// indices returns nodes, or every running node if nodes is empty.
func (n *Network) indices(nodes []int) []int {
	if len(nodes) > 0 {
		return nodes
	}
	var out []int
	for i, nd := range n.Nodes {
		if nd.Running() {
			out = append(out, i)
		}
	}
	return out
}

// WaitHeight waits until each of nodes (every running node if none are
// given) reports height h, and fails the test after timeout. A node
// reports a block (/status) once it has stored it, just before it executes
// and indexes it; it starts the next height only after executing it. So to
// query the state after block h, wait for h+1.
func (n *Network) WaitHeight(h int64, timeout time.Duration, nodes ...int) {
	n.T.Helper()
	idx := n.indices(nodes)
	deadline := time.Now().Add(timeout)
	for {
		low := int64(-1)
		for _, i := range idx {
			got, err := n.Height(i)
			if err != nil {
				got = -1
			}
			if low < 0 || got < low {
				low = got
			}
		}
		if low >= h {
			return
		}
		if time.Now().After(deadline) {
			n.T.Fatalf("nodes %s did not all reach height %d within %s: %s", n.names(idx), h, timeout, n.HeightsString())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitCaughtUp waits until node i has finished block sync (catching_up is
// false) and reached the height the other running nodes had when the wait
// began.
func (n *Network) WaitCaughtUp(i int, timeout time.Duration) {
	n.T.Helper()
	var target int64
	for j, nd := range n.Nodes {
		if j == i || !nd.Running() {
			continue
		}
		if h, err := n.Height(j); err == nil && h > target {
			target = h
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		st, err := n.Status(i)
		if err == nil && !st.SyncInfo.CatchingUp && st.SyncInfo.LatestBlockHeight >= target {
			return
		}
		if time.Now().After(deadline) {
			state := fmt.Sprint(err)
			if err == nil {
				state = fmt.Sprintf("height %d, catching_up %v", st.SyncInfo.LatestBlockHeight, st.SyncInfo.CatchingUp)
			}
			n.T.Fatalf("%s did not catch up to height %d within %s (%s); %s", n.Nodes[i].Name, target, timeout, state, n.HeightsString())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// AssertHalted checks that none of nodes (every running node if none are
// given) commits a block for the duration d, and returns their heights.
func (n *Network) AssertHalted(d time.Duration, nodes ...int) []int64 {
	n.T.Helper()
	idx := n.indices(nodes)
	first := make([]int64, len(idx))
	for k, i := range idx {
		h, err := n.Height(i)
		if err != nil {
			n.T.Fatalf("halted network: %v", err)
		}
		first[k] = h
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		for k, i := range idx {
			h, err := n.Height(i)
			if err != nil {
				n.T.Fatalf("halted network: %v", err)
			}
			if h != first[k] {
				n.T.Fatalf("%s committed height %d (was %d) although the network should be halted: %s",
					n.Nodes[i].Name, h, first[k], n.HeightsString())
			}
		}
	}
	return first
}

// Header is what the harness compares between nodes at one height.
type Header struct {
	Height    int64
	BlockHash []byte
	// AppHash is the app hash after the previous block.
	AppHash []byte
	NumTxs  int
}

// Headers returns node i's headers from height from to to (inclusive), in
// height order.
func (n *Network) Headers(i int, from, to int64) ([]Header, error) {
	var out []Header
	for lo := from; lo <= to; lo += 20 {
		hi := min(lo+19, to)
		ctx, cancel := callCtx()
		res, err := n.RPC(i).BlockchainInfo(ctx, lo, hi)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s: blockchain %d-%d: %w", n.Nodes[i].Name, lo, hi, err)
		}
		// block_metas come highest first.
		for k := len(res.BlockMetas) - 1; k >= 0; k-- {
			bm := res.BlockMetas[k]
			out = append(out, Header{Height: bm.Header.Height, BlockHash: bm.BlockID.Hash, AppHash: bm.Header.AppHash, NumTxs: bm.NumTxs})
		}
	}
	for k, h := range out {
		if h.Height != from+int64(k) {
			return nil, fmt.Errorf("%s: headers %d-%d: got height %d at position %d", n.Nodes[i].Name, from, to, h.Height, k)
		}
	}
	if int64(len(out)) != to-from+1 {
		return nil, fmt.Errorf("%s: headers %d-%d: got %d", n.Nodes[i].Name, from, to, len(out))
	}
	return out, nil
}

// AppHash returns node i's app hash after block h: the app_hash of the
// header of block h+1, which must be committed.
func (n *Network) AppHash(i int, h int64) ([]byte, error) {
	hs, err := n.Headers(i, h+1, h+1)
	if err != nil {
		return nil, err
	}
	return hs[0].AppHash, nil
}

// CheckConsistent compares, between nodes (every running node if none are
// given), the block hash and app hash of every height from 1 to their
// common tip, and fails the test at the first difference. It returns the
// common tip.
func (n *Network) CheckConsistent(nodes ...int) int64 {
	n.T.Helper()
	idx := n.indices(nodes)
	if len(idx) == 0 {
		n.T.Fatal("check consistency: no node")
	}
	tip := int64(-1)
	for _, i := range idx {
		h, err := n.Height(i)
		if err != nil {
			n.T.Fatalf("check consistency: %v", err)
		}
		if tip < 0 || h < tip {
			tip = h
		}
	}
	if tip < 1 {
		return tip
	}
	ref, err := n.Headers(idx[0], 1, tip)
	if err != nil {
		n.T.Fatalf("check consistency: %v", err)
	}
	for _, i := range idx[1:] {
		got, err := n.Headers(i, 1, tip)
		if err != nil {
			n.T.Fatalf("check consistency: %v", err)
		}
		for k := range ref {
			a, b := ref[k], got[k]
			if !bytes.Equal(a.AppHash, b.AppHash) {
				n.T.Fatalf("DIVERGENCE: app hash after block %d is %X on %s but %X on %s", a.Height-1, a.AppHash, n.Nodes[idx[0]].Name, b.AppHash, n.Nodes[i].Name)
			}
			if !bytes.Equal(a.BlockHash, b.BlockHash) {
				n.T.Fatalf("DIVERGENCE: block %d is %X on %s but %X on %s", a.Height, a.BlockHash, n.Nodes[idx[0]].Name, b.BlockHash, n.Nodes[i].Name)
			}
		}
	}
	return tip
}

// Peers returns the node IDs of node i's connected peers.
func (n *Network) Peers(i int) ([]string, error) {
	ctx, cancel := callCtx()
	defer cancel()
	res, err := n.RPC(i).NetInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: net_info: %w", n.Nodes[i].Name, err)
	}
	var out []string
	for _, p := range res.Peers {
		out = append(out, string(p.NodeInfo.DefaultNodeID))
	}
	return out, nil
}

// HasPeer reports whether node i is connected to node j.
func (n *Network) HasPeer(i, j int) (bool, error) {
	ps, err := n.Peers(i)
	if err != nil {
		return false, err
	}
	for _, p := range ps {
		if p == n.Nodes[j].NodeID {
			return true, nil
		}
	}
	return false, nil
}

// Validators returns CometBFT's validator set at node i's latest height.
func (n *Network) Validators(i int) ([]*types.Validator, error) {
	ctx, cancel := callCtx()
	defer cancel()
	perPage := 100
	res, err := n.RPC(i).Validators(ctx, nil, nil, &perPage)
	if err != nil {
		return nil, fmt.Errorf("%s: validators: %w", n.Nodes[i].Name, err)
	}
	return res.Validators, nil
}

// HasValidator reports whether node j's consensus key is in the validator
// set node i reports.
func (n *Network) HasValidator(i, j int) (bool, error) {
	vs, err := n.Validators(i)
	if err != nil {
		return false, err
	}
	for _, v := range vs {
		if v.Address.String() == n.Nodes[j].ValidatorAddress {
			return true, nil
		}
	}
	return false, nil
}

// Signed reports whether node j's validator signed (for the block) the
// commit of block h, as node i stores it.
func (n *Network) Signed(i int, h int64, j int) (bool, error) {
	ctx, cancel := callCtx()
	defer cancel()
	res, err := n.RPC(i).Commit(ctx, &h)
	if err != nil {
		return false, fmt.Errorf("%s: commit %d: %w", n.Nodes[i].Name, h, err)
	}
	for _, s := range res.Commit.Signatures {
		if s.BlockIDFlag == types.BlockIDFlagCommit && s.ValidatorAddress.String() == n.Nodes[j].ValidatorAddress {
			return true, nil
		}
	}
	return false, nil
}

// WaitFor polls cond every 100 ms until it holds, and fails the test with
// what after timeout (with the nodes' heights and cond's last error).
func (n *Network) WaitFor(timeout time.Duration, what string, cond func() (bool, error)) {
	n.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			n.T.Fatalf("timed out after %s waiting for %s (last error: %v); %s", timeout, what, err, n.HeightsString())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (n *Network) names(idx []int) string {
	var s []string
	for _, i := range idx {
		s = append(s, n.Nodes[i].Name)
	}
	return strings.Join(s, ",")
}
