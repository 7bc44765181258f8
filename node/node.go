package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/libs/cli/flags"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/proxy"

	"github.com/amp-ledger/amp/app"
	"github.com/amp-ledger/amp/node/home"
)

// Options adjust a node's run without changing its config.toml.
type Options struct {
	// Logger receives the node's logs; nil means stderr, at LogLevel.
	Logger cmtlog.Logger
	// LogWriter is where the default logger writes; nil means stderr.
	LogWriter io.Writer
	// LogLevel overrides config.toml's log_level ("info", "debug", "error",
	// "none", or "module:level,*:level").
	LogLevel string
	// RPCListen, P2PListen and BlockTime override the config for this run.
	RPCListen string
	P2PListen string
	BlockTime time.Duration
	// CheckInvariants makes the app check every module invariant after
	// every block: for tests and dev chains.
	CheckInvariants bool
}

// Node is a running node.
type Node struct {
	cfg    *cfg.Config
	comet  *nm.Node
	app    *app.App
	dbs    *dbTracker
	logger cmtlog.Logger

	// stopGuard ends the peer guard (filter_peers) and waits for it.
	stopGuard func()

	stopOnce sync.Once
	stopErr  error
	done     chan struct{}
}

// NewLogger returns CometBFT's logger writing to w in the given format
// (plain or json) filtered by level (see Options.LogLevel).
func NewLogger(w io.Writer, format, level string) (cmtlog.Logger, error) {
	if w == nil {
		w = os.Stderr
	}
	var l cmtlog.Logger
	if format == cfg.LogFormatJSON {
		l = cmtlog.NewTMJSONLogger(cmtlog.NewSyncWriter(w))
	} else {
		l = cmtlog.NewTMLogger(cmtlog.NewSyncWriter(w))
	}
	if level == "" {
		level = home.DefaultLogLevel
	}
	if strings.EqualFold(level, "none") {
		return cmtlog.NewNopLogger(), nil
	}
	fl, err := flags.ParseLogLevel(level, l, home.DefaultLogLevel)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	return quietShutdown{Logger: fl, refused: newRefusedPeers()}, nil
}

