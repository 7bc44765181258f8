package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	cfg "github.com/cometbft/cometbft/config"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/node/home"
	"github.com/amp-ledger/amp/node/keyring"
	"github.com/amp-ledger/amp/testnet/loadgen"
	"github.com/amp-ledger/amp/testnet/network"
	"github.com/amp-ledger/amp/testnet/nodeproc"
)

// ChainID of the benchmark chains.
const ChainID = "amp-bench"

// Settings are the node settings both systems get. They are applied over
// the configuration `ampd init` writes (the ledger's node defaults), and the
// resulting config.toml is written to both homes, so the AMP node and the
// kvstore node run with the same consensus, mempool, RPC and p2p settings.
type Settings struct {
	// TimeoutCommit is consensus.timeout_commit: the pause after each
	// commit, which sets the block rate.
	TimeoutCommit time.Duration
	// LogLevel is the nodes' log_level.
	LogLevel string
	// TxIndex is tx_index.indexer ("kv" or "null"); empty keeps the
	// default.
	TxIndex string
}

// DefaultSettings: the node defaults with 500 ms blocks.
func DefaultSettings() Settings {
	return Settings{TimeoutCommit: 500 * time.Millisecond, LogLevel: "info"}
}

// Apply sets s on c.
func (s Settings) Apply(c *cfg.Config) {
	if s.TimeoutCommit > 0 {
		c.Consensus.TimeoutCommit = s.TimeoutCommit
	}
	if s.LogLevel != "" {
		c.LogLevel = s.LogLevel
	}
	if s.TxIndex != "" {
		c.TxIndex.Indexer = s.TxIndex
	}
}

// Options configure a benchmark run.
type Options struct {
	Settings Settings
	Load     loadgen.Config
	// Accounts is the number of sending accounts (and kvstore lanes).
	Accounts int
	// MaxRate bounds how many transfers are signed up front: enough for
	// MaxRate tx/s over the warm-up and window.
	MaxRate int
	// Dir holds the homes and logs; empty means a new temporary folder,
	// removed at the end unless Keep.
	Dir  string
	Keep bool
	// BinDir holds ampd and cometbft; they are built there.
	BinDir string
	// ProfileDir, if set, receives a CPU profile of each node taken over
	// the middle of the window (CometBFT's pprof server).
	ProfileDir string
	// Systems to run, in this order: "amp" (bank transfers), "pay" (agent
	// payments, ed25519 agent keys), "pay-p256" (the same with P-256 agent
	// keys), "pay-rule" (the payments of "pay" with a WebAssembly rule,
	// RuleFile, bound to every merchant's payment hook before the run),
	// "kvstore" (default amp, pay, pay-rule, kvstore). The pay systems
	// run on one validator only.
	Systems []string
	// RuleFile is the rule of "pay-rule"; empty means
	// loadgen.ExampleRulePath (max-amount.wasm, which accepts the load's
	// tiny payments under its default 5 USD limit).
	RuleFile string
	// PayLanes is the number of agents (each with its own person, binding
	// and mandate) of the pay systems; 0 means Accounts.
	PayLanes int
	// PayMerchants is how many merchants the load mandates allow; an
	// agent's payments go to them in turn.
	PayMerchants int
	// Revokes, if positive, follows the pay run on the same node with a
	// revoke-under-load phase: RevokeWindow of payments from every lane,
	// during which, RevokeAfter into it, the persons of Revokes lanes
	// revoke their mandates (see loadgen.RunRevoke).
	Revokes                   int
	RevokeWindow, RevokeAfter time.Duration
	// Runs repeats the pair on fresh homes, alternating the systems; the
	// report shows each system's median run.
	Runs int
	// IdleWait, if positive, waits up to this long before each run for
	// the machine to be idle (other processes using under 0.25 cores), so
	// that the two systems are measured under the same conditions.
	IdleWait time.Duration
	// Validators lists the network sizes to measure (default 1 and 4).
	// One validator runs a single node with Load's windows; n > 1 runs n
	// nodes on 127.0.0.1 with load spread across their RPC endpoints and
	// the MultiWarmup and MultiDuration windows.
	Validators []int
	// MultiWarmup and MultiDuration are the warm-up and window of the
	// runs with more than one validator.
	MultiWarmup, MultiDuration time.Duration
	Log                        io.Writer
}

