package home

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/types"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/node/keyring"
)

func TestConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c, err := DefaultConfig(dir, NodeConfig{Moniker: "val-1", RPCListen: "127.0.0.1:40001", P2PListen: "127.0.0.1:40002",
		BlockTime: 250 * time.Millisecond, PersistentPeers: "abc@127.0.0.1:40012", CORSAllowedOrigins: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.RPC.ListenAddress != "tcp://127.0.0.1:40001" || c.P2P.ListenAddress != "tcp://127.0.0.1:40002" {
		t.Fatalf("listen addresses %q %q", c.RPC.ListenAddress, c.P2P.ListenAddress)
	}
	if c.Mempool.Size != MempoolSize || !c.Mempool.Recheck || c.TxIndex.Indexer != "kv" || !c.P2P.AllowDuplicateIP ||
		c.Consensus.TimeoutCommit != 250*time.Millisecond || c.DBBackend != "pebbledb" {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if err := WriteConfig(c); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := configDiff(reflect.ValueOf(c).Elem(), reflect.ValueOf(got).Elem(), ""); diff != "" {
		t.Fatalf("config did not round-trip: %s", diff)
	}

	// An operator's edit is read back; keys missing from the file keep
	// CometBFT's defaults.
	path := ConfigFile(dir)
	b, _ := os.ReadFile(path)
	edited := strings.Replace(string(b), `timeout_commit = "250ms"`, `timeout_commit = "2s"`, 1)
	if edited == string(b) {
		t.Fatal("timeout_commit not found in config.toml")
	}
	os.WriteFile(path, []byte(edited), 0o644)
	got, err = LoadConfig(dir)
	if err != nil || got.Consensus.TimeoutCommit != 2*time.Second {
		t.Fatalf("edited config: %v %v", got.Consensus.TimeoutCommit, err)
	}
	os.WriteFile(path, []byte("moniker = \"x\"\n[mempool]\nsize = 7\n"), 0o644)
	got, err = LoadConfig(dir)
	if err != nil || got.Mempool.Size != 7 || got.Moniker != "x" || got.RPC.ListenAddress != cfg.DefaultRPCConfig().ListenAddress {
		t.Fatalf("partial config: %+v %v", got, err)
	}

	os.WriteFile(path, []byte("this is [not toml"), 0o644)
	if _, err := LoadConfig(dir); err == nil {
		t.Fatal("bad toml accepted")
	}
	os.WriteFile(path, []byte("[mempool]\nsize = -3\n"), 0o644)
	if _, err := LoadConfig(dir); err == nil {
		t.Fatal("invalid config accepted")
	}
	if _, err := LoadConfig(filepath.Join(dir, "nothing")); err == nil {
		t.Fatal("missing config accepted")
	}
	if _, err := DefaultConfig(dir, NodeConfig{RPCListen: "127.0.0.1"}); err == nil {
		t.Fatal("listen address without port accepted")
	}
}

// configDiff names the first field that differs between two configs.
func configDiff(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path + ": nil vs non-nil"
			}
			return ""
		}
		return configDiff(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			if d := configDiff(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if a.Len() == 0 && b.Len() == 0 {
			return "" // nil and empty mean the same in a config
		}
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Sprintf("%s: wrote %#v, read %#v", path, a.Interface(), b.Interface())
	}
	return ""
}

func TestInitDev(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	res, err := Init(DevOptions(dir, "127.0.0.1:40101", "127.0.0.1:40102", 0))
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.Consensus.TimeoutCommit != DevBlockTime || res.Genesis.ChainID != DevChainID {
		t.Fatalf("dev config: %v %s", res.Config.Consensus.TimeoutCommit, res.Genesis.ChainID)
	}
	kr, err := keyring.OpenHome(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kr.List()
	if err != nil || len(keys) != 3+2+len(DevDevices) { // issuer, people, helper, shop, devices
		t.Fatalf("keyring: %d keys, %v", len(keys), err)
	}
	// The genesis on disk has the issuer as the only validator member,
	// holding the node's consensus key, and funds the three accounts (the
	// demo identities are checked by TestDevIdentityGenesis).
	doc, err := types.GenesisDocFromFile(GenesisFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadAppState(doc)
	if err != nil {
		t.Fatal(err)
	}
	issuer, _ := kr.Get(DevIssuer)
	alice, _ := kr.Get("alice")
	if len(st.Consortium.Members) != 1 || st.Consortium.Members[0].Address != issuer.Address() ||
		len(st.Consortium.Members[0].Roles) != len(consortium.AllRoles) {
		t.Fatalf("members: %+v", st.Consortium.Members)
	}
	if st.Consortium.Members[0].NodeID != res.NodeID || len(res.NodeID) != 40 {
		t.Fatalf("member node id %q, node %q", st.Consortium.Members[0].NodeID, res.NodeID)
	}
	pv, err := LoadPrivValidator(res.Config)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := pv.GetPubKey()
	if len(doc.Validators) != 1 || string(doc.Validators[0].PubKey.Bytes()) != string(pub.Bytes()) ||
		st.Consortium.Members[0].Validator.PubKey != base64.StdEncoding.EncodeToString(pub.Bytes()) {
		t.Fatalf("validator key mismatch")
	}
	funded := map[chain.Address][]string{}
	for _, b := range st.Bank.Balances {
		funded[b.Address] = b.Coins
	}
	if funded[alice.Address()][0] != DevPersonCoins || funded[issuer.Address()][0] != DevIssuerCoins {
		t.Fatalf("balances: %+v", st.Bank.Balances)
	}
	if _, err := LoadNodeKey(res.Config); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{res.Config.PrivValidatorKeyFile(), filepath.Join(dir, "keyring", "alice.json")} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, fi.Mode(), err)
		}
	}

	// A second init refuses; Reset wipes a node home.
	if _, err := Init(DevOptions(dir, "", "", 0)); !errors.Is(err, ErrExists) {
		t.Fatalf("second init: %v", err)
	}
	if err := Reset(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("reset left %s", dir)
	}
	if err := Reset(dir); err != nil {
		t.Fatalf("reset of a missing home: %v", err)
	}
}

