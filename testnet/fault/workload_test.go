package fault

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/node/client"
	"github.com/amp-ledger/amp/node/keyring"
	"github.com/amp-ledger/amp/testnet/harness"
)

// transfer is one transfer the workload's client submitted.
type transfer struct {
	Hash   string
	From   chain.Address
	To     chain.Address
	Amount chain.Amount
	Height int64  // where it was seen committed
	Via    string // node it was submitted to
}

// workload sends transfers between the genesis members' accounts (and two
// accounts that start empty), one lane per sender, each tx to the next
// running node in turn, and keeps a client log: the transfers it saw
// committed, those that failed in their block, and those whose fate it
// could not see (the node died or the chain halted while it waited), to
// be resolved at the end.
type workload struct {
	n       *harness.Network
	senders []*keyring.Key
	to      []chain.Address
	genesis map[chain.Address]chain.Amount

	mu        sync.Mutex
	committed []transfer
	byHash    map[string]bool
	failed    []string
	unsure    map[string]transfer
	rejected  int
	perNode   map[string]int
	log       *bufio.Writer
	logFile   *os.File

	stop chan struct{}
	wg   sync.WaitGroup
}

// memberCoins is each member's genesis balance in base units (1,000,000 USD).
var memberCoins = mustAmount("1000000000000000000000000")

func mustAmount(s string) chain.Amount {
	a, err := chain.ParseBaseUnits(s)
	if err != nil {
		panic(err)
	}
	return a
}

func startWorkload(t *testing.T, n *harness.Network) *workload {
	t.Helper()
	w := &workload{
		n: n, genesis: map[chain.Address]chain.Amount{}, byHash: map[string]bool{},
		unsure: map[string]transfer{}, perNode: map[string]int{}, stop: make(chan struct{}),
	}
	for _, nd := range n.Nodes {
		if !nd.Genesis {
			continue
		}
		k, err := nd.Key()
		if err != nil {
			t.Fatal(err)
		}
		w.senders = append(w.senders, k)
		w.to = append(w.to, k.Address())
		w.genesis[k.Address()] = memberCoins
	}
	for i := 0; i < 2; i++ {
		k, err := chain.GenerateKey(chain.KeyEd25519)
		if err != nil {
			t.Fatal(err)
		}
		w.to = append(w.to, k.PubKey().Address())
		w.genesis[k.PubKey().Address()] = chain.Amount{}
	}
	f, err := os.Create(filepath.Join(n.Dir, "client.log"))
	if err != nil {
		t.Fatal(err)
	}
	w.logFile, w.log = f, bufio.NewWriter(f)
	t.Cleanup(func() { w.halt(); w.mu.Lock(); w.log.Flush(); w.logFile.Close(); w.mu.Unlock() })
	for lane := range w.senders {
		w.wg.Add(1)
		go w.run(lane)
	}
	return w
}

// halt stops submitting and waits for the lanes.
func (w *workload) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
}

func (w *workload) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// counts returns how many transfers were seen committed, and per node how
// many were submitted through it.
func (w *workload) counts() (int, map[string]int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	per := map[string]int{}
	for k, v := range w.perNode {
		per[k] = v
	}
	return len(w.committed), per
}