// DefaultOptions runs 2000 accounts for a 5 s warm-up and a 20 s window.
func DefaultOptions() Options {
	return Options{
		Settings: DefaultSettings(),
		Load:     loadgen.DefaultConfig(),
		Accounts: 2000,
		MaxRate:  16000,
		BinDir:   "bin",
		Systems:  []string{"amp", "pay", "pay-rule", "kvstore"},
		Runs:     1,
		IdleWait: 2 * time.Minute,
		Log:      os.Stderr,

		PayMerchants: 4,
		Revokes:      5,
		RevokeWindow: 10 * time.Second,
		RevokeAfter:  3 * time.Second,

		Validators:    []int{1, 4},
		MultiWarmup:   5 * time.Second,
		MultiDuration: 15 * time.Second,
	}
}

// Report is what a benchmark measured.
type Report struct {
	Settings Settings
	Config   *cfg.Config
	// Results holds each system's median run (by throughput), Runs all,
	// keyed by Key(system, validators).
	Results  map[string]*loadgen.Result
	Runs     map[string][]*loadgen.Result
	Profiles map[string]string
	Machine  string
	// Validators are the network sizes measured.
	Validators []int
	// Revokes are the revoke-under-load phases, one per run of "pay".
	Revokes []*loadgen.RevokeResult
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// Run builds the binaries and, for each network size in o.Validators,
// creates both systems' homes with the same config and runs the load
// against each system in turn (one network at a time).
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Accounts < 2 {
		return nil, fmt.Errorf("need at least 2 accounts")
	}
	if o.Runs < 1 {
		o.Runs = 1
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "ampbench-")
		if err != nil {
			return nil, err
		}
		dir = d
		if !o.Keep {
			defer os.RemoveAll(dir)
		}
	}
	if err := os.MkdirAll(o.BinDir, 0o755); err != nil {
		return nil, err
	}
	systems := o.Systems
	if len(systems) == 0 {
		systems = []string{"amp", "pay", "kvstore"}
	}
	o.Systems = systems
	if o.PayLanes <= 0 {
		o.PayLanes = o.Accounts
	}
	if o.PayMerchants <= 0 {
		o.PayMerchants = 1
	}
	b := &bencher{o: &o, accts: loadgen.DeriveAccounts("bench", o.Accounts), pay: map[string]*paySystem{}}
	seen := map[string]bool{}
	for _, s := range systems {
		if seen[s] {
			return nil, fmt.Errorf("system %q listed twice", s)
		}
		seen[s] = true
		switch s {
		case "amp":
			b.withAMP = true
		case "pay", "pay-p256", "pay-rule":
			kt := chain.KeyEd25519
			if s == "pay-p256" {
				kt = chain.KeyP256
			}
			lanes, err := loadgen.DerivePayLanes("bench-"+s, o.PayLanes, o.PayMerchants, kt)
			if err != nil {
				return nil, err
			}
			b.pay[s] = &paySystem{lanes: lanes}
			if s == "pay-rule" {
				if b.rule, err = loadgen.ReadExampleRule(o.RuleFile); err != nil {
					return nil, fmt.Errorf("pay-rule: the rule: %w", err)
				}
			}
		case "kvstore":
		default:
			return nil, fmt.Errorf("unknown system %q (amp, pay, pay-p256, pay-rule or kvstore)", s)
		}
	}
	if o.Revokes > o.PayLanes {
		return nil, fmt.Errorf("revokes: %d mandates, but there are %d pay lanes", o.Revokes, o.PayLanes)
	}
	var err error
	if b.withAMP || len(b.pay) > 0 {
		o.logf("building ampd into %s", o.BinDir)
		if b.ampd, err = nodeproc.Build(o.BinDir, "ampd", nodeproc.AmpdPkg); err != nil {
			return nil, err
		}
	}
	o.logf("building cometbft into %s", o.BinDir)
	if b.cometbft, err = nodeproc.Build(o.BinDir, "cometbft", nodeproc.CometBFTPkg); err != nil {
		return nil, err
	}
	if b.ports, err = nodeproc.NewPorts(o.ProfileDir != ""); err != nil {
		return nil, err
	}
	sizes := o.Validators
	if len(sizes) == 0 {
		sizes = []int{1}
	}
	for _, n := range sizes {
		if n < 1 || n > network.MaxValidators {
			return nil, fmt.Errorf("validators: %d is not from 1 to %d", n, network.MaxValidators)
		}
	}
	rep := &Report{Settings: o.Settings, Results: map[string]*loadgen.Result{}, Runs: map[string][]*loadgen.Result{}, Profiles: map[string]string{}, Machine: Machine(), Validators: sizes}
	for run := range o.Runs {
		runDir := filepath.Join(dir, fmt.Sprintf("run%d", run+1))
		for _, n := range sizes {
			if n == 1 {
				if err := b.single(ctx, rep, runDir, run, systems); err != nil {
					return nil, err
				}
				continue
			}
			nDir := filepath.Join(runDir, fmt.Sprintf("%dv", n))
			mn, c, err := b.multiHomes(nDir, n)
			if err != nil {
				return nil, fmt.Errorf("%d validators: %w", n, err)
			}
			if rep.Config == nil {
				rep.Config = c
			}
			for _, sys := range systems {
				if isPay(sys) {
					o.logf("run %d of %d: %s is measured on one validator only; skipped with %d", run+1, o.Runs, sys, n)
					continue
				}
				o.logf("run %d of %d: %s, %d validators", run+1, o.Runs, sys, n)
				res, err := b.runMulti(ctx, sys, nDir, mn)
				if err != nil {
					return nil, err
				}
				k := Key(sys, n)
				rep.Runs[k] = append(rep.Runs[k], res)
				o.logf("%s", res.Summary())
			}
		}
	}
	for sys, rs := range rep.Runs {
		rep.Results[sys] = median(rs)
	}
	return rep, nil
}

