package harness

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/node/client"
	"github.com/amp-ledger/amp/node/home"
	"github.com/amp-ledger/amp/node/keyring"
	"github.com/amp-ledger/amp/testnet/network"
	"github.com/amp-ledger/amp/testnet/nodeproc"
)

// Defaults of a test network.
const (
	DefaultValidators = 4
	// DefaultBlockTime is short, for fast tests, and long enough for four
	// validators and a test on two shared cores.
	DefaultBlockTime = 250 * time.Millisecond
	DefaultChainID   = "amp-harness"
	// DefaultLogLevel keeps what explains a failure (consensus, p2p and
	// the node's own lines) without the per-block chatter of every module.
	DefaultLogLevel = "info"
	// StopTimeout is how long Stop waits after SIGTERM before it kills.
	StopTimeout = 20 * time.Second
	// KeepEnv, when set, keeps the network's folder after the test.
	KeepEnv = "AMP_TESTNET_KEEP"
)

// Port windows: below the ephemeral range (see the package comment) and
// below the default ports of `make testnet` (26600…) and the dev chain
// (26656, 26657), so that tests and a running local network keep apart.
const (
	portLow  = 20000
	portHigh = 26000
)

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// Ampd returns the path of an ampd binary built from this module, building
// it on the first call of the test binary.
func Ampd(t testing.TB) string {
	t.Helper()
	bin, err := BuildAmpd()
	if err != nil {
		t.Fatalf("build ampd: %v", err)
	}
	return bin
}

// BuildAmpd builds ampd into a temporary folder once per process and
// returns its path.
func BuildAmpd() (string, error) {
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "amp-harness-bin-")
		if build.err != nil {
			return
		}
		build.bin, build.err = nodeproc.Build(build.dir, "ampd", nodeproc.AmpdPkg)
	})
	return build.bin, build.err
}

// Main runs a test binary's tests (call it from TestMain) and removes the
// ampd binary built for them.
func Main(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// Options describe a test network.
type Options struct {
	// Validators defaults to DefaultValidators.
	Validators int
	// BlockTime defaults to DefaultBlockTime.
	BlockTime time.Duration
	// ChainID defaults to DefaultChainID.
	ChainID string
	// LogLevel is each node's --log-level; empty means DefaultLogLevel.
	LogLevel string
	// SpareSlots reserves port slots for nodes added later with AddNode;
	// zero means 2.
	SpareSlots int
	// Configure, if set, adjusts node i's config before it is written
	// (also for nodes added with AddNode, with their index).
	Configure func(i int, c *cfg.Config)
}

// Network is a local network under test, seen from one test: its
// methods report failures to T. Use For to get a view for a subtest; views
// share the nodes. Besides T, a Network has (through its shared state):
//
//	Dir      the network's folder (DIR)
//	Bin      the ampd binary the nodes run
//	Manifest the network's manifest (genesis nodes only)
//	Keyring  DIR/keyring: every member's account key, and those of nodes added with AddNode
//	Nodes    the genesis validators, then nodes added with AddNode
type Network struct {
	T testing.TB
	*state
}

type state struct {
	Dir      string
	Bin      string
	Manifest *network.Manifest
	Keyring  *keyring.Keyring
	Nodes    []*Node

	opts      Options
	basePort  int
	slots     int
	portLocks []*os.File
	genesis   string
	top       testing.TB
}

// For returns a view of the network that reports failures to t (a
// subtest's), sharing the nodes. Helpers that may fail the test must run on
// t's goroutine.
func (n *Network) For(t testing.TB) *Network { return &Network{T: t, state: n.state} }

// New creates a network (not started) in a temporary folder. Its cleanup
// kills every node still running.
func New(t testing.TB, o Options) *Network {
	t.Helper()
	if o.Validators == 0 {
		o.Validators = DefaultValidators
	}
	if o.BlockTime == 0 {
		o.BlockTime = DefaultBlockTime
	}
	if o.ChainID == "" {
		o.ChainID = DefaultChainID
	}
	if o.LogLevel == "" {
		o.LogLevel = DefaultLogLevel
	}
	if o.SpareSlots == 0 {
		o.SpareSlots = 2
	}
	bin := Ampd(t)
	var dir string
	if os.Getenv(KeepEnv) != "" {
		d, err := os.MkdirTemp("", "amp-testnet-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
		t.Logf("network folder (kept): %s", dir)
	} else {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, "net")
	n := &Network{T: t, state: &state{Dir: dir, Bin: bin, opts: o, slots: o.Validators + o.SpareSlots, top: t}}
	if err := n.reservePorts(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.cleanup)
	m, err := network.Init(network.Options{
		Dir:        dir,
		Validators: o.Validators,
		Ports:      n.slotPorts,
		ChainID:    o.ChainID,
		BlockTime:  o.BlockTime,
		Configure:  o.Configure,
	})
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	n.Manifest = m
	n.genesis = home.GenesisFile(m.Nodes[0].Home)
	if n.Keyring, err = keyring.Open(m.Keyring); err != nil {
		t.Fatal(err)
	}
	for i, mn := range m.Nodes {
		n.Nodes = append(n.Nodes, &Node{Node: mn, Index: i, Genesis: true, net: n.state})
	}
	return n
}

// slotPorts is the port layout of slot i: P2P base+10i, RPC base+10i+1.
func (n *Network) slotPorts(i int) (p2p, rpc int) {
	return n.basePort + network.PortStride*i, n.basePort + network.PortStride*i + 1
}

// reservePorts picks a window of free ports below the ephemeral range and
// holds a lock file for it until cleanup.
func (n *Network) reservePorts() error {
	base, locks, err := reserve(network.PortStride * n.slots)
	if err != nil {
		return err
	}
	n.basePort, n.portLocks = base, locks
	return nil
}

// ReservePorts reserves a window of span consecutive free ports on
// 127.0.0.1 below the ephemeral range until t ends, and returns its first
// port.
func ReservePorts(t testing.TB, span int) int {
	t.Helper()
	base, locks, err := reserve(span)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, f := range locks {
			f.Close()
		}
	})
	return base
}