// waitCommitted waits until at least k transfers were seen committed.
func (w *workload) waitCommitted(t *testing.T, k int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, per := w.counts()
		if got >= k {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d transfers committed within %s (submitted per node %v); %s", got, k, timeout, per, w.n.HeightsString())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *workload) record(format string, args ...any) {
	fmt.Fprintf(w.log, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
}

func (w *workload) run(lane int) {
	defer w.wg.Done()
	key := w.senders[lane]
	from := key.Address()
	rng := rand.New(rand.NewPCG(uint64(lane), uint64(time.Now().UnixNano())))
	genesisNodes := 0
	for _, nd := range w.n.Nodes {
		if nd.Genesis {
			genesisNodes++
		}
	}
	for seq := 0; !w.stopped(); seq++ {
		// The next running genesis node, in turn.
		var nd *harness.Node
		for k := 0; k < genesisNodes; k++ {
			c := w.n.Nodes[(lane+seq+k)%genesisNodes]
			if c.Running() {
				nd = c
				break
			}
		}
		if nd == nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		to := w.to[rng.IntN(len(w.to))]
		for to == from {
			to = w.to[rng.IntN(len(w.to))]
		}
		amt := chain.NewAmount(uint64(1+rng.IntN(100000)) * 1_000_000_000_000) // $0.000001 to $0.1
		w.send(nd, key, to, amt)
	}
}

// send submits one transfer through nd and records what the client saw.
func (w *workload) send(nd *harness.Node, key *keyring.Key, to chain.Address, amt chain.Amount) {
	from := key.Address()
	c := nd.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	nonce, err := c.Nonce(ctx, from)
	if err != nil {
		cancel()
		time.Sleep(100 * time.Millisecond)
		return
	}
	tx, err := c.BuildTx(ctx, key.PrivKey(), nonce, chain.TxOptions{},
		&pb.MsgSend{From: from[:], To: to[:], Amount: bank.CoinProto(chain.Coin{Asset: chain.DefaultAsset, Amount: amt})})
	if err != nil {
		cancel()
		time.Sleep(100 * time.Millisecond)
		return
	}
	tr := transfer{Hash: client.HashString(tx), From: from, To: to, Amount: amt, Via: nd.Name}
	_, err = c.Broadcast(ctx, tx)
	cancel()
	if err != nil {
		if client.AsError(err) != nil || errors.Is(err, client.ErrMempoolFull) || strings.Contains(err.Error(), "catching up") {
			// CheckTx refused it (e.g. a nonce taken by a tx whose fate
			// is not known yet), or the node takes no txs while it
			// block-syncs: nothing was admitted.
			w.mu.Lock()
			w.rejected++
			w.record("rejected %s via %s: %v", tr.Hash, nd.Name, err)
			w.mu.Unlock()
			time.Sleep(200 * time.Millisecond)
			return
		}
		// The node may or may not have admitted it.
		w.unsureOf(tr, err)
		return
	}
	w.mu.Lock()
	w.perNode[nd.Name]++
	w.mu.Unlock()
	wctx, wcancel := context.WithTimeout(context.Background(), 8*time.Second)
	res, err := c.WaitTx(wctx, tr.Hash)
	wcancel()
	if err != nil {
		w.unsureOf(tr, err)
		return
	}
	w.settle(tr, res)
}

func (w *workload) unsureOf(tr transfer, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.unsure[tr.Hash] = tr
	w.record("unsure %s via %s: %v", tr.Hash, tr.Via, err)
}

// settle records a tx the client saw in a block.
func (w *workload) settle(tr transfer, res *client.TxResult) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.unsure, tr.Hash)
	if w.byHash[tr.Hash] {
		return
	}
	if res.Code != 0 {
		w.failed = append(w.failed, fmt.Sprintf("%s at height %d: code %d %s", tr.Hash, res.Height, res.Code, res.Reason))
		w.record("failed %s height %d code %d %s", tr.Hash, res.Height, res.Code, res.Reason)
		return
	}
	tr.Height = res.Height
	w.committed = append(w.committed, tr)
	w.byHash[tr.Hash] = true
	w.record("committed %s height %d from %s to %s amount %s via %s", tr.Hash, tr.Height, tr.From, tr.To, tr.Amount, tr.Via)
}