// single runs each system on one validator, on fresh homes under runDir.
func (b *bencher) single(ctx context.Context, rep *Report, runDir string, run int, systems []string) error {
	o := b.o
	c, err := b.homes(runDir)
	if err != nil {
		return err
	}
	if rep.Config == nil {
		rep.Config = c
	}
	for _, sys := range systems {
		o.logf("run %d of %d: %s, 1 validator", run+1, o.Runs, sys)
		res, prof, rr, err := b.runSystem(ctx, sys, runDir, run == 0)
		if err != nil {
			return err
		}
		if rr != nil {
			rep.Revokes = append(rep.Revokes, rr)
		}
		rep.Runs[sys] = append(rep.Runs[sys], res)
		if prof != "" {
			rep.Profiles[sys] = prof
		}
		o.logf("%s", res.Summary())
	}
	return nil
}

// median returns the result with the median throughput (the lower middle
// one for an even count).
func median(rs []*loadgen.Result) *loadgen.Result {
	s := append([]*loadgen.Result(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return s[i].TPS < s[j].TPS })
	return s[(len(s)-1)/2]
}

type bencher struct {
	o        *Options
	accts    []loadgen.Account
	withAMP  bool // the "amp" system (transfers) runs
	ampd     string
	cometbft string
	ports    nodeproc.Ports
	transfer *loadgen.TransferSource
	txSize   int
	// pay holds the pay systems that run, by name.
	pay map[string]*paySystem
	// rule is the code pay-rule binds to its merchants' payment hook.
	rule []byte
}

// paySystem is the load of one pay system: its lanes (their mandate ids
// set by the genesis of its home) and the payments signed for them.
type paySystem struct {
	lanes *loadgen.PayLanes
	src   *loadgen.PaySource
}

// isPay reports whether sys is an agent-payments system.
func isPay(sys string) bool { return strings.HasPrefix(sys, "pay") }

// ampSystems returns, in order, the systems of b that run ampd.
func (b *bencher) ampSystems() []string {
	var out []string
	for _, s := range b.o.Systems {
		if s == "amp" && b.withAMP || b.pay[s] != nil {
			out = append(out, s)
		}
	}
	return out
}

