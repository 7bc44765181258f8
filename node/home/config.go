package home

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	cfg "github.com/cometbft/cometbft/config"
	"github.com/mitchellh/mapstructure"

	"github.com/amp-ledger/amp/chain"
)

// Defaults of a node home.
const (
	DefaultRPCListen = "tcp://127.0.0.1:26657"
	DefaultP2PListen = "tcp://0.0.0.0:26656"
	DefaultBlockTime = time.Second
	DefaultLogLevel  = "info"

	// MempoolSize is how many txs a node's mempool holds.
	MempoolSize = 50000
	// MempoolMaxTxsBytes bounds the mempool's total bytes: room for
	// MempoolSize txs of about 5 KiB, far above a payment's size.
	MempoolMaxTxsBytes = 256 << 20
)

// NodeConfig is what differs between the nodes of one network.
type NodeConfig struct {
	Moniker string
	// RPCListen and P2PListen are listen addresses ("tcp://host:port" or
	// "host:port"); empty means DefaultRPCListen and DefaultP2PListen.
	RPCListen string
	P2PListen string
	// BlockTime is CometBFT's timeout_commit: the pause after each commit
	// before the next height starts, which sets the block rate. Zero means
	// DefaultBlockTime.
	BlockTime time.Duration
	// PersistentPeers is a comma-separated list of ID@host:port.
	PersistentPeers string
	// LogLevel is CometBFT's log_level; empty means DefaultLogLevel.
	LogLevel string
	// CORSAllowedOrigins lets browsers call the RPC (e.g. "*" on a dev chain).
	CORSAllowedOrigins []string
	// FilterPeers makes CometBFT ask the ledger whether to accept each peer
	// (filter_peers): only nodes whose ID a consortium member registered
	// are accepted. Off by default, so that non-member full nodes can sync.
	FilterPeers bool
	// TxIndex is CometBFT's tx_index.indexer: TxIndexKV (empty means kv)
	// lets wallets and the CLI look txs up by hash and search events;
	// TxIndexNull is the validator profile, see docs/operating.md.
	TxIndex string
}

// The two tx indexers a node can run.
const (
	// TxIndexKV indexes every committed tx by hash and by its indexed
	// event attributes (tx_search). Nodes that serve wallets, the gateway
	// and the CLI run it.
	TxIndexKV = "kv"
	// TxIndexNull keeps no index. CometBFT hands every tx result to the
	// indexer before a block's commit is done, so on a busy validator the
	// index lengthens every block; validators whose RPC only takes txs run
	// without it (the CLI then finds its txs in the blocks themselves).
	TxIndexNull = "null"
)

// ListenAddr normalises a listen address to CometBFT's "tcp://host:port"
// form and checks it has a port.
func ListenAddr(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty listen address")
	}
	if !strings.Contains(s, "://") {
		s = "tcp://" + s
	}
	rest := s[strings.Index(s, "://")+3:]
	i := strings.LastIndexByte(rest, ':')
	if i < 0 || i == len(rest)-1 {
		return "", fmt.Errorf("listen address %q has no port", s)
	}
	for _, c := range rest[i+1:] {
		if c < '0' || c > '9' {
			return "", fmt.Errorf("listen address %q: port is not a number", s)
		}
	}
	return s, nil
}

