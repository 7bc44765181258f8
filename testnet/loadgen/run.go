package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"
)

// Config bounds and shapes a load run.
type Config struct {
	// Warmup is sent before the measured window starts.
	Warmup time.Duration
	// Duration is the measured window; submission stops at its end.
	Duration time.Duration
	// Drain is how long to wait after the window for txs still in flight.
	Drain time.Duration
	// Workers is the number of concurrent HTTP connections submitting.
	Workers int
	// Batch is how many broadcast_tx_sync calls go in one JSON-RPC batch
	// (at most the node's rpc.max_request_batch_size).
	Batch int
	// MaxInFlight caps the txs admitted but not yet seen committed.
	MaxInFlight int
	// Rate, if positive, caps submission in txs/s; zero sends as fast as
	// MaxInFlight allows.
	Rate float64
	// Poll is how often the commit watcher asks for the next block.
	Poll time.Duration
	// OnBlock, if set, is called (from one goroutine, in height order) with
	// every block the watcher sees and its results, including blocks after
	// the window.
	OnBlock func(*CommittedBlock)
	// FetchResults fetches every block's /block_results at once instead of
	// confirming results from the next header (slower for the node, but
	// OnBlock then runs as soon as a block is committed).
	FetchResults bool
	// StopSubmit, if set, stops submission early once it is closed; the
	// watcher keeps running until the run ends.
	StopSubmit <-chan struct{}
	// Targets, if set, spreads submission across several nodes of one
	// network: worker w sends to Targets[w % len(Targets)]. A lane belongs
	// to one worker, so each account's txs still reach one node in nonce
	// order. Commit detection stays on the client given to Run.
	Targets []*Client
}

// DefaultConfig is a 5 s warm-up and a 20 s window.
func DefaultConfig() Config {
	return Config{
		Warmup:      5 * time.Second,
		Duration:    20 * time.Second,
		Drain:       15 * time.Second,
		Workers:     8,
		Batch:       100,
		MaxInFlight: 10000,
		Poll:        10 * time.Millisecond,
	}
}

// Result is what a run measured.
type Result struct {
	Source string
	TxSize int
	// Window is the measured interval between the first and last block
	// seen inside the measurement window.
	Window time.Duration
	// Committed counts txs with result code 0 in blocks seen inside the
	// window (excluding the first, whose txs were gathered before it).
	Committed int
	// TPS is Committed / Window.
	TPS float64
	// Latency percentiles, submit (batch sent) to commit (block results
	// seen), of the txs submitted inside the window that committed.
	P50, P90, P99, Max time.Duration
	LatencySamples     int
	// Blocks seen inside the window and their mean interval and size.
	Blocks        int
	BlockInterval time.Duration
	TxsPerBlock   float64
	// Totals over the whole run.
	Submitted   int            // admitted by CheckTx
	OK          int            // committed with code 0
	Rejected    map[string]int // refused at submission, by reason
	Failed      map[string]int // committed with a non-zero code, by code
	Lost        int            // admitted but not seen committed by the end
	Retries     int            // submissions retried because the mempool was full
	Foreign     int            // committed txs not sent by this run
	Unconfirmed int            // committed txs whose results could not be read
	Exhausted   bool           // the source ran out of txs before the end
	DeadLanes   int            // lanes stopped by a rejection
	StartHeight int64
	EndHeight   int64
	// NodeCPU and ClientCPU are the cores used over the window by the node
	// and by the load generator, when the caller measured them (in cores).
	NodeCPU, ClientCPU float64
	// OtherCPU is what the rest of the machine used meanwhile.
	OtherCPU float64
}

type pendingTx struct {
	sent     time.Time
	inWindow bool
}

type blockSeen struct {
	at      time.Time
	ok, all int
}

type runState struct {
	okGas  atomic.Int64 // gas of every tx in the last fetched all-OK block
	runCtx context.Context
	cfg    Config
	c      *Client
	src    Source
	slot   chan struct{}

	mu          sync.Mutex
	pending     map[[32]byte]pendingTx
	latencies   []time.Duration
	rejected    map[string]int
	failed      map[string]int
	blocks      []blockSeen
	submitted   int
	ok          int
	foreign     int
	unconfirmed int
	retries     int
	deadLanes   int
	exhausted   atomic.Bool
	sentCount   atomic.Int64
	windowStart time.Time
	windowEnd   time.Time
}