// reserve finds span free ports, starting at a multiple of PortStride,
// and locks every PortStride-port window they touch (flock on a file per
// window, released when the files are closed or the process ends), so that
// overlapping reservations of different sizes exclude each other.
func reserve(span int) (int, []*os.File, error) {
	lockDir := filepath.Join(os.TempDir(), "amp-harness-ports")
	if err := os.MkdirAll(lockDir, 0o777); err != nil {
		return 0, nil, fmt.Errorf("port locks: %w", err)
	}
	if span < 1 || span > (portHigh-portLow)/2 {
		return 0, nil, fmt.Errorf("cannot reserve %d ports", span)
	}
	for attempt := 0; attempt < 200; attempt++ {
		base := portLow + network.PortStride*rand.IntN((portHigh-portLow-span)/network.PortStride)
		var locks []*os.File
		ok := true
		for w := base; w < base+span && ok; w += network.PortStride {
			f, err := os.OpenFile(filepath.Join(lockDir, strconv.Itoa(w)), os.O_CREATE|os.O_RDWR, 0o666)
			if err != nil {
				ok = false
				break
			}
			if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
				f.Close()
				ok = false
				break
			}
			locks = append(locks, f)
		}
		for p := base; p < base+span && ok; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", network.Host, p))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base, locks, nil
		}
		for _, f := range locks {
			f.Close()
		}
	}
	return 0, nil, fmt.Errorf("found no free window of %d ports between %d and %d", span, portLow, portHigh)
}

func (n *Network) cleanup() {
	var wg sync.WaitGroup
	for _, nd := range n.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nd.kill()
		}()
	}
	wg.Wait()
	if n.top.Failed() {
		for _, nd := range n.Nodes {
			n.top.Logf("last lines of %s (%s):\n%s", nd.Name, nd.Log, nodeproc.TailFile(nd.Log, 40))
		}
	}
	for _, f := range n.portLocks {
		f.Close()
	}
}

// Node is one node of a network under test.
type Node struct {
	network.Node
	Index int
	// Genesis is true for the genesis validators, false for nodes added
	// with AddNode.
	Genesis bool

	net        *state
	mu         sync.Mutex
	proc       *nodeproc.Process
	cli        *client.Client
	rpc        *rpchttp.HTTP
	lastSigned int64 // sign state height before the last Wipe, until restarted
	wiped      bool
}

// Key returns the node's account key (its member's, for genesis nodes).
func (nd *Node) Key() (*keyring.Key, error) {
	k, err := nd.net.Keyring.Get(nd.Name)
	if err != nil {
		return nil, fmt.Errorf("key of %s: %w", nd.Name, err)
	}
	return k, nil
}