// DefaultConfig returns the CometBFT configuration of an AMP node rooted at
// dir: CometBFT's defaults with the ledger's choices for throughput and
// local networks, and nc's per-node settings. It is the single place node
// defaults are decided; init, dev and network generators all use it.
func DefaultConfig(dir string, nc NodeConfig) (*cfg.Config, error) {
	c := cfg.DefaultConfig()
	c.SetRoot(dir)
	if nc.Moniker != "" {
		c.Moniker = nc.Moniker
	}
	c.LogLevel = DefaultLogLevel
	c.FilterPeers = nc.FilterPeers
	if nc.LogLevel != "" {
		c.LogLevel = nc.LogLevel
	}

	rpc, p2p := DefaultRPCListen, DefaultP2PListen
	var err error
	if nc.RPCListen != "" {
		if rpc, err = ListenAddr(nc.RPCListen); err != nil {
			return nil, fmt.Errorf("rpc: %w", err)
		}
	}
	if nc.P2PListen != "" {
		if p2p, err = ListenAddr(nc.P2PListen); err != nil {
			return nil, fmt.Errorf("p2p: %w", err)
		}
	}

	// RPC: the CLI, the gateway and load generators connect here.
	c.RPC.ListenAddress = rpc
	c.RPC.MaxOpenConnections = 900
	c.RPC.MaxSubscriptionClients = 200
	c.RPC.MaxSubscriptionsPerClient = 20
	c.RPC.SubscriptionBufferSize = 1000
	c.RPC.WebSocketWriteBufferSize = 1000
	c.RPC.MaxRequestBatchSize = 100
	c.RPC.TimeoutBroadcastTxCommit = 10 * time.Second
	if len(nc.CORSAllowedOrigins) > 0 {
		c.RPC.CORSAllowedOrigins = append([]string(nil), nc.CORSAllowedOrigins...)
	}

	// P2P: validators of a local network share 127.0.0.1.
	c.P2P.ListenAddress = p2p
	c.P2P.AllowDuplicateIP = true
	c.P2P.AddrBookStrict = false
	c.P2P.PersistentPeers = nc.PersistentPeers
	c.P2P.SendRate = 20 << 20
	c.P2P.RecvRate = 20 << 20

	// Mempool: room for bursts of payments; recheck keeps it consistent
	// with each committed block.
	c.Mempool.Size = MempoolSize
	c.Mempool.MaxTxBytes = chain.MaxTxBytes
	c.Mempool.MaxTxsBytes = MempoolMaxTxsBytes
	c.Mempool.CacheSize = 2 * MempoolSize
	c.Mempool.Recheck = true

	// Consensus: one block about every BlockTime.
	c.Consensus.TimeoutCommit = DefaultBlockTime
	if nc.BlockTime > 0 {
		c.Consensus.TimeoutCommit = nc.BlockTime
	}

	switch nc.TxIndex {
	case "", TxIndexKV:
		c.TxIndex.Indexer = TxIndexKV
	case TxIndexNull:
		c.TxIndex.Indexer = TxIndexNull
	default:
		return nil, fmt.Errorf("tx index %q: want %s or %s", nc.TxIndex, TxIndexKV, TxIndexNull)
	}

	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	return c, nil
}

// ConfigFile returns the path of dir's config.toml.
func ConfigFile(dir string) string {
	return filepath.Join(dir, cfg.DefaultConfigDir, cfg.DefaultConfigFileName)
}

// AppDir returns where the ledger's own state (badger) lives: data/app
// inside CometBFT's data folder.
func AppDir(c *cfg.Config) string { return filepath.Join(c.DBDir(), "app") }

// WriteConfig writes c to its home's config.toml, creating the folders of
// the home. It replaces an existing file atomically.
func WriteConfig(c *cfg.Config) error {
	if c.RootDir == "" {
		return fmt.Errorf("config has no home folder")
	}
	if err := ensureDirs(c.RootDir); err != nil {
		return err
	}
	path := ConfigFile(c.RootDir)
	tmp := path + ".tmp"
	// CometBFT renders its own template (which exits the process if it
	// cannot write); render into a temporary file we know we can write.
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	f.Close()
	if err := recovered(func() { cfg.WriteConfigFile(tmp, c) }); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// LoadConfig reads dir's config.toml over CometBFT's defaults, the way
// CometBFT's own commands do (keys missing from the file keep their default).
func LoadConfig(dir string) (*cfg.Config, error) {
	path := ConfigFile(dir)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s has no config (%s missing): run `ampd init` or `ampd dev` first: %w", dir, path, err)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	var raw map[string]any
	if _, err := toml.Decode(string(b), &raw); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	c := cfg.DefaultConfig()
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           c,
		WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
			intToDuration,
		),
	})
	if err != nil {
		return nil, fmt.Errorf("config decoder: %w", err)
	}
	if err := dec.Decode(raw); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	c.SetRoot(dir)
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// intToDuration reads a bare number as nanoseconds, as viper does.
func intToDuration(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(time.Duration(0)) {
		return data, nil
	}
	switch v := data.(type) {
	case int64:
		return time.Duration(v), nil
	case int:
		return time.Duration(v), nil
	}
	return data, nil
}

func ensureDirs(dir string) error {
	for _, d := range []string{dir, filepath.Join(dir, cfg.DefaultConfigDir), filepath.Join(dir, cfg.DefaultDataDir)} {
		if err := os.MkdirAll(d, cfg.DefaultDirPerm); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	return nil
}

// recovered runs f and turns a panic into an error: some CometBFT helpers
// panic on I/O failures.
func recovered(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	f()
	return nil
}