// homes creates the homes of one run under dir — one per AMP system
// (amp: `ampd init` plus the load accounts' balances; pay, pay-p256:
// `ampd init` plus the pay lanes' persons, agents, bindings, mandates and
// merchants) and the kvstore home — with one config for all: the first AMP
// home's (as `ampd init` wrote it, or the same defaults from node/home
// when only kvstore runs), with the bench settings.
func (b *bencher) homes(dir string) (*cfg.Config, error) {
	kvHome := filepath.Join(dir, "kvstore")
	amps := b.ampSystems()
	for _, sys := range amps {
		h := filepath.Join(dir, sys)
		if err := nodeproc.InitAmpd(b.ampd, h, ChainID, "bench"); err != nil {
			return nil, err
		}
		gen := home.GenesisFile(h)
		if ps := b.pay[sys]; ps != nil {
			if err := loadgen.PayGenesis(gen, ps.lanes, loadgen.PayGenesisOptions{}); err != nil {
				return nil, fmt.Errorf("%s genesis: %w", sys, err)
			}
		} else if err := loadgen.FundGenesis(gen, b.accts, "1000000USD"); err != nil {
			return nil, err
		}
	}
	if err := nodeproc.InitCometBFT(b.cometbft, kvHome); err != nil {
		return nil, err
	}
	var c *cfg.Config
	var err error
	if len(amps) > 0 {
		first := filepath.Join(dir, amps[0])
		if err := copyConsensusParams(home.GenesisFile(first), home.GenesisFile(kvHome)); err != nil {
			return nil, err
		}
		c, err = nodeproc.LoadConfig(first)
	} else {
		c, err = home.DefaultConfig(filepath.Join(dir, "amp"), home.NodeConfig{Moniker: "bench"})
	}
	if err != nil {
		return nil, err
	}
	b.o.Settings.Apply(c)
	b.ports.Apply(c)
	if err := c.ValidateBasic(); err != nil {
		return nil, err
	}
	for _, sys := range amps {
		if err := nodeproc.WriteConfig(filepath.Join(dir, sys), c); err != nil {
			return nil, err
		}
	}
	moniker := c.Moniker
	c.Moniker = "kvstore"
	if err := nodeproc.WriteConfig(kvHome, c); err != nil {
		return nil, err
	}
	c.Moniker = moniker
	if len(amps) > 0 {
		c.SetRoot(filepath.Join(dir, amps[0]))
	}
	return c, nil
}

// runSystem starts one system's node from the homes in dir, runs the load
// against it (for "pay", then the revoke phase) and stops it.
func (b *bencher) runSystem(ctx context.Context, sys, dir string, profile bool) (*loadgen.Result, string, *loadgen.RevokeResult, error) {
	o := b.o
	var (
		src  loadgen.Source
		proc *nodeproc.Process
		err  error
	)
	if o.IdleWait > 0 {
		if busy, ok := waitIdle(ctx, o.IdleWait); !ok {
			o.logf("warning: the machine stayed busy (%.2f cores used by other processes); measuring anyway", busy)
		}
	}
	if src, err = b.source(sys); err != nil {
		return nil, "", nil, err
	}
	switch {
	case sys == "amp":
		proc, err = nodeproc.Start("ampd", filepath.Join(dir, "ampd.log"), b.ampd, "start", "--home", filepath.Join(dir, "amp"))
	case isPay(sys):
		proc, err = nodeproc.Start("ampd-"+sys, filepath.Join(dir, "ampd-"+sys+".log"), b.ampd, "start", "--home", filepath.Join(dir, sys))
	case sys == "kvstore":
		proc, err = nodeproc.Start("cometbft", filepath.Join(dir, "cometbft.log"), b.cometbft, "start", "--home", filepath.Join(dir, "kvstore"), "--proxy_app=kvstore")
	}
	if err != nil {
		return nil, "", nil, err
	}
	ports := b.ports
	if !profile {
		ports.Pprof = 0
	}
	var setup func(context.Context, *loadgen.Client) error
	if sys == "pay-rule" {
		setup = func(ctx context.Context, c *loadgen.Client) error {
			return b.setupRules(ctx, c, filepath.Join(dir, sys))
		}
	}
	res, prof, err := runOne(ctx, o, sys, ports, src, proc, setup)
	if err == nil && sys == "pay-rule" {
		err = b.checkRulesRan(ctx)
	}
	var rr *loadgen.RevokeResult
	if err == nil && sys == "pay" && o.Revokes > 0 {
		rr, err = b.revokePhase(ctx, sys)
	}
	stopErr := proc.Stop(20 * time.Second)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%s: %w\n%s", sys, err, proc.Tail(40))
	}
	if stopErr != nil {
		o.logf("warning: %v", stopErr)
	}
	return res, prof, rr, nil
}

