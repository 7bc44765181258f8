package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/libs/cli/flags"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	nm "github.com/cometbft/cometbft/node"
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
	return quietShutdown{fl}, nil
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
	ledger, err := app.New(app.Options{Dir: home.AppDir(c), Logger: logger.With("module", "app"), CheckInvariants: o.CheckInvariants})
	if err != nil {
		return nil, fmt.Errorf("open ledger state in %s: %w", home.AppDir(c), err)
	}
	dbs := &dbTracker{logger: logger}
	comet, err := nm.NewNode(ctx, c, pv, nodeKey,
		proxy.NewConnSyncLocalClientCreator(ledger),
		nm.DefaultGenesisDocProviderFunc(c),
		dbs.provider,
		nm.DefaultMetricsProvider(c.Instrumentation),
		logger)
	if err != nil {
		_ = dbs.closeAll()
		ledger.Close()
		return nil, fmt.Errorf("create node: %w", err)
	}
	if err := comet.Start(); err != nil {
		_ = dbs.closeAll()
		ledger.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	n := &Node{cfg: c, comet: comet, app: ledger, dbs: dbs, logger: logger, done: make(chan struct{})}
	logger.Info("AMP node started", "home", c.RootDir, "chain_id", comet.GenesisDoc().ChainID,
		"rpc", c.RPC.ListenAddress, "p2p", c.P2P.ListenAddress)
	return n, nil
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
// closed by a normal stop; they alarm people and mean nothing.
type quietShutdown struct{ cmtlog.Logger }

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

func (q quietShutdown) With(kv ...any) cmtlog.Logger { return quietShutdown{q.Logger.With(kv...)} }