// Running reports whether the node's process runs.
func (nd *Node) Running() bool {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.proc == nil {
		return false
	}
	done, _ := nd.proc.Exited()
	return !done
}

// Client returns a client of the node's RPC that signs with the network's
// keyring (a new one after each Start). It is safe to use from any
// goroutine.
func (nd *Node) Client() *client.Client {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.cli == nil {
		c, err := client.New(nd.RPC, nd.net.Keyring)
		if err != nil {
			panic(fmt.Sprintf("client of %s: %v", nd.Name, err)) // the URL is ours: cannot happen
		}
		c.PollInterval = 50 * time.Millisecond
		nd.cli = c
	}
	return nd.cli
}

func (nd *Node) kill() {
	nd.mu.Lock()
	p := nd.proc
	nd.mu.Unlock()
	if p != nil {
		p.Kill()
	}
}

// Node returns node i.
func (n *Network) Node(i int) *Node {
	n.T.Helper()
	if i < 0 || i >= len(n.Nodes) {
		n.T.Fatalf("no node %d (the network has %d)", i, len(n.Nodes))
	}
	return n.Nodes[i]
}

// Start starts node i's process. A wiped node first waits (up to a minute)
// until a running node has committed beyond the height it last signed
// before the wipe (see the package comment).
func (n *Network) Start(i int) {
	n.T.Helper()
	nd := n.Node(i)
	if nd.Running() {
		n.T.Fatalf("start %s: it is running", nd.Name)
	}
	if nd.wiped && nd.lastSigned > 0 {
		n.waitOthersPast(i, nd.lastSigned, time.Minute)
	}
	p, err := nodeproc.Start(nd.Name, nd.Log, n.Bin, "start", "--home", nd.Home, "--log-level", n.opts.LogLevel)
	if err != nil {
		n.T.Fatalf("start %s: %v", nd.Name, err)
	}
	c, err := client.New(nd.RPC, n.Keyring)
	if err != nil {
		p.Kill()
		n.T.Fatalf("client of %s: %v", nd.Name, err)
	}
	c.PollInterval = 50 * time.Millisecond
	r, err := rpchttp.New(nd.RPC)
	if err != nil {
		p.Kill()
		n.T.Fatalf("rpc client of %s: %v", nd.Name, err)
	}
	nd.mu.Lock()
	nd.proc, nd.cli, nd.rpc, nd.wiped, nd.lastSigned = p, c, r, false, 0
	nd.mu.Unlock()
}

// StartAll starts every node that is not running.
func (n *Network) StartAll() {
	n.T.Helper()
	for i, nd := range n.Nodes {
		if !nd.Running() {
			n.Start(i)
		}
	}
}

// Stop stops node i with SIGTERM and waits for it; a node that does not
// stop within StopTimeout, or exits with an error, fails the test.
func (n *Network) Stop(i int) {
	n.T.Helper()
	nd := n.Node(i)
	nd.mu.Lock()
	p := nd.proc
	nd.mu.Unlock()
	if p == nil {
		n.T.Fatalf("stop %s: never started", nd.Name)
	}
	if err := p.Stop(StopTimeout); err != nil {
		n.T.Fatalf("stop %s: %v\n%s", nd.Name, err, p.Tail(30))
	}
}

// Kill kills node i with SIGKILL and waits until it is gone.
func (n *Network) Kill(i int) {
	n.T.Helper()
	n.Node(i).kill()
}

// Restart stops node i (SIGTERM) and starts it again.
func (n *Network) Restart(i int) {
	n.T.Helper()
	n.Stop(i)
	n.Start(i)
}

// Wipe deletes the data of node i, which must not be running, keeping its
// config and keys, and resets its sign state to height 0
// (network.WipeData). Its next Start waits until the network is past the
// height it last signed.
func (n *Network) Wipe(i int) { n.T.Helper(); n.wipe(i, false) }

// WipeKeepingSignState deletes the data of node i, which must not be
// running, but keeps its config, keys and sign state: what docs/operating.md
// tells an operator to do. The node will not sign at or below the height it
// last signed.
func (n *Network) WipeKeepingSignState(i int) { n.T.Helper(); n.wipe(i, true) }