// setupRules deploys b.rule for every merchant of pay-rule on its running
// node and binds it to their payment hook, signed by the member that
// registered the merchants (their acquirer; its key is in the home's
// keyring), and waits for those txs to commit.
func (b *bencher) setupRules(ctx context.Context, c *loadgen.Client, homeDir string) error {
	o := b.o
	issuer, err := loadgen.PayIssuer(home.GenesisFile(homeDir))
	if err != nil {
		return err
	}
	kr, err := keyring.OpenHome(homeDir)
	if err != nil {
		return err
	}
	key, err := kr.ByAddress(issuer)
	if err != nil {
		return fmt.Errorf("the merchants' acquirer %s: %w", issuer, err)
	}
	ms := b.pay["pay-rule"].lanes.Merchants
	name := filepath.Base(o.RuleFile)
	if o.RuleFile == "" {
		name = filepath.Base(loadgen.ExampleRulePath)
	}
	o.logf("pay-rule: deploying %s (%d bytes) for %d merchants and binding it to their payment hook, signed by their acquirer %s", name, len(b.rule), len(ms), issuer)
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	st, err := loadgen.SetupRules(sctx, c, ChainID, key.PrivKey(), ms, b.rule)
	if err != nil {
		return fmt.Errorf("rule setup: %w", err)
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = st.RuleIDs[m]
	}
	o.logf("pay-rule: %s bound (%d txs, committed by height %d, %s)", strings.Join(ids, ", "), st.Txs, st.Height, st.Took.Round(time.Millisecond))
	return nil
}

// checkRulesRan checks, after the pay-rule run, that the payments of a
// recent block ran their merchant's rule and were accepted by it.
func (b *bencher) checkRulesRan(ctx context.Context) error {
	c, err := loadgen.NewClient(b.ports.RPCURL())
	if err != nil {
		return err
	}
	defer c.Close()
	h, n, acc, err := loadgen.CheckRulesRan(ctx, c, 200)
	if err != nil {
		return fmt.Errorf("pay-rule: %w", err)
	}
	b.o.logf("pay-rule: block %d: %d of its %d committed payments ran their merchant's rule, which accepted them", h, acc, n)
	return nil
}

// revokePhase runs on the pay node after its measured run: once the
// mempool is empty it signs a new set of payments from the agents' next
// nonces and runs loadgen.RunRevoke with Revokes mandates spread over the
// lanes.
func (b *bencher) revokePhase(ctx context.Context, sys string) (*loadgen.RevokeResult, error) {
	o := b.o
	ps := b.pay[sys]
	client, err := loadgen.NewClient(b.ports.RPCURL())
	if err != nil {
		return nil, err
	}
	defer client.Close()
	if err := waitMempoolEmpty(ctx, client, 30*time.Second); err != nil {
		return nil, err
	}
	agents := ps.lanes.AgentKeys()
	nonces, err := loadgen.Nonces(ctx, client, agents)
	if err != nil {
		return nil, err
	}
	n := len(agents)
	per := (o.MaxRate*int((o.RevokeWindow+2*time.Second)/time.Second) + n - 1) / n
	o.logf("revoke phase: signing %d payments from %d agents", per*n, n)
	src, err := loadgen.NewPaySource(loadgen.PayOptions{ChainID: ChainID, Lanes: ps.lanes, StartNonces: nonces, PerLane: per})
	if err != nil {
		return nil, err
	}
	var lanes []int
	for k := range o.Revokes {
		lanes = append(lanes, k*n/o.Revokes)
	}
	cfg := o.Load
	cfg.Warmup, cfg.Duration = 0, o.RevokeWindow
	o.logf("revoke phase: payments from %d agents for %s; after %s the persons of %d of them revoke their mandates", n, o.RevokeWindow, o.RevokeAfter, len(lanes))
	rr, err := loadgen.RunRevoke(ctx, client, src, ps.lanes, cfg, loadgen.RevokeOptions{ChainID: ChainID, Lanes: lanes, After: o.RevokeAfter})
	if err != nil {
		return nil, fmt.Errorf("revoke phase: %w", err)
	}
	o.logf("%s", rr.Summary())
	o.logf("  load during the revoke phase: %s", rr.Load.Summary())
	return rr, nil
}