// LoadConfig reads a home's config and applies o's overrides.
func LoadConfig(dir string, o Options) (*cfg.Config, error) {
	c, err := home.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	if o.RPCListen != "" {
		if c.RPC.ListenAddress, err = home.ListenAddr(o.RPCListen); err != nil {
			return nil, fmt.Errorf("rpc: %w", err)
		}
	}
	if o.P2PListen != "" {
		if c.P2P.ListenAddress, err = home.ListenAddr(o.P2PListen); err != nil {
			return nil, fmt.Errorf("p2p: %w", err)
		}
	}
	if o.BlockTime > 0 {
		c.Consensus.TimeoutCommit = o.BlockTime
	}
	if o.LogLevel != "" {
		c.LogLevel = o.LogLevel
	}
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// Start starts the node of the home dir and returns once CometBFT runs (its
// RPC listens). Stop it with Stop.
func Start(ctx context.Context, dir string, o Options) (*Node, error) {
	c, err := LoadConfig(dir, o)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(c.GenesisFile()); err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	logger := o.Logger
	if logger == nil {
		if logger, err = NewLogger(o.LogWriter, c.LogFormat, c.LogLevel); err != nil {
			return nil, err
		}
	}
	nodeKey, err := home.LoadNodeKey(c)
	if err != nil {
		return nil, err
	}
	pv, err := home.LoadPrivValidator(c)
	if err != nil {
		return nil, err
	}
	ledger, err := app.New(app.Options{Dir: home.AppDir(c), Logger: logger.With("module", "app"), CheckInvariants: o.CheckInvariants,
		WasmCacheDir: filepath.Join(c.DBDir(), "wasm-cache")})
	if err != nil {
		return nil, fmt.Errorf("open ledger state in %s: %w", home.AppDir(c), err)
	}
	var abciApp abci.Application = ledger
	var conns *connTracker
	if c.FilterPeers {
		conns = newConnTracker()
		abciApp = &peerFilterApp{App: ledger, conns: conns}
	}
	dbs := &dbTracker{logger: logger}
	comet, err := nm.NewNode(ctx, c, pv, nodeKey,
		// Unsynchronised: the app guards its own state, so CheckTx calls
		// from many RPC connections verify signatures in parallel, and
		// alongside FinalizeBlock. CometBFT still excludes CheckTx during
		// Commit (the mempool's update lock).
		proxy.NewUnsyncLocalClientCreator(abciApp),
		nm.DefaultGenesisDocProviderFunc(c),
		dbs.provider,
		nm.DefaultMetricsProvider(c.Instrumentation),
		logger)
	if err != nil {
		_ = dbs.closeAll()
		ledger.Close()
		return nil, fmt.Errorf("create node: %w", err)
	}
	if conns != nil {
		comet.Switch().AddReactor("AMPCONNS", conns) // before the switch starts
	}
	if err := comet.Start(); err != nil {
		_ = dbs.closeAll()
		ledger.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	n := &Node{cfg: c, comet: comet, app: ledger, dbs: dbs, logger: logger, done: make(chan struct{}), stopGuard: func() {}}
	if c.FilterPeers {
		if err := n.startPeerGuard(); err != nil {
			_ = n.Stop()
			return nil, err
		}
	}
	logger.Info("AMP node started", "home", c.RootDir, "chain_id", comet.GenesisDoc().ChainID,
		"rpc", c.RPC.ListenAddress, "p2p", c.P2P.ListenAddress)
	return n, nil
}

// startPeerGuard makes the node disconnect, after each block, the peers
// whose node is no longer a consortium member's (see peerGuard).
func (n *Node) startPeerGuard() error {
	ctx, cancel := context.WithCancel(context.Background())
	g := &peerGuard{
		sw:       n.comet.Switch(),
		allowed:  appFilter(n.app), // the ledger's own answer, without peerFilterApp's limit
		syncing:  n.comet.ConsensusReactor().WaitSync,
		logger:   n.logger.With("module", "peer-guard"),
		rejected: map[p2p.ID]int64{},
	}
	wait, err := runPeerGuard(ctx, n.comet.EventBus(), g)
	if err != nil {
		cancel()
		return err
	}
	n.stopGuard = func() { cancel(); wait() }
	return nil
}

// Config returns the node's effective configuration.
func (n *Node) Config() *cfg.Config { return n.cfg }

// Comet returns the CometBFT node, e.g. for an in-process RPC client
// (rpc/client/local).
func (n *Node) Comet() *nm.Node { return n.comet }

// ChainID returns the chain id from the genesis.
func (n *Node) ChainID() string { return n.comet.GenesisDoc().ChainID }

// RPCURL returns the HTTP address of the node's RPC, e.g.
// "http://127.0.0.1:26657".
func (n *Node) RPCURL() string { return RPCURL(n.cfg.RPC.ListenAddress) }

// RPCURL turns an RPC listen address into the URL clients use: tcp becomes
// http, and an unspecified host (0.0.0.0, [::]) becomes 127.0.0.1.
func RPCURL(listen string) string {
	s := listen
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if strings.HasPrefix(s, "0.0.0.0:") {
		s = "127.0.0.1:" + strings.TrimPrefix(s, "0.0.0.0:")
	} else if strings.HasPrefix(s, "[::]:") {
		s = "127.0.0.1:" + strings.TrimPrefix(s, "[::]:")
	} else if strings.HasPrefix(s, ":") {
		s = "127.0.0.1" + s
	}
	return "http://" + s
}

// Done is closed when the node has stopped.
func (n *Node) Done() <-chan struct{} { return n.done }

// Stop stops CometBFT, waits for it, and closes the ledger's database. It
// is safe to call more than once.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		n.stopGuard()
		var errs []error
		if n.comet.IsRunning() {
			if err := n.comet.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("stop node: %w", err))
			}
			n.comet.Wait()
		}
		if err := n.dbs.closeAll(); err != nil {
			errs = append(errs, fmt.Errorf("close node databases: %w", err))
		}
		if err := n.app.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close ledger state: %w", err))
		}
		n.stopErr = errors.Join(errs...)
		if n.stopErr == nil {
			n.logger.Info("AMP node stopped cleanly", "home", n.cfg.RootDir)
		} else {
			n.logger.Error("AMP node stopped with errors", "err", n.stopErr)
		}
		close(n.done)
	})
	return n.stopErr
}