func (n *Network) wipe(i int, keepSignState bool) {
	n.T.Helper()
	nd := n.Node(i)
	if nd.Running() {
		n.T.Fatalf("wipe %s: stop or kill it first", nd.Name)
	}
	h, err := network.WipeData(nd.Home, keepSignState)
	if err != nil {
		n.T.Fatalf("wipe %s: %v", nd.Name, err)
	}
	nd.mu.Lock()
	nd.wiped, nd.lastSigned = !keepSignState, h
	nd.mu.Unlock()
}

// waitOthersPast waits until a running node other than i has committed a
// height above h.
func (n *Network) waitOthersPast(i int, h int64, timeout time.Duration) {
	n.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for j, nd := range n.Nodes {
			if j == i || !nd.Running() {
				continue
			}
			if got, err := n.Height(j); err == nil && got > h {
				return
			}
		}
		if time.Now().After(deadline) {
			n.T.Fatalf("%s was wiped after signing at height %d; no running node got past that height within %s, so restarting it with an empty sign state is unsafe (heights %v)",
				n.Nodes[i].Name, h, timeout, n.Heights())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// AddNode creates the home of a node that is not in the genesis: a new
// node key, consensus key and account key (stored under name in its home's
// keyring and in the network's), the network's genesis, filter_peers on,
// and every genesis node as a persistent peer. It is not a member; it is
// not started.
func (n *Network) AddNode(name string) *Node {
	n.T.Helper()
	i := len(n.Nodes)
	if i >= n.slots {
		n.T.Fatalf("add node %s: no port slot left (raise Options.SpareSlots)", name)
	}
	p2p, rpc := n.slotPorts(i)
	c, err := home.DefaultConfig(filepath.Join(n.Dir, name), home.NodeConfig{
		Moniker:         name,
		RPCListen:       fmt.Sprintf("tcp://%s:%d", network.Host, rpc),
		P2PListen:       fmt.Sprintf("tcp://%s:%d", network.Host, p2p),
		BlockTime:       n.opts.BlockTime,
		PersistentPeers: n.Manifest.Peers(),
		FilterPeers:     true,
	})
	if err != nil {
		n.T.Fatalf("add node %s: %v", name, err)
	}
	c.RPC.PprofListenAddress = ""
	if n.opts.Configure != nil {
		n.opts.Configure(i, c)
	}
	nf, err := home.WriteNodeFiles(c)
	if err != nil {
		n.T.Fatalf("add node %s: %v", name, err)
	}
	doc, err := n.Manifest.Genesis()
	if err != nil {
		n.T.Fatal(err)
	}
	if err := home.WriteGenesis(c, doc); err != nil {
		n.T.Fatalf("add node %s: %v", name, err)
	}
	kr, err := keyring.OpenHome(c.RootDir)
	if err != nil {
		n.T.Fatal(err)
	}
	key, err := kr.Add(name, chain.KeyEd25519)
	if err != nil {
		n.T.Fatalf("add node %s: %v", name, err)
	}
	if _, err := n.Keyring.Import(name, key.PrivKey()); err != nil {
		n.T.Fatalf("add node %s: %v", name, err)
	}
	peer, err := home.PeerAddress(nf.NodeID, c.P2P.ListenAddress)
	if err != nil {
		n.T.Fatal(err)
	}
	nd := &Node{
		Node: network.Node{
			Name: name, Home: c.RootDir, RPC: fmt.Sprintf("http://%s:%d", network.Host, rpc), P2P: peer,
			NodeID: nf.NodeID, Address: key.Address(),
			ValidatorAddress: strings.ToUpper(fmt.Sprintf("%X", nf.ValidatorPubKey.Address())),
			Log:              filepath.Join(n.Dir, name+".log"),
		},
		Index: i,
		net:   n.state,
	}
	n.Nodes = append(n.Nodes, nd)
	return nd
}

// ConsensusKeyFile returns the path of node i's priv_validator_key.json.
func (n *Network) ConsensusKeyFile(i int) string {
	return filepath.Join(n.Node(i).Home, cfg.DefaultConfigDir, cfg.DefaultPrivValKeyName)
}

// NodeKeyFile returns the path of node i's node_key.json.
func (n *Network) NodeKeyFile(i int) string {
	return filepath.Join(n.Node(i).Home, cfg.DefaultConfigDir, cfg.DefaultNodeKeyName)
}