// waitMempoolEmpty waits up to max for the node's mempool to empty.
func waitMempoolEmpty(ctx context.Context, c *loadgen.Client, max time.Duration) error {
	deadline := time.Now().Add(max)
	for {
		var r struct {
			Total loadgen.Int64 `json:"total"`
		}
		err := c.Call(ctx, "num_unconfirmed_txs", nil, &r)
		if err == nil && r.Total == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mempool not empty after %s (%d txs, %v)", max, r.Total, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// source returns the load of sys from its start: the AMP transfers (signed
// up front on first use, enough for the longest window) or kvstore txs of
// the same size.
func (b *bencher) source(sys string) (loadgen.Source, error) {
	o := b.o
	var err error
	switch sys {
	case "amp":
		if b.transfer == nil {
			secs := max(o.Load.Warmup+o.Load.Duration, o.MultiWarmup+o.MultiDuration)
			total := o.MaxRate * int(secs/time.Second+1)
			per := (total + o.Accounts - 1) / o.Accounts
			o.logf("signing %d transfers from %d accounts", per*o.Accounts, o.Accounts)
			if b.transfer, err = loadgen.NewTransferSource(loadgen.TransferOptions{ChainID: ChainID, Accounts: b.accts, PerAccount: per}); err != nil {
				return nil, err
			}
			b.txSize = b.transfer.TxSize()
		}
		b.transfer.Reset()
		return b.transfer, nil
	case "pay", "pay-p256", "pay-rule":
		ps := b.pay[sys]
		if ps.src == nil {
			secs := o.Load.Warmup + o.Load.Duration
			n := len(ps.lanes.Lanes)
			per := (o.MaxRate*int(secs/time.Second+1) + n - 1) / n
			o.logf("signing %d payments from %d agents (%s)", per*n, n, sys)
			if ps.src, err = loadgen.NewPaySource(loadgen.PayOptions{ChainID: ChainID, Lanes: ps.lanes, PerLane: per}); err != nil {
				return nil, err
			}
		}
		ps.src.Reset()
		return ps.src, nil
	case "kvstore":
		if b.txSize == 0 {
			if b.txSize, err = loadgen.SampleTransferSize(ChainID); err != nil {
				return nil, err
			}
		}
		return loadgen.NewKVSource(o.Accounts, b.txSize, 0)
	}
	return nil, fmt.Errorf("unknown system %q", sys)
}

// runOne runs src against the node at ports; setup, if not nil, runs once
// the node is ready, before the warm-up.
func runOne(ctx context.Context, o *Options, sys string, ports nodeproc.Ports, src loadgen.Source, proc *nodeproc.Process, setup func(context.Context, *loadgen.Client) error) (*loadgen.Result, string, error) {
	client, err := loadgen.NewClient(ports.RPCURL())
	if err != nil {
		return nil, "", err
	}
	defer client.Close()
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := client.WaitReady(wctx, 2); err != nil {
		return nil, "", err
	}
	if setup != nil {
		if err := setup(ctx, client); err != nil {
			return nil, "", err
		}
	}
	o.logf("running %s load: %s warm-up, %s window", src.Name(), o.Load.Warmup, o.Load.Duration)
	var profPath string
	profDone := make(chan error, 1)
	if o.ProfileDir != "" && ports.Pprof != 0 {
		profPath = filepath.Join(o.ProfileDir, sys+".cpu.pprof")
		secs := int(o.Load.Duration/time.Second) / 2
		secs = max(secs, 1)
		go func() {
			select {
			case <-time.After(o.Load.Warmup + o.Load.Duration/4):
			case <-ctx.Done():
				profDone <- ctx.Err()
				return
			}
			profDone <- fetchProfile(ctx, ports.Pprof, secs, profPath)
		}()
	} else {
		profDone <- nil
	}
	// CPU used over the window by the node, by this process and by
	// everything else on the machine.
	cpuDone := make(chan cpuUse, 1)
	go func() { cpuDone <- measureCPU(ctx, []*nodeproc.Process{proc}, o.Load.Warmup, o.Load.Duration) }()
	res, err := loadgen.Run(ctx, client, src, o.Load)
	if err == nil {
		u := <-cpuDone
		res.NodeCPU, res.ClientCPU, res.OtherCPU = u.node, u.self, u.other
		o.logf("  cpu over the window (cores): node %.2f, load generator %.2f, other processes %.2f", u.node, u.self, u.other)
		if u.other > busyCores {
			o.logf("  warning: other processes used %.2f cores during the window; figures are lower than on an idle machine", u.other)
		}
	}
	if perr := <-profDone; perr != nil {
		o.logf("warning: profile of %s: %v", sys, perr)
		profPath = ""
	}
	return res, profPath, err
}

// waitIdle waits until the machine's CPU use over 2 s is under 0.25
// cores, or max has passed; it returns the last use seen and whether the
// machine was idle.
func waitIdle(ctx context.Context, max time.Duration) (float64, bool) {
	deadline := time.Now().Add(max)
	for {
		b0, _, err := nodeproc.MachineCPU()
		t0 := time.Now()
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
			return 0, false
		}
		b1, _, err2 := nodeproc.MachineCPU()
		if err != nil || err2 != nil {
			return 0, true
		}
		busy := (b1 - b0).Seconds() / time.Since(t0).Seconds()
		if busy < 0.25 {
			return busy, true
		}
		if time.Now().After(deadline) {
			return busy, false
		}
	}
}

// busyCores is how much CPU other processes may use during a window
// before its figures are flagged as not comparable.
const busyCores = 0.15

type cpuUse struct{ node, self, other float64 }

// measureCPU samples CPU times at the start and end of the window and
// returns the cores used by the nodes (together), this process and
// everything else.
func measureCPU(ctx context.Context, procs []*nodeproc.Process, warmup, window time.Duration) cpuUse {
	var u cpuUse
	select {
	case <-time.After(warmup):
	case <-ctx.Done():
		return u
	}
	n0, err1 := procsCPU(procs)
	s0, err2 := nodeproc.ProcCPUTime(os.Getpid())
	b0, _, err3 := nodeproc.MachineCPU()
	t0 := time.Now()
	select {
	case <-time.After(window):
	case <-ctx.Done():
		return u
	}
	n1, err4 := procsCPU(procs)
	s1, err5 := nodeproc.ProcCPUTime(os.Getpid())
	b1, _, err6 := nodeproc.MachineCPU()
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return u
	}
	wall := time.Since(t0).Seconds()
	u.node = (n1 - n0).Seconds() / wall
	u.self = (s1 - s0).Seconds() / wall
	u.other = max(0, (b1-b0).Seconds()/wall-u.node-u.self)
	return u
}

