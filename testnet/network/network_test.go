package network_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/node/client"
	"github.com/amp-ledger/amp/node/home"
	"github.com/amp-ledger/amp/node/keyring"
	"github.com/amp-ledger/amp/testnet/harness"
	"github.com/amp-ledger/amp/testnet/network"
)

func TestMain(m *testing.M) { harness.Main(m) }

func TestInitLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tn")
	m, err := network.Init(network.Options{Dir: dir, Validators: 3, BlockTime: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if m.ChainID != network.DefaultChainID || len(m.Nodes) != 3 || m.Keyring != filepath.Join(dir, "keyring") {
		t.Fatalf("manifest: %+v", m)
	}
	loaded, err := network.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded, m) {
		t.Fatalf("manifest did not round-trip:\n%+v\n%+v", loaded, m)
	}
	var genesis []byte
	all, err := keyring.Open(m.Keyring)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range m.Nodes {
		name := fmt.Sprintf("node%d", i)
		p2p, rpc := network.DefaultBasePort+10*i, network.DefaultBasePort+10*i+1
		if n.Name != name || n.Home != filepath.Join(dir, name) || n.RPC != fmt.Sprintf("http://127.0.0.1:%d", rpc) ||
			n.P2P != fmt.Sprintf("%s@127.0.0.1:%d", n.NodeID, p2p) || n.Log != filepath.Join(dir, name+".log") {
			t.Fatalf("node %d: %+v", i, n)
		}
		c, err := home.LoadConfig(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		if !c.FilterPeers || !c.P2P.AllowDuplicateIP || c.RPC.PprofListenAddress != "" || c.Moniker != name ||
			c.Consensus.TimeoutCommit != 300*time.Millisecond ||
			c.RPC.ListenAddress != fmt.Sprintf("tcp://127.0.0.1:%d", rpc) || c.P2P.ListenAddress != fmt.Sprintf("tcp://127.0.0.1:%d", p2p) {
			t.Fatalf("%s config: filter %v dup %v pprof %q rpc %s p2p %s", name, c.FilterPeers, c.P2P.AllowDuplicateIP,
				c.RPC.PprofListenAddress, c.RPC.ListenAddress, c.P2P.ListenAddress)
		}
		if c.P2P.PersistentPeers != m.PeersExcept(i) || strings.Count(c.P2P.PersistentPeers, "@") != 2 || strings.Contains(c.P2P.PersistentPeers, n.NodeID) {
			t.Fatalf("%s persistent peers: %q", name, c.P2P.PersistentPeers)
		}
		if id, err := client.ReadNodeIDFile(c.NodeKeyFile()); err != nil || id != n.NodeID {
			t.Fatalf("%s node key: %s %v", name, id, err)
		}
		g, err := os.ReadFile(home.GenesisFile(n.Home))
		if err != nil {
			t.Fatal(err)
		}
		if genesis == nil {
			genesis = g
		} else if !bytes.Equal(g, genesis) {
			t.Fatalf("%s has another genesis", name)
		}
		// Each home's keyring holds its own member's key only; DIR/keyring
		// holds them all.
		kr, err := keyring.OpenHome(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := kr.List()
		if err != nil || len(keys) != 1 || keys[0].Name != name || keys[0].Address() != n.Address {
			t.Fatalf("%s keyring: %v %v", name, keys, err)
		}
		if k, err := all.Get(name); err != nil || k.Address() != n.Address {
			t.Fatalf("DIR keyring lacks %s: %v", name, err)
		}
		if pv, err := home.LoadPrivValidator(c); err != nil {
			t.Fatal(err)
		} else if pub, _ := pv.GetPubKey(); fmt.Sprintf("%X", pub.Address()) != n.ValidatorAddress {
			t.Fatalf("%s validator address %s, key %X", name, n.ValidatorAddress, pub.Address())
		}
	}

	doc, err := types.GenesisDocFromJSON(genesis)
	if err != nil {
		t.Fatal(err)
	}
	st, err := home.ReadAppState(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Validators) != 3 || len(st.Consortium.Members) != 3 || len(st.Bank.Balances) != 3 {
		t.Fatalf("genesis: %d validators, %d members, %d balances", len(doc.Validators), len(st.Consortium.Members), len(st.Bank.Balances))
	}
	for i, mem := range st.Consortium.Members {
		n := m.Nodes[i]
		if mem.Name != n.Name || mem.Address != n.Address || mem.NodeID != n.NodeID || mem.Validator == nil ||
			mem.Validator.Power != network.MemberPower || !reflect.DeepEqual(mem.Roles, consortium.AllRoles) {
			t.Fatalf("member %d: %+v", i, mem)
		}
		if doc.Validators[i].Power != network.MemberPower || doc.Validators[i].Address.String() != n.ValidatorAddress {
			t.Fatalf("genesis validator %d: %+v", i, doc.Validators[i])
		}
		b := st.Bank.Balances[i]
		if b.Address != n.Address || len(b.Coins) != 1 || b.Coins[0] != network.MemberCoins {
			t.Fatalf("balance %d: %+v", i, b)
		}
	}

	// A second Init refuses the folder; Reset removes it.
	if _, err := network.Init(network.Options{Dir: dir, Validators: 1}); !errors.Is(err, network.ErrExists) {
		t.Fatalf("second init: %v", err)
	}
	if err := network.Reset(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("reset left %s", dir)
	}
}

func TestInitRefusesBadOptions(t *testing.T) {
	base := t.TempDir()
	for name, o := range map[string]network.Options{
		"no validators":     {Validators: 0},
		"negative":          {Validators: -1},
		"too many":          {Validators: 1000},
		"one too many":      {Validators: network.MaxValidators + 1},
		"low base port":     {Validators: 4, BasePort: 80},
		"ports past 65535":  {Validators: 4, BasePort: 65530},
		"negative block":    {Validators: 4, BlockTime: -time.Second},
		"long chain id":     {Validators: 4, ChainID: strings.Repeat("x", 51)},
		"duplicate ports":   {Validators: 2, Ports: func(int) (int, int) { return 30000, 30001 }},
		"p2p equals rpc":    {Validators: 1, Ports: func(int) (int, int) { return 30000, 30000 }},
		"port out of range": {Validators: 1, Ports: func(int) (int, int) { return 0, 30000 }},
	} {
		o.Dir = filepath.Join(base, strings.ReplaceAll(name, " ", "_"))
		if _, err := network.Init(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := os.Stat(o.Dir); !os.IsNotExist(err) {
			t.Errorf("%s: left %s behind", name, o.Dir)
		}
	}
	if _, err := network.Init(network.Options{Validators: 4}); err == nil {
		t.Error("init without a folder accepted")
	}
	// A folder with other files is refused, and left as it was.
	other := filepath.Join(base, "other")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "precious.txt"), []byte("x"), 0o644)
	if _, err := network.Init(network.Options{Dir: other, Validators: 1}); !errors.Is(err, network.ErrExists) {
		t.Fatalf("non-empty folder: %v", err)
	}
	if err := network.Reset(other); err == nil {
		t.Fatal("reset removed a folder without a manifest")
	}
	if entries, _ := os.ReadDir(other); len(entries) != 1 {
		t.Fatalf("folder changed: %v", entries)
	}
	if _, err := network.Load(other); err == nil {
		t.Fatal("loaded a folder without a manifest")
	}
	os.WriteFile(filepath.Join(other, network.ManifestName), []byte("{not json"), 0o644)
	if _, err := network.Load(other); err == nil {
		t.Fatal("loaded a bad manifest")
	}
	os.WriteFile(filepath.Join(other, network.ManifestName), []byte(`{"nodes": []}`), 0o644)
	if _, err := network.Load(other); err == nil {
		t.Fatal("loaded a manifest without nodes")
	}
}

func TestWipeData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tn")
	m, err := network.Init(network.Options{Dir: dir, Validators: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Nodes[0].Home
	c, err := home.LoadConfig(h)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(c.PrivValidatorStateFile(), []byte(`{"height": "42", "round": 1, "step": 3}`), 0o600)
	os.MkdirAll(filepath.Join(c.DBDir(), "blockstore.db"), 0o755)
	os.MkdirAll(home.AppDir(c), 0o755)
	os.WriteFile(filepath.Join(home.AppDir(c), "000001.vlog"), []byte("x"), 0o644)
	last, err := network.WipeData(h, false)
	if err != nil || last != 42 {
		t.Fatalf("wipe: %d %v", last, err)
	}
	entries, _ := os.ReadDir(c.DBDir())
	if len(entries) != 1 || entries[0].Name() != filepath.Base(c.PrivValidatorStateFile()) {
		t.Fatalf("data after wipe: %v", entries)
	}
	pv, err := home.LoadPrivValidator(c)
	if err != nil || pv.LastSignState.Height != 0 {
		t.Fatalf("sign state after wipe: %+v %v", pv, err)
	}
	// Config, keys, genesis and keyring stay.
	for _, p := range []string{home.ConfigFile(h), c.NodeKeyFile(), c.PrivValidatorKeyFile(), home.GenesisFile(h), filepath.Join(h, "keyring", "node0.json")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("wipe removed %s", p)
		}
	}
	if _, err := network.WipeData(filepath.Join(dir, "nothing"), false); err == nil {
		t.Fatal("wiped a folder that is not a home")
	}

	// Keeping the sign state.
	os.WriteFile(c.PrivValidatorStateFile(), []byte(`{"height": "57", "round": 0, "step": 2}`), 0o600)
	os.MkdirAll(home.AppDir(c), 0o755)
	if last, err := network.WipeData(h, true); err != nil || last != 57 {
		t.Fatalf("wipe keeping the sign state: %d %v", last, err)
	}
	if _, err := os.Stat(home.AppDir(c)); !os.IsNotExist(err) {
		t.Fatal("ledger state survived the wipe")
	}
	if pv, err := home.LoadPrivValidator(c); err != nil || pv.LastSignState.Height != 57 {
		t.Fatalf("kept sign state: %+v %v", pv, err)
	}
}

func TestCheckPorts(t *testing.T) {
	base := harness.ReservePorts(t, 20)
	m, err := network.Init(network.Options{Dir: filepath.Join(t.TempDir(), "tn"), Validators: 2, BasePort: base})
	if err != nil {
		t.Fatal(err)
	}
	if err := network.CheckPorts(m); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+11))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := network.CheckPorts(m); err == nil || !strings.Contains(err.Error(), "node1's RPC address") || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("busy port: %v", err)
	}
}