func TestResetRefusesOtherFolders(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("x"), 0o644)
	if err := Reset(dir); err == nil {
		t.Fatal("reset wiped a folder that is not a node home")
	}
	if _, err := os.Stat(filepath.Join(dir, "precious.txt")); err != nil {
		t.Fatal(err)
	}
}

func TestInitOperatorAndFailures(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "op")
	res, err := Init(InitOptions{Dir: dir, ChainID: "amp-test-1", Node: NodeConfig{Moniker: "val1"},
		Accounts: OperatorAccounts("val1", []string{"5USD"})})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.RPC.ListenAddress != DefaultRPCListen || res.Config.P2P.ListenAddress != DefaultP2PListen || res.Config.Moniker != "val1" {
		t.Fatalf("operator config: %s %s", res.Config.RPC.ListenAddress, res.Config.P2P.ListenAddress)
	}

	base := t.TempDir()
	for name, o := range map[string]InitOptions{
		"no validator":  {ChainID: "c", Accounts: []Account{{Name: "a", Coins: []string{"1USD"}}}},
		"bad name":      {ChainID: "c", Accounts: OperatorAccounts("my node", nil)},
		"bad coins":     {ChainID: "c", Accounts: OperatorAccounts("v", []string{"1.5XYZ"})},
		"bad decimals":  {ChainID: "c", Accounts: OperatorAccounts("v", []string{"0.0000000000000000001USD"})},
		"no chain id":   {Accounts: OperatorAccounts("v", nil)},
		"long chain id": {ChainID: strings.Repeat("x", 51), Accounts: OperatorAccounts("v", nil)},
		"role missing":  {ChainID: "c", Accounts: []Account{{Name: "v", Roles: []string{consortium.RoleAcquirer}, Validator: true}}},
		"bad port":      {ChainID: "c", Node: NodeConfig{RPCListen: "localhost:http"}, Accounts: OperatorAccounts("v", nil)},
	} {
		o.Dir = filepath.Join(base, strings.ReplaceAll(name, " ", "_"))
		if _, err := Init(o); err == nil {
			t.Errorf("%s: init succeeded", name)
		}
		if _, err := os.Stat(o.Dir); !os.IsNotExist(err) {
			t.Errorf("%s: failed init left %s behind", name, o.Dir)
		}
	}
}

