package network

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/types"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/node/home"
	"github.com/amp-ledger/amp/node/keyring"
)

// Defaults and limits of a local network.
const (
	// ManifestName is the manifest's file name inside DIR.
	ManifestName = "testnet.json"
	// DefaultDir is where `ampd testnet` and `make testnet` put a network.
	DefaultDir = ".testnet"
	// DefaultValidators is the size of `make testnet`'s consortium.
	DefaultValidators = 4
	// MaxValidators bounds N: every node runs on this one machine.
	MaxValidators = 16
	// DefaultBasePort is the first port of the default layout.
	DefaultBasePort = 26600
	// PortStride separates the ports of consecutive nodes: node K listens
	// for P2P on base+PortStride·K and for RPC on base+PortStride·K+1.
	PortStride = 10
	// MinBasePort keeps the layout out of the privileged ports.
	MinBasePort = 1024
	// DefaultChainID is the chain id of a new network.
	DefaultChainID = "amp-testnet"
	// DefaultBlockTime is the pause after each block (timeout_commit).
	DefaultBlockTime = time.Second
	// MemberPower is each genesis validator's voting power.
	MemberPower = home.DefaultValidatorPower
	// MemberCoins is each member's genesis balance.
	MemberCoins = "1000000USD"
	// Host is the only address the nodes listen on.
	Host = "127.0.0.1"
)

// ErrExists is returned when DIR already holds a network or other files.
var ErrExists = errors.New("folder is not empty")

// NodeName returns the name of node i: its moniker, member name, key name
// and home folder name.
func NodeName(i int) string { return fmt.Sprintf("node%d", i) }

// Options describe a network to create.
type Options struct {
	// Dir is the network's folder (DIR); it must be missing or empty.
	Dir string
	// Validators is N, from 1 to MaxValidators.
	Validators int
	// BasePort is the first port of the layout; zero means DefaultBasePort.
	BasePort int
	// Ports, if set, gives node i's P2P and RPC ports instead of the
	// base-port layout (tests pick free ports this way).
	Ports func(i int) (p2p, rpc int)
	// ChainID defaults to DefaultChainID.
	ChainID string
	// BlockTime defaults to DefaultBlockTime.
	BlockTime time.Duration
	// LogLevel is written to each config.toml; empty means home's default.
	LogLevel string
	// GenesisTime defaults to now.
	GenesisTime time.Time
	// Configure, if set, adjusts node i's config before it is written.
	Configure func(i int, c *cfg.Config)
}

// Manifest is DIR/testnet.json.
type Manifest struct {
	ChainID string `json:"chain_id"`
	// Dir is the network's folder; not stored, set by Init and Load.
	Dir string `json:"-"`
	// Keyring is DIR/keyring, holding every member's account key.
	Keyring string `json:"keyring"`
	Nodes   []Node `json:"nodes"`
}

// Node is one node of a manifest.
type Node struct {
	Name string `json:"name"`
	// Home is the node's home folder, for `ampd start --home`.
	Home string `json:"home"`
	// RPC is the URL clients use, e.g. "http://127.0.0.1:26601".
	RPC string `json:"rpc"`
	// P2P is the node's peer address, ID@127.0.0.1:port.
	P2P    string `json:"p2p"`
	NodeID string `json:"node_id"`
	// Address is the account address of the node's member.
	Address chain.Address `json:"address"`
	// ValidatorAddress is the hex address of the node's consensus key, as
	// /validators and block commits show it.
	ValidatorAddress string `json:"validator_address"`
	// Log is where Run writes the node's output.
	Log string `json:"log"`
}

// Validate checks o and fills in its defaults.
func (o *Options) Validate() error {
	if strings.TrimSpace(o.Dir) == "" {
		return fmt.Errorf("no folder given for the network")
	}
	if o.Validators < 1 || o.Validators > MaxValidators {
		return fmt.Errorf("the number of validators must be from 1 to %d, got %d", MaxValidators, o.Validators)
	}
	if o.BasePort == 0 {
		o.BasePort = DefaultBasePort
	}
	if o.Ports == nil {
		last := o.BasePort + PortStride*(o.Validators-1) + 1
		if o.BasePort < MinBasePort || last > 65535 {
			return fmt.Errorf("base port %d: the %d nodes need ports %d to %d, which must lie within %d to 65535",
				o.BasePort, o.Validators, o.BasePort, last, MinBasePort)
		}
	}
	if o.ChainID == "" {
		o.ChainID = DefaultChainID
	}
	if len(o.ChainID) > chain.MaxChainIDLen {
		return fmt.Errorf("chain id must have 1 to %d characters", chain.MaxChainIDLen)
	}
	if o.BlockTime < 0 {
		return fmt.Errorf("block time must be positive, got %s", o.BlockTime)
	}
	if o.BlockTime == 0 {
		o.BlockTime = DefaultBlockTime
	}
	return nil
}