// Run sends src's txs to the node until the window ends, watching blocks
// for their results, and returns the measurements. It only fails when the
// node cannot be reached at the start.
func Run(ctx context.Context, c *Client, src Source, cfg Config) (*Result, error) {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.Batch < 1 {
		cfg.Batch = 1
	}
	if cfg.MaxInFlight < cfg.Batch {
		cfg.MaxInFlight = cfg.Batch
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 10 * time.Millisecond
	}
	st, err := c.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("node status: %w", err)
	}
	s := &runState{
		cfg:      cfg,
		c:        c,
		src:      src,
		slot:     make(chan struct{}, cfg.MaxInFlight),
		pending:  map[[32]byte]pendingTx{},
		rejected: map[string]int{},
		failed:   map[string]int{},
	}
	start := time.Now()
	s.windowStart = start.Add(cfg.Warmup)
	s.windowEnd = s.windowStart.Add(cfg.Duration)
	startHeight := int64(st.SyncInfo.LatestBlockHeight)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.runCtx = runCtx
	submitCtx, stopSubmit := context.WithDeadline(runCtx, s.windowEnd)
	defer stopSubmit()
	if cfg.StopSubmit != nil {
		go func() {
			select {
			case <-cfg.StopSubmit:
				stopSubmit()
			case <-submitCtx.Done():
			}
		}()
	}

	watchDone := make(chan int64)
	go func() { watchDone <- s.watch(runCtx, startHeight) }()

	var wg sync.WaitGroup
	for w := range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.submit(submitCtx, w, start)
		}()
	}
	wg.Wait()

	// Drain: wait for what is in flight, within Drain.
	deadline := time.Now().Add(cfg.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		s.mu.Lock()
		n := len(s.pending)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	endHeight := <-watchDone
	return s.result(startHeight, endHeight), nil
}