// procsCPU sums the CPU time used so far by procs.
func procsCPU(procs []*nodeproc.Process) (time.Duration, error) {
	var sum time.Duration
	for _, p := range procs {
		t, err := p.CPUTime()
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

func fetchProfile(ctx context.Context, port, secs int, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", port, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof: http %d", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// copyConsensusParams makes the genesis at dst use the consensus params of
// the genesis at src (block size, evidence, validator key types).
func copyConsensusParams(src, dst string) error {
	var s, d map[string]json.RawMessage
	for _, x := range []struct {
		path string
		m    *map[string]json.RawMessage
	}{{src, &s}, {dst, &d}} {
		b, err := os.ReadFile(x.path)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, x.m); err != nil {
			return fmt.Errorf("genesis %s: %w", x.path, err)
		}
	}
	if p, ok := s["consensus_params"]; ok {
		d["consensus_params"] = p
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// Machine describes this machine: CPU model, cores, Go version.
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				if i := strings.IndexByte(line, ':'); i >= 0 {
					model = strings.TrimSpace(line[i+1:])
				}
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%s, %d cores%s, %s %s/%s", model, runtime.NumCPU(), mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Table renders the report's figures and the AMP/kvstore ratio.
func (r *Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "machine: %s\n", r.Machine)
	c := r.Config
	fmt.Fprintf(&b, "node config (all nodes): timeout_commit %s, mempool size %d (%d MiB), recheck %v, rpc batch %d, tx_index %s, log %s\n",
		c.Consensus.TimeoutCommit, c.Mempool.Size, c.Mempool.MaxTxsBytes>>20, c.Mempool.Recheck, c.RPC.MaxRequestBatchSize, c.TxIndex.Indexer, c.LogLevel)
	sizes := r.Validators
	if len(sizes) == 0 {
		sizes = []int{1}
	}
	busy := false
	type row struct{ key, label string }
	var all []row
	for _, n := range sizes {
		what := "1 validator"
		if n > 1 {
			what = fmt.Sprintf("%d validators", n)
		}
		fmt.Fprintf(&b, "\n%-38s %8s %8s %8s %8s %9s %11s %9s %9s %9s\n", "system ("+what+", 127.0.0.1)", "tx/s", "p50", "p99", "tx bytes", "txs/block", "block every", "node cpu", "load cpu", "other cpu")
		rows := []row{{Key("amp", n), "AMP ledger: signed bank transfers"}}
		if n == 1 {
			rows = append(rows, row{"pay", "AMP ledger: agent payments (MsgPay)"}, row{"pay-rule", "AMP: agent payments through a rule"},
				row{"pay-p256", "AMP: agent payments, P-256 agents"})
		}
		rows = append(rows, row{Key("kvstore", n), "CometBFT kvstore: key=value"})
		all = append(all, rows...)
		for _, row := range rows {
			res := r.Results[row.key]
			if res == nil {
				continue
			}
			label := row.label
			if res.OtherCPU > busyCores {
				label += " *"
				busy = true
			}
			fmt.Fprintf(&b, "%-38s %8.0f %8s %8s %8d %9.0f %11s %9.2f %9.2f %9.2f\n", label, res.TPS,
				res.P50.Round(time.Millisecond), res.P99.Round(time.Millisecond), res.TxSize, res.TxsPerBlock, res.BlockInterval.Round(time.Millisecond), res.NodeCPU, res.ClientCPU, res.OtherCPU)
		}
		ratio := func(label, num, den, note string) {
			if a, k := r.Results[num], r.Results[den]; a != nil && k != nil && k.TPS > 0 {
				fmt.Fprintf(&b, "%-38s %8.2f%s\n", label, a.TPS/k.TPS, note)
			}
		}
		ratio("ratio AMP / kvstore (tx/s)", Key("amp", n), Key("kvstore", n), "")
		if n == 1 {
			ratio("ratio pay / kvstore (tx/s)", "pay", "kvstore", "")
			ratio("ratio pay / transfer (tx/s)", "pay", "amp", "   (agent payments vs bank transfers, same node config; target >= 0.80)")
			ratio("payments through a rule / without", "pay-rule", "pay", "   (pay-rule / pay tx/s: a WebAssembly rule on every payment; target >= 0.80)")
			ratio("ratio pay-p256 / pay (tx/s)", "pay-p256", "pay", "")
		}
	}
	if len(sizes) > 1 {
		fmt.Fprintf(&b, "(node cpu of a network is all its nodes together; with more than one validator the load goes round-robin to every node's RPC, commits are watched on node0)\n")
	}
	if busy {
		fmt.Fprintf(&b, "* other processes used more than %.2f cores during this run: its figures are low and the ratio is not a fair comparison; rerun on an idle machine (-runs 3)\n", busyCores)
	}
	for _, row := range all {
		if rs := r.Runs[row.key]; len(rs) > 1 {
			tps := make([]string, len(rs))
			for i, x := range rs {
				tps[i] = fmt.Sprintf("%.0f", x.TPS)
			}
			fmt.Fprintf(&b, "%s: %d runs, tx/s %s (the table shows the median run)\n", row.key, len(rs), strings.Join(tps, ", "))
		}
	}
	for i, rr := range r.Revokes {
		if len(r.Revokes) > 1 {
			fmt.Fprintf(&b, "\nrun %d: ", i+1)
		} else {
			b.WriteString("\n")
		}
		b.WriteString(rr.Summary())
	}
	for sys, p := range r.Profiles {
		fmt.Fprintf(&b, "CPU profile of the %s node: %s (go tool pprof -top %s)\n", sys, p, p)
	}
	return b.String()
}
