package crash

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cfg "github.com/cometbft/cometbft/config"
	sm "github.com/cometbft/cometbft/state"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/node/home"
	"github.com/amp-ledger/amp/testnet/loadgen"
	"github.com/amp-ledger/amp/testnet/nodeproc"
)

const (
	chainID   = "amp-crash"
	accounts  = 8
	fundCoins = "1000USD"
	blockTime = 200 * time.Millisecond
)

// committed is one transfer the node reported committed.
type committed struct {
	Hash   [32]byte
	Height int64
	Index  int
	loadgen.Transfer
	Phase string // "stream", "catch-up" (committed before the kill, seen after the restart) or "after-restart"
}

// txLog records every committed transfer, in the order seen, to a file and
// in memory.
type txLog struct {
	mu     sync.Mutex
	f      *bufio.Writer
	file   *os.File
	txs    []committed
	byHash map[[32]byte]committed
	blocks map[int64]string // height -> block hash, for every block seen
	top    int64            // highest height seen
	phase  string
	fail   []string
}

func newTxLog(path string) (*txLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &txLog{f: bufio.NewWriter(f), file: f, byHash: map[[32]byte]committed{}, blocks: map[int64]string{}, phase: "stream"}, nil
}

func (l *txLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.Flush()
	l.file.Close()
}

func (l *txLog) setPhase(p string) {
	l.mu.Lock()
	l.phase = p
	l.mu.Unlock()
}

// add records a committed block: every tx with code 0 is logged with its
// height, sender, recipient and amount.
func (l *txLog) add(b *loadgen.CommittedBlock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, seen := l.blocks[b.Height]; seen {
		return
	}
	l.blocks[b.Height] = b.Hash.String()
	l.top = max(l.top, b.Height)
	for i, raw := range b.Txs {
		if b.Results[i].Code != 0 {
			l.fail = append(l.fail, fmt.Sprintf("height %d tx %d: code %d %s", b.Height, i, b.Results[i].Code, b.Results[i].Log))
			continue
		}
		tr, ok := loadgen.DecodeTransfer(raw)
		if !ok {
			l.fail = append(l.fail, fmt.Sprintf("height %d tx %d: not a transfer", b.Height, i))
			continue
		}
		c := committed{Hash: loadgen.Hash(raw), Height: b.Height, Index: i, Transfer: tr, Phase: l.phase}
		l.txs = append(l.txs, c)
		l.byHash[c.Hash] = c
		fmt.Fprintf(l.f, "%s height=%d index=%d hash=%X from=%s to=%s amount=%s nonce=%d\n",
			c.Phase, c.Height, c.Index, c.Hash, c.From, c.To, c.Amount, c.Nonce)
	}
}

func (l *txLog) snapshot() (n int, top int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.txs), l.top
}