// submit is one worker: it owns lanes w, w+Workers, … and sends their txs
// in batches holding at most one tx per lane.
func (s *runState) submit(ctx context.Context, w int, start time.Time) {
	target := s.c
	if len(s.cfg.Targets) > 0 {
		target = s.cfg.Targets[w%len(s.cfg.Targets)]
	}
	var lanes []int
	for l := w; l < s.src.Lanes(); l += s.cfg.Workers {
		lanes = append(lanes, l)
	}
	cur := make(map[int][]byte, len(lanes)) // lane -> tx not yet admitted
	retryAt := make(map[int]time.Time)
	dead := make(map[int]bool)
	next := 0
	batch := make([][]byte, 0, s.cfg.Batch)
	batchLanes := make([]int, 0, s.cfg.Batch)
	for ctx.Err() == nil {
		if len(dead) == len(lanes) {
			return
		}
		// Take slots for a batch: block for the first, then take what is free.
		n := 0
		select {
		case s.slot <- struct{}{}:
			n = 1
		case <-ctx.Done():
			return
		}
		for n < s.cfg.Batch {
			select {
			case s.slot <- struct{}{}:
				n++
				continue
			default:
			}
			break
		}
		if s.cfg.Rate > 0 {
			// Pace: by time t since start, at most Rate*t txs are sent.
			for {
				allowed := int(s.cfg.Rate*time.Since(start).Seconds()) - int(s.sentCount.Load())
				if allowed >= 1 {
					if allowed < n {
						s.release(n - allowed)
						n = allowed
					}
					break
				}
				select {
				case <-time.After(time.Duration(float64(time.Second) / s.cfg.Rate)):
				case <-ctx.Done():
					s.release(n)
					return
				}
			}
		}
		batch, batchLanes = batch[:0], batchLanes[:0]
		now := time.Now()
		live := 0
		for tried := 0; tried < len(lanes) && len(batch) < n; tried++ {
			l := lanes[next]
			next = (next + 1) % len(lanes)
			if dead[l] {
				continue
			}
			live++
			if t, ok := retryAt[l]; ok && now.Before(t) {
				continue
			}
			tx := cur[l]
			if tx == nil {
				tx = s.src.Next(l)
				if tx == nil {
					dead[l] = true
					s.exhausted.Store(true)
					continue
				}
				cur[l] = tx
			}
			batch = append(batch, tx)
			batchLanes = append(batchLanes, l)
		}
		if len(batch) < n {
			s.release(n - len(batch))
		}
		if len(batch) == 0 {
			if live == 0 {
				return
			}
			select {
			case <-time.After(5 * time.Millisecond):
			case <-ctx.Done():
				return
			}
			continue
		}
		sent := time.Now()
		inWindow := !sent.Before(s.windowStart) && sent.Before(s.windowEnd)
		s.sentCount.Add(int64(len(batch)))
		// Register before sending: the block holding a tx may be seen
		// before the batch's answer arrives.
		hashes := make([][32]byte, len(batch))
		s.mu.Lock()
		for i, tx := range batch {
			hashes[i] = Hash(tx)
			s.pending[hashes[i]] = pendingTx{sent: sent, inWindow: inWindow}
		}
		s.mu.Unlock()
		// The batch runs to its end even if submission stops meanwhile, so
		// that what the node admitted is known.
		res, err := target.BroadcastSync(s.runCtx, batch)
		if err != nil {
			s.mu.Lock()
			for _, h := range hashes {
				if _, ok := s.pending[h]; ok {
					delete(s.pending, h)
					s.releaseLocked()
				}
			}
			s.mu.Unlock()
			if ctx.Err() != nil {
				return
			}
			s.count(&s.rejected, "rpc: "+shortErr(err), 1)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		full := 0
		for i, r := range res {
			l := batchLanes[i]
			if r.Err == nil && r.Code == 0 || r.Err != nil && strings.Contains(r.Err.Error(), "already exists in cache") {
				// Admitted (now, or by an earlier try whose answer was lost).
				s.submitted++
				cur[l] = nil
				delete(retryAt, l)
				continue
			}
			if _, ok := s.pending[hashes[i]]; !ok {
				continue // already seen in a block: it was admitted after all
			}
			delete(s.pending, hashes[i])
			s.releaseLocked()
			switch {
			case r.Err != nil && isRetryable(r.Err):
				s.retries++
				full++
				retryAt[l] = time.Now().Add(20 * time.Millisecond)
			case r.Err != nil:
				s.rejected[shortErr(r.Err)]++
				dead[l] = true
				s.deadLanes++
			default:
				reason := r.Info
				if reason == "" {
					reason = firstWord(r.Log)
				}
				s.rejected[fmt.Sprintf("code %d %s", r.Code, reason)]++
				dead[l] = true
				s.deadLanes++
			}
		}
		s.mu.Unlock()
		if full > 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func (s *runState) release(n int) {
	for range n {
		<-s.slot
	}
}

func (s *runState) releaseLocked() { <-s.slot }

func (s *runState) count(m *map[string]int, k string, n int) {
	s.mu.Lock()
	(*m)[k] += n
	s.mu.Unlock()
}

func isRetryable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "mempool is full") || strings.Contains(msg, "catching up")
}

func shortErr(err error) string {
	var re *RPCError
	if errors.As(err, &re) {
		d := re.Data
		if i := strings.IndexByte(d, ':'); i > 0 && i < 40 {
			d = d[:i]
		}
		if len(d) > 60 {
			d = d[:60]
		}
		return d
	}
	m := err.Error()
	if len(m) > 60 {
		m = m[:60]
	}
	return m
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, ": "); i > 0 {
		return s[:i]
	}
	return s
}