// finish stops the workload, lets the mempools drain, reads every tx in
// the chain (from the blocks, not the tx index), resolves by it the txs
// whose fate the client did not see, and checks the client's log: every
// transfer logged as committed is in the chain with code 0 at the logged
// height, and, on every node (all must run), is found by hash; every
// balance equals its genesis value plus the logged transfers; the USD
// supply is unchanged.
func (w *workload) finish(t *testing.T) {
	t.Helper()
	n := w.n
	w.halt()
	for i, nd := range n.Nodes {
		if nd.Genesis && !nd.Running() {
			t.Fatalf("finish: %s is not running", n.Nodes[i].Name)
		}
	}
	// Let every mempool drain, so that no tx of ours commits after we look.
	n.WaitFor(30*time.Second, "empty mempools", func() (bool, error) {
		for i, nd := range n.Nodes {
			if !nd.Running() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			res, err := n.RPC(i).NumUnconfirmedTxs(ctx)
			cancel()
			if err != nil {
				return false, err
			}
			if res.Total > 0 {
				return false, fmt.Errorf("%s holds %d txs", nd.Name, res.Total)
			}
		}
		return true, nil
	})
	h, err := n.Height(0)
	if err != nil {
		t.Fatal(err)
	}
	n.WaitHeight(h+2, 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The chain itself, not the tx index, says what committed. With the
	// mempools empty, every tx of ours is in a block that was executed
	// before the height after it started: read up to the height before the
	// tip, whose results are surely stored.
	tip, err := n.Height(0)
	if err != nil {
		t.Fatal(err)
	}
	onChain := chainTxs(t, n, 0, tip-1)
	w.mu.Lock()
	unsure := make([]transfer, 0, len(w.unsure))
	for _, tr := range w.unsure {
		unsure = append(unsure, tr)
	}
	w.mu.Unlock()
	dropped := 0
	for _, tr := range unsure {
		r, ok := onChain[tr.Hash]
		if !ok {
			dropped++ // never committed: lost with a killed node's mempool, or refused
			w.mu.Lock()
			delete(w.unsure, tr.Hash)
			w.record("dropped %s (never committed)", tr.Hash)
			w.mu.Unlock()
			continue
		}
		w.settle(tr, &client.TxResult{Hash: tr.Hash, Height: r.height, Code: r.code})
	}
	w.mu.Lock()
	for _, tr := range w.committed {
		r, ok := onChain[tr.Hash]
		if !ok || r.code != 0 || r.height != tr.Height {
			w.mu.Unlock()
			t.Fatalf("LOST: transfer %s, logged committed at height %d, is not in the chain as committed (found %v: %+v)", tr.Hash, tr.Height, ok, r)
		}
	}
	w.log.Flush()
	committed := append([]transfer(nil), w.committed...)
	failed := append([]string(nil), w.failed...)
	w.mu.Unlock()
	t.Logf("client log: %d transfers committed (%d of them seen only after the fact), %d failed in their block, %d never committed, %d refused at submission",
		len(committed), len(unsure)-dropped, len(failed), dropped, w.rejected)
	if len(failed) > 0 {
		// A transfer fails in its block only if its nonce was taken by
		// another tx of the same sender whose fate the client did not see.
		t.Logf("failed in their block: %s", strings.Join(failed[:min(len(failed), 5)], "; "))
	}

	expect := map[chain.Address]chain.Amount{}
	for a, v := range w.genesis {
		expect[a] = v
	}
	for _, tr := range committed {
		var err error
		if expect[tr.From], err = expect[tr.From].Sub(tr.Amount); err != nil {
			t.Fatalf("client log overdraws %s: %v", tr.From, err)
		}
		if expect[tr.To], err = expect[tr.To].Add(tr.Amount); err != nil {
			t.Fatal(err)
		}
	}
	addrs := make([]chain.Address, 0, len(expect))
	for a := range expect {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].String() < addrs[j].String() })

	for i, nd := range n.Nodes {
		if !nd.Running() {
			continue
		}
		nc := n.Node(i).Client()
		for _, tr := range committed {
			findTx(t, nd, tr)
		}
		for _, a := range addrs {
			got, err := nc.BalanceOf(ctx, a, chain.DefaultAsset)
			if err != nil {
				t.Fatalf("balance of %s on %s: %v", a, nd.Name, err)
			}
			if got.Cmp(expect[a]) != 0 {
				t.Fatalf("balance of %s on %s is %s, but genesis plus the %d logged transfers give %s", a, nd.Name, got, len(committed), expect[a])
			}
		}
		sup, err := nc.Supply(ctx, chain.DefaultAsset)
		if err != nil {
			t.Fatal(err)
		}
		want := chain.NewAmount(0)
		for range w.senders {
			want, _ = want.Add(memberCoins)
		}
		if sup.BaseUnits != want.String() {
			t.Fatalf("USD supply on %s is %s, want %s", nd.Name, sup.BaseUnits, want)
		}
	}
}

// chainResult is a tx's place and code in the chain.
type chainResult struct {
	height int64
	code   uint32
}

// chainTxs reads every tx of blocks 1 to tip from node i's block store,
// with its result code, by hash.
func chainTxs(t *testing.T, n *harness.Network, i int, tip int64) map[string]chainResult {
	t.Helper()
	out := map[string]chainResult{}
	for h := int64(1); h <= tip; h++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		b, err := n.RPC(i).Block(ctx, &h)
		if err != nil {
			cancel()
			t.Fatalf("block %d: %v", h, err)
		}
		if len(b.Block.Txs) == 0 {
			cancel()
			continue
		}
		res, err := n.RPC(i).BlockResults(ctx, &h)
		cancel()
		if err != nil {
			t.Fatalf("block results %d: %v", h, err)
		}
		if len(res.TxResults) != len(b.Block.Txs) {
			t.Fatalf("block %d has %d txs and %d results", h, len(b.Block.Txs), len(res.TxResults))
		}
		for k, tx := range b.Block.Txs {
			out[client.HashString(tx)] = chainResult{height: h, code: res.TxResults[k].Code}
		}
	}
	return out
}