// TestCrashRecovery runs a real ampd process under a stream of transfers,
// SIGKILLs it mid-stream, restarts it, and checks that nothing committed
// was lost or changed: the chain continues above the pre-kill height, every
// transfer reported committed is in the state, balances and nonces equal
// genesis plus the committed transfers exactly, the supply invariant holds,
// and a fresh replay of all blocks into an empty app state computes the
// same app hash.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs ampd processes")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go tool to build ampd")
	}
	dir := t.TempDir()
	ampd, err := nodeproc.Build(dir, "ampd", nodeproc.AmpdPkg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	homeDir := filepath.Join(dir, "home")
	if err := nodeproc.InitAmpd(ampd, homeDir, chainID, "validator"); err != nil {
		t.Fatal(err)
	}
	accts := loadgen.DeriveAccounts("crash", accounts)
	genesisPath := home.GenesisFile(homeDir)
	if err := loadgen.FundGenesis(genesisPath, accts, fundCoins); err != nil {
		t.Fatal(err)
	}
	genesis, err := loadgen.GenesisBalances(genesisPath)
	if err != nil {
		t.Fatal(err)
	}
	ports, err := nodeproc.NewPorts(false)
	if err != nil {
		t.Fatal(err)
	}
	if err := nodeproc.EditConfig(homeDir, func(c *cfg.Config) {
		ports.Apply(c)
		c.Consensus.TimeoutCommit = blockTime
	}); err != nil {
		t.Fatal(err)
	}

	var procs []*nodeproc.Process
	t.Cleanup(func() {
		for _, p := range procs {
			p.Kill()
		}
	})
	start := func(name, homeDir string) *nodeproc.Process {
		t.Helper()
		p, err := nodeproc.Start(name, filepath.Join(dir, name+".log"), ampd, "start", "--home", homeDir)
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
		return p
	}
	fail := func(p *nodeproc.Process, format string, args ...any) {
		t.Helper()
		if p != nil {
			t.Logf("last lines of %s:\n%s", p.LogPath, p.Tail(40))
		}
		t.Fatalf(format, args...)
	}

	log, err := newTxLog(filepath.Join(dir, "committed.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.close()
	t.Cleanup(func() {
		if t.Failed() {
			keepLogs(t, dir)
		}
	})

	// 1. Start the node and stream transfers from every account.
	p1 := start("ampd-1", homeDir)
	client, err := loadgen.NewClient(ports.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := client.WaitReady(ctx, 1); err != nil {
		fail(p1, "node did not start: %v", err)
	}
	src, err := loadgen.NewTransferSource(loadgen.TransferOptions{ChainID: chainID, Accounts: accts, PerAccount: 400})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	streamDone := make(chan *loadgen.Result, 1)
	go func() {
		res, err := loadgen.Run(ctx, client, src, loadgen.Config{
			Duration: 60 * time.Second, Workers: 2, Batch: 20, MaxInFlight: 400, Rate: 400,
			Poll: 20 * time.Millisecond, FetchResults: true, OnBlock: log.add, StopSubmit: stop,
		})
		if err != nil {
			t.Errorf("stream: %v", err)
		}
		streamDone <- res
	}()

	// 2. SIGKILL it mid-stream, once a few hundred transfers committed.
	startHeight := int64(0)
	for {
		n, top := log.snapshot()
		if startHeight == 0 && top > 0 {
			startHeight = top
		}
		if n >= 300 && top >= startHeight+5 {
			break
		}
		if ctx.Err() != nil {
			fail(p1, "only %d transfers committed before the deadline", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
	p1.Kill()
	close(stop)
	res := <-streamDone
	log.setPhase("catch-up")
	preKillTxs, preKillHeight := log.snapshot()
	preKill := append([]committed(nil), log.txs[:preKillTxs]...)
	preKillBlocks := map[int64]string{}
	log.mu.Lock()
	for h, hash := range log.blocks {
		preKillBlocks[h] = hash
	}
	log.mu.Unlock()
	t.Logf("killed ampd (SIGKILL) with %d transfers reported committed up to height %d; %d admitted by the node",
		preKillTxs, preKillHeight, res.Submitted)
	if len(res.Failed) > 0 {
		t.Errorf("transfers failed before the kill: %v", res.Failed)
	}

	// 3. Restart it: the chain must continue above the pre-kill height,
	// on the same blocks.
	p2 := start("ampd-2", homeDir)
	if _, err := client.WaitReady(ctx, preKillHeight+3); err != nil {
		fail(p2, "restarted node did not produce blocks above %d: %v", preKillHeight, err)
	}
	for h, want := range preKillBlocks {
		b, err := client.Block(ctx, h)
		if err != nil {
			fail(p2, "block %d after restart: %v", h, err)
		}
		if b.Hash.String() != want {
			t.Errorf("block %d changed across the crash: %s, was %s", h, b.Hash, want)
		}
	}
	// Blocks committed before the kill that the stream did not see yet.
	st, err := client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	catchUp(ctx, t, client, log, preKillHeight+1, int64(st.SyncInfo.LatestBlockHeight))

	// 4. Stream again: the node must take up every account's next nonce.
	log.setPhase("after-restart")
	nonces, err := loadgen.Nonces(ctx, client, accts)
	if err != nil {
		t.Fatal(err)
	}
	src2, err := loadgen.NewTransferSource(loadgen.TransferOptions{ChainID: chainID, Accounts: accts, StartNonces: nonces, PerAccount: 60})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := loadgen.Run(ctx, client, src2, loadgen.Config{
		Duration: 2 * time.Second, Drain: 15 * time.Second, Workers: 2, Batch: 20, MaxInFlight: 400, Rate: 200,
		Poll: 20 * time.Millisecond, FetchResults: true, OnBlock: log.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Rejected) > 0 || len(res2.Failed) > 0 || res2.Lost > 0 || res2.OK == 0 {
		fail(p2, "after restart: %s", res2.Summary())
	}
	st, err = client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	catchUp(ctx, t, client, log, 1, int64(st.SyncInfo.LatestBlockHeight))
	log.mu.Lock()
	if len(log.fail) > 0 {
		t.Errorf("blocks hold txs that are not successful transfers:\n%s", strings.Join(log.fail, "\n"))
	}
	all := append([]committed(nil), log.txs...)
	log.mu.Unlock()

	// 5. Every transfer reported committed before the kill is on the
	// chain, at the height it was reported at, with code 0.
	for _, c := range preKill {
		info, err := client.Tx(ctx, c.Hash[:])
		if err != nil {
			t.Errorf("tx %X (height %d) reported committed before the kill: /tx: %v", c.Hash, c.Height, err)
			continue
		}
		if int64(info.Height) != c.Height || int(info.Index) != c.Index || info.TxResult.Code != 0 {
			t.Errorf("tx %X: /tx says height %d index %d code %d, reported at height %d index %d",
				c.Hash, info.Height, info.Index, info.TxResult.Code, c.Height, c.Index)
		}
	}

	// 6. State equals genesis plus the logged transfers, exactly.
	want, sentBy, err := expectedState(genesis, all)
	if err != nil {
		t.Fatal(err)
	}
	checkState(ctx, t, client, accts, want, sentBy, genesis)
	t.Logf("%d transfers committed in all (%d before the kill, %d seen only after the restart, %d after it); log: %s",
		len(all), preKillTxs, countPhase(all, "catch-up"), countPhase(all, "after-restart"), log.file.Name())

	// 7. Replay: stop the node cleanly, copy its home without the app
	// state, and start the copy: CometBFT's handshake replays every block
	// into an empty app, which must reach the same app hash.
	if err := p2.Stop(30 * time.Second); err != nil {
		fail(p2, "clean stop: %v", err)
	}
	lastHeight, lastHash := cometState(t, homeDir)
	replayHome := filepath.Join(dir, "replay")
	hc, err := nodeproc.LoadConfig(homeDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := copyDir(homeDir, replayHome, home.AppDir(hc)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(home.AppDir(hc)); err != nil {
		t.Fatalf("the app state is not where the node keeps it: %v", err)
	}
	ports3, err := nodeproc.NewPorts(false)
	if err != nil {
		t.Fatal(err)
	}
	if err := nodeproc.EditConfig(replayHome, func(c *cfg.Config) { ports3.Apply(c) }); err != nil {
		t.Fatal(err)
	}
	p3 := start("ampd-replay", replayHome)
	client3, err := loadgen.NewClient(ports3.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client3.Close()
	if _, err := client3.WaitReady(ctx, lastHeight+1); err != nil {
		fail(p3, "replayed node did not reach height %d: %v", lastHeight+1, err)
	}
	next, err := client3.Block(ctx, lastHeight+1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(next.AppHash.String(), hex.EncodeToString(lastHash)) {
		t.Errorf("replay of blocks 1..%d into a fresh app gives app hash %s, the original node had %X", lastHeight, next.AppHash, lastHash)
	} else {
		t.Logf("replay of blocks 1..%d into a fresh app state reproduces app hash %X", lastHeight, lastHash)
	}
	checkState(ctx, t, client3, accts, want, sentBy, genesis)
	if err := p3.Stop(30 * time.Second); err != nil {
		t.Error(err)
	}
}

func countPhase(txs []committed, phase string) int {
	n := 0
	for _, c := range txs {
		if c.Phase == phase {
			n++
		}
	}
	return n
}

// catchUp logs the committed blocks from..to not seen yet.
func catchUp(ctx context.Context, t *testing.T, c *loadgen.Client, log *txLog, from, to int64) {
	t.Helper()
	for h := from; h <= to; h++ {
		log.mu.Lock()
		_, seen := log.blocks[h]
		log.mu.Unlock()
		if seen {
			continue
		}
		b, err := c.CommittedBlock(ctx, h)
		if err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
		log.add(b)
	}
}

// expectedState applies the committed transfers to the genesis balances
// and counts each sender's transfers (its expected next nonce).
func expectedState(genesis map[chain.Address]chain.Amount, txs []committed) (map[chain.Address]chain.Amount, map[chain.Address]uint64, error) {
	bal := map[chain.Address]chain.Amount{}
	for a, v := range genesis {
		bal[a] = v
	}
	sent := map[chain.Address]uint64{}
	sort.Slice(txs, func(i, j int) bool {
		if txs[i].Height != txs[j].Height {
			return txs[i].Height < txs[j].Height
		}
		return txs[i].Index < txs[j].Index
	})
	for _, c := range txs {
		amt, err := chain.ParseBaseUnits(c.Amount)
		if err != nil {
			return nil, nil, err
		}
		if bal[c.From], err = bal[c.From].Sub(amt); err != nil {
			return nil, nil, fmt.Errorf("tx %X overdraws %s", c.Hash, c.From)
		}
		if bal[c.To], err = bal[c.To].Add(amt); err != nil {
			return nil, nil, err
		}
		if c.Nonce != sent[c.From] {
			return nil, nil, fmt.Errorf("tx %X from %s has nonce %d, expected %d", c.Hash, c.From, c.Nonce, sent[c.From])
		}
		sent[c.From]++
	}
	return bal, sent, nil
}

// checkState compares the node's balances and nonces with want, and checks
// that the balances of all known accounts add up to the supply, which
// equals the genesis supply.
func checkState(ctx context.Context, t *testing.T, c *loadgen.Client, accts []loadgen.Account, want map[chain.Address]chain.Amount, sentBy map[chain.Address]uint64, genesis map[chain.Address]chain.Amount) {
	t.Helper()
	var sum, genesisSum chain.Amount
	var err error
	for a, v := range want {
		got := balance(ctx, t, c, a)
		if got.Cmp(v) != 0 {
			t.Errorf("balance of %s: node has %s, genesis + committed transfers give %s", a, got, v)
		}
		if sum, err = sum.Add(got); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range genesis {
		if genesisSum, err = genesisSum.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	var supply struct {
		BaseUnits string `json:"base_units"`
	}
	if err := c.QueryJSON(ctx, "/bank/supply/"+chain.DefaultAsset, &supply); err != nil {
		t.Fatal(err)
	}
	sup, err := chain.ParseBaseUnits(supply.BaseUnits)
	if err != nil {
		t.Fatal(err)
	}
	if sup.Cmp(sum) != 0 || sup.Cmp(genesisSum) != 0 {
		t.Errorf("supply invariant: /bank/supply/USD is %s, balances of all known accounts add up to %s, genesis issued %s", sup, sum, genesisSum)
	}
	nonces, err := loadgen.Nonces(ctx, c, accts)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range accts {
		if nonces[i] != sentBy[a.Addr] {
			t.Errorf("nonce of %s: node says %d, %d transfers from it committed", a.Addr, nonces[i], sentBy[a.Addr])
		}
	}
}

func balance(ctx context.Context, t *testing.T, c *loadgen.Client, a chain.Address) chain.Amount {
	t.Helper()
	var v struct {
		Balances []struct {
			Asset     string `json:"asset"`
			BaseUnits string `json:"base_units"`
		} `json:"balances"`
	}
	if err := c.QueryJSON(ctx, "/bank/balance/"+a.String()+"/"+chain.DefaultAsset, &v); err != nil {
		t.Fatal(err)
	}
	for _, b := range v.Balances {
		if b.Asset == chain.DefaultAsset {
			amt, err := chain.ParseBaseUnits(b.BaseUnits)
			if err != nil {
				t.Fatal(err)
			}
			return amt
		}
	}
	return chain.Amount{}
}

// cometState reads the last block height and app hash CometBFT recorded
// in a stopped node's state store.
func cometState(t *testing.T, homeDir string) (int64, []byte) {
	t.Helper()
	c, err := nodeproc.LoadConfig(homeDir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := cfg.DefaultDBProvider(&cfg.DBContext{ID: "state", Config: c})
	if err != nil {
		t.Fatal(err)
	}
	defer func(db dbm.DB) { db.Close() }(db)
	s, err := sm.NewStore(db, sm.StoreOptions{}).Load()
	if err != nil {
		t.Fatal(err)
	}
	return s.LastBlockHeight, s.AppHash
}

// keepLogs copies the committed-transfer log and the node logs out of the
// test's temporary folder, which is removed, for a failure's post-mortem.
func keepLogs(t *testing.T, dir string) {
	keep, err := os.MkdirTemp("", "amp-crash-logs-")
	if err != nil {
		return
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, p := range logs {
		if b, err := os.ReadFile(p); err == nil {
			os.WriteFile(filepath.Join(keep, filepath.Base(p)), b, 0o644)
		}
	}
	t.Logf("logs kept in %s", keep)
}

// copyDir copies the tree src to dst, leaving out the folder skip.
func copyDir(src, dst, skip string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, fi.Mode().Perm()|0o700)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode().Perm())
	})
}
