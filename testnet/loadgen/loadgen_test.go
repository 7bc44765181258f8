package loadgen

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

func TestKVSource(t *testing.T) {
	s, err := NewKVSource(3, 64, 2)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for lane := range 3 {
		for range 2 {
			tx := s.Next(lane)
			if len(tx) != 64 || bytes.Count(tx, []byte("=")) != 1 || bytes.HasSuffix(tx, []byte("=")) || bytes.ContainsRune(tx, ':') {
				t.Fatalf("bad kvstore tx %q", tx)
			}
			if seen[string(tx)] {
				t.Fatalf("tx %q made twice", tx)
			}
			seen[string(tx)] = true
		}
		if tx := s.Next(lane); tx != nil {
			t.Fatalf("lane %d not exhausted: %q", lane, tx)
		}
	}
}

func TestTransferSource(t *testing.T) {
	accts := DeriveAccounts("test", 3)
	if again := DeriveAccounts("test", 3); again[2].Addr != accts[2].Addr {
		t.Fatal("accounts are not deterministic")
	}
	src, err := NewTransferSource(TransferOptions{ChainID: "c", Accounts: accts, StartNonces: []uint64{5, 0, 0}, PerAccount: 4})
	if err != nil {
		t.Fatal(err)
	}
	for j := range 4 {
		raw := src.Next(0)
		tx, err := chain.DecodeTx(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.VerifySignatures(); err != nil {
			t.Fatal(err)
		}
		tr, ok := DecodeTransfer(raw)
		if !ok {
			t.Fatal("not a transfer")
		}
		if tr.From != accts[0].Addr || tr.To == tr.From || tr.Nonce != uint64(5+j) || tr.Amount != DefaultAmount {
			t.Fatalf("transfer %d: %+v", j, tr)
		}
	}
	if src.Next(0) != nil {
		t.Fatal("lane not exhausted")
	}
	src.Reset()
	if src.Next(0) == nil {
		t.Fatal("reset did not restart the lane")
	}
	if src.TxSize() < 150 || src.TxSize() > 400 {
		t.Fatalf("odd transfer size %d", src.TxSize())
	}
}

func TestFundGenesis(t *testing.T) {
	path := filepath.Join(t.TempDir(), "genesis.json")
	op := DeriveAccounts("op", 1)[0].Addr
	doc := fmt.Sprintf(`{"chain_id":"c","app_state":{"bank":{"assets":[{"symbol":"USD","name":"US Dollar","decimals":18}],"balances":[{"address":%q,"coins":["5USD"]}]},"consortium":{"members":[]}}}`, op)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	accts := DeriveAccounts("x", 2)
	if err := FundGenesis(path, accts, "1000USD"); err != nil {
		t.Fatal(err)
	}
	bals, err := GenesisBalances(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[chain.Address]string{op: "5000000000000000000", accts[0].Addr: "1000000000000000000000", accts[1].Addr: "1000000000000000000000"}
	if len(bals) != len(want) {
		t.Fatalf("balances %v", bals)
	}
	for a, v := range want {
		if bals[a].String() != v {
			t.Errorf("%s: %s, want %s", a, bals[a], v)
		}
	}
	var back map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &back); err != nil || back["chain_id"] != "c" {
		t.Fatalf("other fields not kept: %v %v", err, back["chain_id"])
	}
}

func TestPercentile(t *testing.T) {
	var l []time.Duration
	for i := 1; i <= 100; i++ {
		l = append(l, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{50: 50, 99: 99, 100: 100, 1: 1} {
		if got := Percentile(l, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty")
	}
}

func TestNewClientLoopbackOnly(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:26657", "http://localhost:1", "tcp://127.0.0.1:5", "http://[::1]:8"} {
		if _, err := NewClient(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:26657", "http://example.com:80", "https://127.0.0.1:1"} {
		if _, err := NewClient(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// fakeNode answers the JSON-RPC calls the generator makes: it admits txs
// in order per lane (checking a "lane/seq" prefix), cuts a block every
// tick, and fails every tx whose key ends in "-7" at execution.
type fakeNode struct {
	mu      sync.Mutex
	mempool [][]byte
	blocks  [][][]byte
	codes   [][]uint32
	next    map[string]int // lane -> next seq

	allOK   bool  // no tx fails
	gas     int64 // gas_used of every tx
	fetches int   // block_results calls
}

func newFakeNode(ctx context.Context, tick time.Duration) *fakeNode {
	f := &fakeNode{next: map[string]int{}}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(tick):
			}
			f.mu.Lock()
			txs := f.mempool
			f.mempool = nil
			codes := make([]uint32, len(txs))
			for i, tx := range txs {
				key, _, _ := strings.Cut(string(tx), "=")
				if strings.HasSuffix(key, "-7") && !f.allOK {
					codes[i] = 5
				}
			}
			f.blocks = append(f.blocks, txs)
			f.codes = append(f.codes, codes)
			f.mu.Unlock()
		}
	}()
	return f
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var reqs []rpcRequest
	body := new(bytes.Buffer)
	body.ReadFrom(r.Body)
	if err := json.Unmarshal(body.Bytes(), &reqs); err != nil {
		var one rpcRequest
		if err := json.Unmarshal(body.Bytes(), &one); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		reqs = []rpcRequest{one}
	}
	var out []map[string]any
	for _, q := range reqs {
		res, rpcErr := f.call(q)
		a := map[string]any{"jsonrpc": "2.0", "id": q.ID}
		if rpcErr != "" {
			a["error"] = map[string]any{"code": -32603, "message": "Internal error", "data": rpcErr}
		} else {
			a["result"] = res
		}
		out = append(out, a)
	}
	w.Header().Set("Content-Type", "application/json")
	if len(out) == 1 {
		json.NewEncoder(w).Encode(out[0])
		return
	}
	json.NewEncoder(w).Encode(out)
}

func (f *fakeNode) call(q rpcRequest) (any, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	height := func() (int, string) {
		h, err := strconv.Atoi(fmt.Sprint(q.Params["height"]))
		if err != nil || h < 1 || h > len(f.blocks) {
			return 0, fmt.Sprintf("height %v must be less than or equal to the current blockchain height %d", q.Params["height"], len(f.blocks))
		}
		return h, ""
	}
	switch q.Method {
	case "status":
		return map[string]any{"node_info": map[string]any{"network": "fake"}, "sync_info": map[string]any{"latest_block_height": strconv.Itoa(len(f.blocks))}}, ""
	case "abci_info":
		return map[string]any{"response": map[string]any{"last_block_height": strconv.Itoa(len(f.blocks))}}, ""
	case "broadcast_tx_sync":
		tx, _ := base64.StdEncoding.DecodeString(fmt.Sprint(q.Params["tx"]))
		key, _, _ := strings.Cut(string(tx), "=")
		lane, seq, _ := strings.Cut(key, "-")
		n, _ := strconv.Atoi(seq)
		if n != f.next[lane] {
			return map[string]any{"code": 8, "info": "nonce_too_high", "log": "out of order"}, ""
		}
		if len(f.mempool) >= 120 {
			return nil, "mempool is full: number of txs 120 (max: 120)"
		}
		f.next[lane]++
		f.mempool = append(f.mempool, tx)
		return map[string]any{"code": 0, "hash": "00"}, ""
	case "block":
		h, e := height()
		if e != "" {
			return nil, e
		}
		txs := make([]string, len(f.blocks[h-1]))
		for i, tx := range f.blocks[h-1] {
			txs[i] = base64.StdEncoding.EncodeToString(tx)
		}
		last := ""
		if h > 1 {
			last = strings.ToUpper(fmt.Sprintf("%x", f.resultsHash(h-1)))
		}
		return map[string]any{
			"block_id": map[string]any{"hash": "AB"},
			"block": map[string]any{
				"header": map[string]any{"height": strconv.Itoa(h), "time": time.Now().Format(time.RFC3339Nano), "app_hash": "", "last_results_hash": last},
				"data":   map[string]any{"txs": txs},
			},
		}, ""
	case "block_results":
		h, e := height()
		if e != "" {
			return nil, e
		}
		f.fetches++
		rs := make([]map[string]any, len(f.codes[h-1]))
		for i, c := range f.codes[h-1] {
			rs[i] = map[string]any{"code": c, "info": map[bool]string{true: "invalid_signature"}[c != 0], "gas_used": strconv.FormatInt(f.gas, 10)}
		}
		return map[string]any{"height": strconv.Itoa(h), "txs_results": rs}, ""
	}
	return nil, "unknown method " + q.Method
}

// resultsHash is the all-OK hash when every tx of block h succeeded and
// something else otherwise, as a real node's header would show.
func (f *fakeNode) resultsHash(h int) []byte {
	for _, c := range f.codes[h-1] {
		if c != 0 {
			return []byte{1, 2, 3}
		}
	}
	return AllOKResultsHash(len(f.codes[h-1]), f.gas)
}

// fakeRun runs a short load of the tests' shape against node; fetch and
// onBlock are Config's FetchResults and OnBlock.
func fakeRun(ctx context.Context, t *testing.T, node *fakeNode, fetch bool, onBlock func(*CommittedBlock)) *Result {
	t.Helper()
	srv := httptest.NewServer(node)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewKVSource(40, 32, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, c, src, Config{
		Warmup: 100 * time.Millisecond, Duration: 600 * time.Millisecond, Drain: 2 * time.Second,
		Workers: 3, Batch: 10, MaxInFlight: 300, Poll: 5 * time.Millisecond, FetchResults: fetch,
		OnBlock: onBlock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRunAgainstFakeNode(t *testing.T) {
	for _, fetch := range []bool{false, true} {
		t.Run(fmt.Sprintf("fetch=%v", fetch), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			node := newFakeNode(ctx, 30*time.Millisecond)
			var blocks []int64
			res := fakeRun(ctx, t, node, fetch, func(b *CommittedBlock) { blocks = append(blocks, b.Height) })
			if res.Submitted == 0 || res.OK == 0 || res.TPS <= 0 || res.P50 <= 0 || res.P99 < res.P50 {
				t.Fatalf("nothing measured: %s", res.Summary())
			}
			if len(res.Rejected) != 0 || res.Lost != 0 || res.Foreign != 0 || res.Unconfirmed != 0 {
				t.Fatalf("unexpected outcome: %s", res.Summary())
			}
			// Every lane's 8th tx (seq 7) fails at execution.
			if res.Failed["code 5 invalid_signature"] == 0 || res.OK+res.Failed["code 5 invalid_signature"] != res.Submitted {
				t.Fatalf("failures not counted: %s", res.Summary())
			}
			for i := 1; i < len(blocks); i++ {
				if blocks[i] != blocks[i-1]+1 {
					t.Fatalf("OnBlock heights not consecutive: %v", blocks)
				}
			}
		})
	}
}

func TestAllOKResultsHash(t *testing.T) {
	if bytes.Equal(AllOKResultsHash(1, 0), AllOKResultsHash(2, 0)) {
		t.Fatal("hash does not depend on the count")
	}
	if bytes.Equal(AllOKResultsHash(3, 0), AllOKResultsHash(3, 4531)) {
		t.Fatal("hash does not depend on the gas")
	}
	if !bytes.Equal(AllOKResultsHash(3, 7), AllOKResultsHash(3, 7)) {
		t.Fatal("not deterministic")
	}
}

// TestRunLearnsResultsGas: when every tx reports the same gas (payments
// through a merchant rule), the watcher fetches /block_results until it has
// seen that gas once, then confirms blocks from their results hash alone.
func TestRunLearnsResultsGas(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	node := newFakeNode(ctx, 30*time.Millisecond)
	node.allOK, node.gas = true, 4531
	res := fakeRun(ctx, t, node, false, nil)
	if res.OK == 0 || res.OK != res.Submitted || len(res.Failed) != 0 {
		t.Fatalf("unexpected outcome: %s", res.Summary())
	}
	node.mu.Lock()
	fetches, blocks := node.fetches, len(node.blocks)
	node.mu.Unlock()
	if blocks < 10 || fetches > 2 {
		t.Fatalf("%d block_results fetches for %d blocks: the gas was not learnt", fetches, blocks)
	}
}

// BenchmarkDecodeAndVerifyTx is the stateless cost of one transfer on the
// node: decode (with key validation) and signature check, as CheckTx pays
// it for a tx it has not seen.
func BenchmarkDecodeAndVerifyTx(b *testing.B) {
	src, err := NewTransferSource(TransferOptions{ChainID: "bench", Accounts: DeriveAccounts("b", 2), PerAccount: 64})
	if err != nil {
		b.Fatal(err)
	}
	txs := make([][]byte, 0, 64)
	for tx := src.Next(0); tx != nil; tx = src.Next(0) {
		txs = append(txs, tx)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		tx, err := chain.DecodeTx(txs[i%len(txs)])
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.VerifySignatures(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeTx is the decode alone, which the node repeats for every
// tx in CheckTx, recheck, PrepareProposal, ProcessProposal and
// FinalizeBlock.
func BenchmarkDecodeTx(b *testing.B) {
	src, err := NewTransferSource(TransferOptions{ChainID: "bench", Accounts: DeriveAccounts("b", 2), PerAccount: 1})
	if err != nil {
		b.Fatal(err)
	}
	tx := src.Next(0)
	for b.Loop() {
		if _, err := chain.DecodeTx(tx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignTransfer is what the load generator pays per transfer up
// front: build and sign one tx.
func BenchmarkSignTransfer(b *testing.B) {
	accts := DeriveAccounts("b", 2)
	msg := &pb.MsgSend{From: accts[0].Addr[:], To: accts[1].Addr[:], Amount: &pb.Coin{Asset: chain.DefaultAsset, Amount: DefaultAmount}}
	for i := 0; b.Loop(); i++ {
		if _, err := chain.BuildTx("bench", uint64(i), chain.TxOptions{}, []proto.Message{msg}, accts[0].Key); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRunTargets spreads submission over two endpoints of one fake node:
// both get batches, each lane stays in order, and commits are watched on
// the first.
func TestRunTargets(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	node := newFakeNode(ctx, 30*time.Millisecond)
	var hits [2]atomic.Int64
	var clients []*Client
	for i := range 2 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			node.ServeHTTP(w, r)
		}))
		defer srv.Close()
		c, err := NewClient(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	src, err := NewKVSource(40, 32, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, clients[0], src, Config{
		Warmup: 100 * time.Millisecond, Duration: 500 * time.Millisecond, Drain: 2 * time.Second,
		Workers: 4, Batch: 10, MaxInFlight: 300, Poll: 5 * time.Millisecond, Targets: clients,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK == 0 || len(res.Rejected) != 0 || res.Lost != 0 {
		t.Fatalf("unexpected outcome: %s", res.Summary())
	}
	if hits[0].Load() == 0 || hits[1].Load() == 0 {
		t.Fatalf("requests per endpoint: %d, %d", hits[0].Load(), hits[1].Load())
	}
}