// Run starts the node of dir and runs it until ctx is done (for example on
// SIGINT or SIGTERM), then stops it cleanly. started, if not nil, is called
// once the node runs.
func Run(ctx context.Context, dir string, o Options, started func(*Node)) error {
	n, err := Start(ctx, dir, o)
	if err != nil {
		return err
	}
	if started != nil {
		started(n)
	}
	<-ctx.Done()
	return n.Stop()
}

// quietShutdown drops the error lines CometBFT logs when its listeners are
// closed by a normal stop; they alarm people and mean nothing. It also
// limits the line CometBFT logs for each inbound connection the peer filter
// refuses to one per peer per RefusedPeerLogInterval: a refused node may
// retry many times a second.
type quietShutdown struct {
	cmtlog.Logger
	refused *refusedPeers
}

func (q quietShutdown) Error(msg string, kv ...any) {
	if msg == "Stopped accept routine, as transport is closed" {
		return
	}
	if msg == "Error serving server" {
		for i := 1; i < len(kv); i += 2 {
			if err, ok := kv[i].(error); ok && errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}
	q.Logger.Error(msg, kv...)
}

func (q quietShutdown) Info(msg string, kv ...any) {
	if msg == "Ignoring inbound connection: error while adding peer" && q.refused != nil {
		var ok bool
		if kv, ok = q.refused.allow(kv); !ok {
			return
		}
	}
	q.Logger.Info(msg, kv...)
}

func (q quietShutdown) With(kv ...any) cmtlog.Logger {
	return quietShutdown{Logger: q.Logger.With(kv...), refused: q.refused}
}

// RefusedPeerLogInterval is how often the refusal of the same peer by the
// peer filter is logged.
const RefusedPeerLogInterval = time.Minute

// refusedPeers counts the peer filter's refusals per peer ID for the log.
type refusedPeers struct {
	mu   sync.Mutex
	now  func() time.Time
	seen map[string]*refusal
}

type refusal struct {
	logged     time.Time
	suppressed int
}

func newRefusedPeers() *refusedPeers {
	return &refusedPeers{now: time.Now, seen: map[string]*refusal{}}
}

// allow reports whether a refusal line with these key-values is logged,
// and adds how many were dropped since the last one.
func (r *refusedPeers) allow(kv []any) ([]any, bool) {
	id, filtered := "", false
	for i := 0; i+1 < len(kv); i += 2 {
		switch kv[i] {
		case "id":
			id = fmt.Sprint(kv[i+1])
		case "err":
			filtered = strings.Contains(fmt.Sprint(kv[i+1]), "peer_rejected")
		}
	}
	if id == "" || !filtered {
		return kv, true
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range r.seen {
		if now.Sub(v.logged) >= 10*RefusedPeerLogInterval {
			delete(r.seen, k)
		}
	}
	s := r.seen[id]
	if s != nil && now.Sub(s.logged) < RefusedPeerLogInterval {
		s.suppressed++
		return nil, false
	}
	if s == nil {
		s = &refusal{}
		r.seen[id] = s
	}
	if s.suppressed > 0 {
		kv = append(append([]any(nil), kv...), "refused_since_last_line", s.suppressed)
	}
	s.logged, s.suppressed = now, 0
	return kv, true
}