// ports returns node i's P2P and RPC ports.
func (o *Options) ports(i int) (p2p, rpc int) {
	if o.Ports != nil {
		return o.Ports(i)
	}
	return o.BasePort + PortStride*i, o.BasePort + PortStride*i + 1
}

// Init creates a network as described by o (see the package comment) and
// writes its manifest. It refuses a folder that exists and is not empty;
// on failure it removes what it created.
func Init(o Options) (m *Manifest, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("network folder: %w", err)
	}
	entries, err := os.ReadDir(dir)
	created := errors.Is(err, fs.ErrNotExist)
	switch {
	case created:
	case err != nil:
		return nil, fmt.Errorf("network folder: %w", err)
	case len(entries) > 0:
		if _, statErr := os.Stat(filepath.Join(dir, ManifestName)); statErr == nil {
			return nil, fmt.Errorf("%w: %s already holds a network (%s); start it, or remove the folder for a new one", ErrExists, dir, ManifestName)
		}
		return nil, fmt.Errorf("%w: %s has other files; pick an empty or new folder", ErrExists, dir)
	}
	seen := map[int]string{}
	for i := 0; i < o.Validators; i++ {
		p2p, rpc := o.ports(i)
		for _, p := range []struct {
			port int
			what string
		}{{p2p, "P2P"}, {rpc, "RPC"}} {
			if p.port < 1 || p.port > 65535 {
				return nil, fmt.Errorf("%s %s port %d is out of range", NodeName(i), p.what, p.port)
			}
			if other, dup := seen[p.port]; dup {
				return nil, fmt.Errorf("port %d is given to both %s and %s %s", p.port, other, NodeName(i), p.what)
			}
			seen[p.port] = NodeName(i) + " " + p.what
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("network folder: %w", err)
	}
	defer func() {
		if err != nil {
			removeContents(dir, created)
		}
	}()

	m = &Manifest{ChainID: o.ChainID, Dir: dir, Keyring: keyring.Dir(dir)}
	cfgs := make([]*cfg.Config, o.Validators)
	state := home.AppState{Bank: bank.Genesis{Assets: home.DefaultAssets(), Balances: []bank.GenesisBalance{}}}
	all, err := keyring.Open(m.Keyring)
	if err != nil {
		return nil, err
	}
	for i := 0; i < o.Validators; i++ {
		name := NodeName(i)
		p2p, rpc := o.ports(i)
		c, err := home.DefaultConfig(filepath.Join(dir, name), home.NodeConfig{
			Moniker:     name,
			RPCListen:   fmt.Sprintf("tcp://%s:%d", Host, rpc),
			P2PListen:   fmt.Sprintf("tcp://%s:%d", Host, p2p),
			BlockTime:   o.BlockTime,
			LogLevel:    o.LogLevel,
			FilterPeers: true,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c.RPC.PprofListenAddress = ""
		if o.Configure != nil {
			o.Configure(i, c)
		}
		nf, err := home.WriteNodeFiles(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		kr, err := keyring.OpenHome(c.RootDir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		key, err := kr.Add(name, chain.KeyEd25519)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if _, err := all.Import(name, key.PrivKey()); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		val, err := home.ValidatorOf(nf.ValidatorPubKey, MemberPower)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		state.Consortium.Members = append(state.Consortium.Members, consortium.Member{
			Name:      name,
			Address:   key.Address(),
			Roles:     append([]string(nil), consortium.AllRoles...),
			Validator: val,
			NodeID:    nf.NodeID,
		})
		state.Bank.Balances = append(state.Bank.Balances, bank.GenesisBalance{Address: key.Address(), Coins: []string{MemberCoins}})
		peer, err := home.PeerAddress(nf.NodeID, c.P2P.ListenAddress)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		m.Nodes = append(m.Nodes, Node{
			Name:             name,
			Home:             c.RootDir,
			RPC:              fmt.Sprintf("http://%s:%d", Host, rpc),
			P2P:              peer,
			NodeID:           nf.NodeID,
			Address:          key.Address(),
			ValidatorAddress: strings.ToUpper(hex.EncodeToString(nf.ValidatorPubKey.Address())),
			Log:              filepath.Join(dir, name+".log"),
		})
		cfgs[i] = c
	}
	doc, err := home.NewGenesis(o.ChainID, o.GenesisTime, state)
	if err != nil {
		return nil, err
	}
	for i, c := range cfgs {
		c.P2P.PersistentPeers = m.PeersExcept(i)
		if err := home.WriteConfig(c); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Nodes[i].Name, err)
		}
		if err := home.WriteGenesis(c, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Nodes[i].Name, err)
		}
	}
	if err := m.write(); err != nil {
		return nil, err
	}
	return m, nil
}

// PeersExcept returns the persistent_peers list of every node but i.
func (m *Manifest) PeersExcept(i int) string {
	var peers []string
	for j, n := range m.Nodes {
		if j != i {
			peers = append(peers, n.P2P)
		}
	}
	return strings.Join(peers, ",")
}

// Peers returns the persistent_peers list of every node.
func (m *Manifest) Peers() string { return m.PeersExcept(-1) }

func (m *Manifest) write() error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	path := filepath.Join(m.Dir, ManifestName)
	if err := os.WriteFile(path+".tmp", append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}

// Exists reports whether dir holds a network's manifest.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ManifestName))
	return err == nil
}