func TestNewGenesisForSeveralValidators(t *testing.T) {
	// What a network generator does: one home per validator, one genesis.
	base := t.TempDir()
	var members []consortium.Member
	var cfgs []*cfg.Config
	for i, port := range []int{41000, 41010, 41020} {
		c, err := DefaultConfig(filepath.Join(base, string(rune('a'+i))), NodeConfig{
			Moniker: "val" + string(rune('a'+i)), RPCListen: "127.0.0.1:" + strconv.Itoa(port), P2PListen: "127.0.0.1:" + strconv.Itoa(port+1)})
		if err != nil {
			t.Fatal(err)
		}
		nf, err := WriteNodeFiles(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := WriteNodeFiles(c); !errors.Is(err, ErrExists) {
			t.Fatalf("node files written twice: %v", err)
		}
		v, err := ValidatorOf(nf.ValidatorPubKey, int64(10+i))
		if err != nil {
			t.Fatal(err)
		}
		k, _ := chain.GenerateKey(chain.KeyEd25519)
		members = append(members, consortium.Member{Name: c.Moniker, Address: k.PubKey().Address(), Roles: []string{consortium.RoleValidator}, Validator: v})
		cfgs = append(cfgs, c)
	}
	doc, err := NewGenesis("amp-net", time.Time{}, AppState{
		Consortium: consortium.Genesis{Members: members},
		Bank:       bank.Genesis{Assets: DefaultAssets(), Balances: []bank.GenesisBalance{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Validators) != 3 || doc.Validators[2].Power != 12 {
		t.Fatalf("validators: %+v", doc.Validators)
	}
	for _, c := range cfgs {
		if err := WriteGenesis(c, doc); err != nil {
			t.Fatal(err)
		}
	}
	dup := append([]consortium.Member(nil), members...)
	dup[1].Name = dup[0].Name
	if _, err := NewGenesis("amp-net", time.Time{}, AppState{Consortium: consortium.Genesis{Members: dup}}); err == nil {
		t.Fatal("duplicate member names accepted")
	}
}

func TestTxIndexProfiles(t *testing.T) {
	for _, tc := range []struct{ in, want string }{{"", TxIndexKV}, {TxIndexKV, TxIndexKV}, {TxIndexNull, TxIndexNull}} {
		c, err := DefaultConfig(t.TempDir(), NodeConfig{TxIndex: tc.in})
		if err != nil || c.TxIndex.Indexer != tc.want {
			t.Errorf("tx index %q: indexer %q, %v; want %q", tc.in, c.TxIndex.Indexer, err, tc.want)
		}
	}
	for _, bad := range []string{"psql", "KV", "none"} {
		if _, err := DefaultConfig(t.TempDir(), NodeConfig{TxIndex: bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("tx index %q: %v, want an error naming it", bad, err)
		}
	}
}

func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:1":         "tcp://127.0.0.1:1",
		"tcp://0.0.0.0:26656": "tcp://0.0.0.0:26656",
		" [::1]:5 ":           "tcp://[::1]:5",
	} {
		got, err := ListenAddr(in)
		if err != nil || got != want {
			t.Errorf("ListenAddr(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "127.0.0.1", "tcp://host:", "host:port"} {
		if _, err := ListenAddr(bad); err == nil {
			t.Errorf("ListenAddr(%q) accepted", bad)
		}
	}
}

func TestPeerAddress(t *testing.T) {
	got, err := PeerAddress("abcd", "tcp://0.0.0.0:26656")
	if err != nil || got != "abcd@127.0.0.1:26656" {
		t.Fatalf("%q %v", got, err)
	}
	got, err = PeerAddress("abcd", "127.0.0.1:5")
	if err != nil || got != "abcd@127.0.0.1:5" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := PeerAddress("", "127.0.0.1:5"); err == nil {
		t.Fatal("empty id accepted")
	}
	if _, err := PeerAddress("x", "nohost"); err == nil {
		t.Fatal("bad address accepted")
	}
}