// watch follows the chain from height from+1 until ctx ends and returns
// the last height seen. A height counts as committed when /abci_info shows
// the app has committed it; the block's txs are then matched to pending
// submissions (the commit time is that observation). Result codes are
// confirmed when the next block arrives: its header's last_results_hash is
// compared with the hash of all-successful results, and only a mismatch
// fetches /block_results, whose JSON (every tx's events) costs the node
// more than executing the block. With FetchResults every block's results
// are fetched at once instead.
func (s *runState) watch(ctx context.Context, from int64) int64 {
	h := from
	var prev *seenBlock
	defer func() {
		// The last block has no successor: confirm it from its results.
		if prev != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s.confirm(cctx, prev, nil)
		}
	}()
	for {
		info, err := s.c.ABCIInfo(ctx)
		if err != nil || int64(info.LastBlockHeight) <= h {
			select {
			case <-ctx.Done():
				return h
			case <-time.After(s.cfg.Poll):
			}
			continue
		}
		at := time.Now()
		for h < int64(info.LastBlockHeight) {
			b, err := s.c.Block(ctx, h+1)
			if err != nil {
				if ctx.Err() != nil {
					return h
				}
				time.Sleep(s.cfg.Poll)
				continue
			}
			h++
			sb := s.observe(b, at)
			// Confirming a block already seen finishes even if the run
			// ends meanwhile (the drain ends as soon as every tx has been
			// seen in a block), so that its results are counted.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			if prev != nil {
				s.confirm(cctx, prev, b.LastResultsHash)
			}
			prev = sb
			if s.cfg.FetchResults {
				s.confirm(cctx, prev, nil)
				prev = nil
			}
			cancel()
		}
	}
}

// seenBlock is a block whose txs were matched but whose results are not
// yet confirmed.
type seenBlock struct {
	b    *Block
	at   time.Time
	ours []ourTx
	idx  int // index in runState.blocks
}

type ourTx struct {
	i int // index in the block
	p pendingTx
}

func (s *runState) observe(b *Block, at time.Time) *seenBlock {
	sb := &seenBlock{b: b, at: at}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, tx := range b.Txs {
		hash := Hash(tx)
		p, ok := s.pending[hash]
		if !ok {
			s.foreign++
			continue
		}
		delete(s.pending, hash)
		s.releaseLocked()
		sb.ours = append(sb.ours, ourTx{i: i, p: p})
	}
	sb.idx = len(s.blocks)
	s.blocks = append(s.blocks, blockSeen{at: at, all: len(b.Txs)})
	return sb
}

// confirm settles a block's results: from resultsHash (the next header's
// last_results_hash) when every tx succeeded with the gas the last fetched
// block's txs all used, else from /block_results. Txs that report gas
// (payments through a merchant rule) would otherwise make the watcher fetch
// every block's results, and encoding them took half the node's CPU.
func (s *runState) confirm(ctx context.Context, sb *seenBlock, resultsHash []byte) {
	results := make([]TxResult, len(sb.b.Txs))
	if resultsHash == nil || !bytes.Equal(resultsHash, AllOKResultsHash(len(sb.b.Txs), s.okGas.Load())) {
		var br *BlockResults
		var err error
		for try := 0; try < 50; try++ {
			if br, err = s.c.BlockResults(ctx, sb.b.Height); err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(s.cfg.Poll)
		}
		switch {
		case err != nil:
			s.mu.Lock()
			s.unconfirmed += len(sb.ours)
			s.mu.Unlock()
			return
		case len(br.TxResults) != len(results):
			s.mu.Lock()
			s.failed[fmt.Sprintf("block %d: %d results for %d txs", sb.b.Height, len(br.TxResults), len(results))] += len(sb.ours)
			s.mu.Unlock()
			return
		}
		results = br.TxResults
		if g, ok := uniformOKGas(results); ok {
			s.okGas.Store(g)
		}
	}
	s.mu.Lock()
	for _, o := range sb.ours {
		r := results[o.i]
		if r.Code != 0 {
			reason := r.Info
			if reason == "" {
				reason = firstWord(r.Log)
			}
			s.failed[fmt.Sprintf("code %d %s", r.Code, reason)]++
			continue
		}
		s.ok++
		s.blocks[sb.idx].ok++
		if o.p.inWindow {
			s.latencies = append(s.latencies, sb.at.Sub(o.p.sent))
		}
	}
	s.mu.Unlock()
	if s.cfg.OnBlock != nil {
		s.cfg.OnBlock(&CommittedBlock{Block: *sb.b, Results: results, At: sb.at})
	}
}

// uniformOKGas reports whether every result succeeded with the same gas.
func uniformOKGas(rs []TxResult) (int64, bool) {
	if len(rs) == 0 {
		return 0, false
	}
	g := int64(rs[0].GasUsed)
	for _, r := range rs {
		if r.Code != 0 || int64(r.GasUsed) != g || r.GasWanted != 0 {
			return 0, false
		}
	}
	return g, true
}