// Load reads the manifest of the network in dir. Relative homes, logs and
// keyring paths are taken relative to dir.
func Load(dir string) (*Manifest, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("network folder: %w", err)
	}
	path := filepath.Join(abs, ManifestName)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s holds no network (%s missing): create one with `ampd testnet init`: %w", abs, ManifestName, err)
		}
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	if len(m.Nodes) == 0 {
		return nil, fmt.Errorf("manifest %s lists no nodes", path)
	}
	m.Dir = abs
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(abs, p)
	}
	m.Keyring = rel(m.Keyring)
	names := map[string]bool{}
	for i := range m.Nodes {
		n := &m.Nodes[i]
		if n.Name == "" || n.Home == "" || n.RPC == "" || n.P2P == "" {
			return nil, fmt.Errorf("manifest %s: node %d lacks a name, home, rpc or p2p", path, i)
		}
		if names[n.Name] {
			return nil, fmt.Errorf("manifest %s: node %s is listed twice", path, n.Name)
		}
		names[n.Name] = true
		n.Home, n.Log = rel(n.Home), rel(n.Log)
		if n.Log == "" {
			n.Log = filepath.Join(abs, n.Name+".log")
		}
	}
	return &m, nil
}

// Node returns the node called name.
func (m *Manifest) Node(name string) (*Node, bool) {
	for i := range m.Nodes {
		if m.Nodes[i].Name == name {
			return &m.Nodes[i], true
		}
	}
	return nil, false
}

// Genesis reads the network's genesis (node0's copy).
func (m *Manifest) Genesis() (*types.GenesisDoc, error) {
	doc, err := types.GenesisDocFromFile(home.GenesisFile(m.Nodes[0].Home))
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	return doc, nil
}

// removeContents empties dir, and removes it too if removeDir.
func removeContents(dir string, removeDir bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
	if removeDir {
		os.Remove(dir)
	}
}

// Reset removes the network in dir so that a new one can be made there. To
// avoid wiping an unrelated folder by a typo it only removes a folder that
// is missing, empty, or holds a manifest.
func Reset(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	entries, err := os.ReadDir(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reset %s: %w", abs, err)
	}
	if len(entries) > 0 && !Exists(abs) {
		return fmt.Errorf("reset: %s holds no %s; refusing to delete it", abs, ManifestName)
	}
	if err := os.RemoveAll(abs); err != nil {
		return fmt.Errorf("reset %s: %w", abs, err)
	}
	return nil
}