type okKey struct {
	n   int
	gas int64
}

var (
	okHashMu sync.Mutex
	okHashes = map[okKey][]byte{}
)

// AllOKResultsHash is the last_results_hash of a block of n txs that all
// succeeded with no data, no gas wanted and gasUsed gas each: CometBFT's
// merkle root over the deterministic part (code, data, gas wanted, gas
// used) of each result.
func AllOKResultsHash(n int, gasUsed int64) []byte {
	k := okKey{n, gasUsed}
	okHashMu.Lock()
	defer okHashMu.Unlock()
	if h, ok := okHashes[k]; ok {
		return h
	}
	rs := make([]*abci.ExecTxResult, n)
	for i := range rs {
		rs[i] = &abci.ExecTxResult{GasUsed: gasUsed}
	}
	h := types.NewResults(rs).Hash()
	okHashes[k] = h
	return h
}

func (s *runState) result(startHeight, endHeight int64) *Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Result{
		Source:      s.src.Name(),
		TxSize:      s.src.TxSize(),
		Submitted:   s.submitted,
		OK:          s.ok,
		Rejected:    s.rejected,
		Failed:      s.failed,
		Lost:        len(s.pending),
		Retries:     s.retries,
		Foreign:     s.foreign,
		Unconfirmed: s.unconfirmed,
		Exhausted:   s.exhausted.Load(),
		DeadLanes:   s.deadLanes,
		StartHeight: startHeight,
		EndHeight:   endHeight,
	}
	// Blocks inside the window: throughput counts the txs of all but the
	// first (which closes the interval before the window) over the time
	// from the first to the last.
	var in []blockSeen
	for _, b := range s.blocks {
		if !b.at.Before(s.windowStart) && !b.at.After(s.windowEnd) {
			in = append(in, b)
		}
	}
	if len(in) >= 2 {
		r.Window = in[len(in)-1].at.Sub(in[0].at)
		all := 0
		for _, b := range in[1:] {
			r.Committed += b.ok
			all += b.all
		}
		r.Blocks = len(in) - 1
		r.TPS = float64(r.Committed) / r.Window.Seconds()
		r.BlockInterval = r.Window / time.Duration(r.Blocks)
		r.TxsPerBlock = float64(all) / float64(r.Blocks)
	}
	if n := len(s.latencies); n > 0 {
		l := append([]time.Duration(nil), s.latencies...)
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		r.P50 = Percentile(l, 50)
		r.P90 = Percentile(l, 90)
		r.P99 = Percentile(l, 99)
		r.Max = l[n-1]
		r.LatencySamples = n
	}
	return r
}

// Percentile returns the p-th percentile (nearest rank) of sorted values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// Summary is a multi-line human description of the result.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %.0f committed tx/s over %.1fs (%d txs, %d blocks, %.0f txs/block, one block every %s)\n",
		r.Source, r.TPS, r.Window.Seconds(), r.Committed, r.Blocks, r.TxsPerBlock, r.BlockInterval.Round(time.Millisecond))
	fmt.Fprintf(&b, "  latency submit->commit: p50 %s  p90 %s  p99 %s  max %s  (%d samples)\n",
		r.P50.Round(time.Millisecond), r.P90.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond), r.LatencySamples)
	fmt.Fprintf(&b, "  run: tx size %d B, heights %d..%d, admitted %d, committed ok %d, lost %d, mempool-full retries %d, foreign %d, unconfirmed %d",
		r.TxSize, r.StartHeight+1, r.EndHeight, r.Submitted, r.OK, r.Lost, r.Retries, r.Foreign, r.Unconfirmed)
	if r.Exhausted {
		b.WriteString("\n  WARNING: the source ran out of txs during the run (sign more up front: raise the max rate)")
	}
	b.WriteString("\n")
	for _, m := range []struct {
		name string
		m    map[string]int
	}{{"rejected at submission", r.Rejected}, {"failed in block", r.Failed}} {
		if len(m.m) == 0 {
			continue
		}
		keys := make([]string, 0, len(m.m))
		for k := range m.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "  %s:", m.name)
		for _, k := range keys {
			fmt.Fprintf(&b, " [%s]=%d", k, m.m[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}
