package home

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/app"
	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/node/keyring"
)

// devHome initialises a dev home with a fixed genesis time and returns it
// with its keyring.
func devHome(t *testing.T, genesisTime time.Time) (string, *Initialized, *keyring.Keyring) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "dev")
	o := DevOptions(dir, "127.0.0.1:40111", "127.0.0.1:40112", 0)
	o.GenesisTime = genesisTime
	res, err := Init(o)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.OpenHome(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, res, kr
}

func mustKey(t *testing.T, kr *keyring.Keyring, name string) *keyring.Key {
	t.Helper()
	k, err := kr.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The dev genesis holds the demo identities, made from the keyring's keys.
func TestDevIdentityGenesis(t *testing.T) {
	gt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	dir, res, kr := devHome(t, gt)

	keyTypes := map[string]chain.KeyType{DevIssuer: chain.KeyEd25519, "alice": chain.KeyEd25519, "bob": chain.KeyEd25519,
		"helper": chain.KeyP256, "shop": chain.KeyEd25519, "alice-phone": chain.KeyP256, "alice-watch": chain.KeyP256}
	keys, err := kr.List()
	if err != nil || len(keys) != len(keyTypes) {
		t.Fatalf("keyring: %d keys, %v", len(keys), err)
	}
	for _, k := range keys {
		if want, ok := keyTypes[k.Name]; !ok || k.Type != want {
			t.Errorf("key %s is %s, want %s", k.Name, k.Type, want)
		}
	}
	if len(res.Keys) != len(keyTypes) {
		t.Fatalf("Init returned %d keys", len(res.Keys))
	}
	addr := func(n string) chain.Address { return mustKey(t, kr, n).Address() }
	issuer, alice := addr(DevIssuer), addr("alice")

	doc, err := types.GenesisDocFromFile(GenesisFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !doc.GenesisTime.Equal(gt) {
		t.Fatalf("genesis time %v", doc.GenesisTime)
	}
	st, err := ReadAppState(doc)
	if err != nil {
		t.Fatal(err)
	}
	g := st.Identity
	if g == nil {
		t.Fatal("no identity section in the dev genesis")
	}
	if len(g.Persons) != 2 {
		t.Fatalf("persons: %+v", g.Persons)
	}
	for i, p := range []string{"alice", "bob"} {
		h := sha256.Sum256([]byte("dev identity check of " + p))
		if g.Persons[i].Address != addr(p) || g.Persons[i].Wallet != issuer || string(g.Persons[i].IDVHash) != string(h[:]) {
			t.Errorf("person %s: %+v", p, g.Persons[i])
		}
	}
	wantDevices := []struct {
		name, kind, label string
		scopes            []string
	}{
		{"alice-phone", "phone", "Alice's phone", []string{"revoke", "update", "manage_devices"}},
		{"alice-watch", "watch", "Alice's watch", []string{"approve", "revoke"}},
	}
	if len(g.Devices) != len(wantDevices) {
		t.Fatalf("devices: %+v", g.Devices)
	}
	for i, w := range wantDevices {
		d := g.Devices[i]
		if d.Person != alice || !reflect.DeepEqual(d.Key, identity.KeyOf(mustKey(t, kr, w.name).PubKey())) || d.Key.Type != "p256" ||
			d.Kind != w.kind || d.Label != w.label || !reflect.DeepEqual(d.Scopes, w.scopes) || d.ApproveLimit != "" {
			t.Errorf("device %s: %+v", w.name, d)
		}
	}
	helper := mustKey(t, kr, "helper")
	if len(g.Agents) != 1 {
		t.Fatalf("agents: %+v", g.Agents)
	}
	a := g.Agents[0]
	if a.Issuer != issuer || a.Owner != alice || !reflect.DeepEqual(a.Key, identity.KeyOf(helper.PubKey())) || a.Key.Type != "p256" ||
		a.Builder == "" || a.Profile.Name != "helper" || len(a.Profile.Capabilities) == 0 ||
		a.Review.Level != 2 || !reflect.DeepEqual(a.Review.Items, []string{"profile", "kyc", "aml", "security", "privacy"}) ||
		a.Review.ExpiresAt != gt.Add(365*24*time.Hour).Unix() {
		t.Errorf("agent: %+v", a)
	}
	shop := addr("shop")
	if len(g.Merchants) != 1 || g.Merchants[0] != (identity.GenesisMerchant{Acquirer: issuer, Address: shop,
		Name: "Demo Shop", MCC: "5999", Country: "SG", Settlement: shop}) {
		t.Errorf("merchants: %+v", g.Merchants)
	}
	if len(g.Bindings) != 1 || g.Bindings[0] != (identity.GenesisBinding{Person: alice, AgentKey: helper.Address()}) {
		t.Errorf("bindings: %+v", g.Bindings)
	}
	// Only people and the issuer are funded.
	for _, b := range st.Bank.Balances {
		if b.Address == helper.Address() || b.Address == shop {
			t.Errorf("demo identity funded: %+v", b)
		}
	}
}

// The dev genesis grants helper the demo mandate from alice.
func TestDevDelegationGenesis(t *testing.T) {
	gt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	dir, _, kr := devHome(t, gt)
	doc, err := types.GenesisDocFromFile(GenesisFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadAppState(doc)
	if err != nil {
		t.Fatal(err)
	}
	g := st.Delegation
	if g == nil || len(g.Mandates) != 1 {
		t.Fatalf("delegation genesis: %+v", g)
	}
	want := delegation.GenesisMandate{
		Person: mustKey(t, kr, "alice").Address(), AgentKey: mustKey(t, kr, "helper").Address(),
		Description: "Demo: everyday purchases at Demo Shop", Budget: "100USD", MaxPayment: "25USD", ApprovalAbove: "20USD",
		Merchants: []chain.Address{mustKey(t, kr, "shop").Address()}, ExpiresAt: gt.Add(30 * 24 * time.Hour).Unix(),
	}
	if !reflect.DeepEqual(g.Mandates[0], want) {
		t.Fatalf("demo mandate:\n got %+v\nwant %+v", g.Mandates[0], want)
	}
}

// The dev genesis passes the ledger's InitChain, and its first block
// serves the identities as the dev summary's example commands expect.
func TestDevGenesisInitChain(t *testing.T) {
	gt := time.Now().UTC().Truncate(time.Second)
	dir, res, kr := devHome(t, time.Time{})
	doc := res.Genesis
	if d := doc.GenesisTime.Sub(gt); d < 0 || d > time.Minute {
		t.Fatalf("default genesis time %v, now %v", doc.GenesisTime, gt)
	}

	a, err := app.New(app.Options{Dir: filepath.Join(dir, "app-test"), CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var vals []abci.ValidatorUpdate
	for _, v := range doc.Validators {
		vals = append(vals, abci.ValidatorUpdate{Power: v.Power, PubKeyType: v.PubKey.Type(), PubKeyBytes: v.PubKey.Bytes()})
	}
	ctx := context.Background()
	if _, err := a.InitChain(ctx, &abci.InitChainRequest{ChainId: doc.ChainID, Time: doc.GenesisTime,
		InitialHeight: doc.InitialHeight, AppStateBytes: doc.AppState, Validators: vals}); err != nil {
		t.Fatalf("InitChain of the dev genesis: %v", err)
	}
	if _, err := a.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: 1, Time: doc.GenesisTime.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(ctx, &abci.CommitRequest{}); err != nil {
		t.Fatal(err)
	}
	query := func(path string, out any) {
		t.Helper()
		r, err := a.Query(ctx, &abci.QueryRequest{Path: path})
		if err != nil || r.Code != 0 {
			t.Fatalf("query %s: %v %s", path, err, r.GetLog())
		}
		if err := json.Unmarshal(r.Value, out); err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
	}
	alice, helper := mustKey(t, kr, "alice"), mustKey(t, kr, "helper")

	var agent identity.AgentView
	query("/identity/agent/"+helper.Address().String(), &agent)
	if agent.ID != "agent-1" || agent.Status != identity.StatusActive || agent.AttestationLevel != 2 ||
		agent.Owner != alice.Address() || agent.Profile.Name != "helper" {
		t.Fatalf("agent: %+v", agent)
	}
	var p identity.PersonView
	query("/identity/person/"+alice.Address().String(), &p)
	if len(p.Devices) != 2 || len(p.Bindings) != 1 || p.Bindings[0].AgentID != "agent-1" {
		t.Fatalf("alice: %+v", p)
	}
	scopes := map[chain.Address][]string{}
	for _, d := range p.Devices {
		scopes[d.Address] = d.Scopes
	}
	if !reflect.DeepEqual(scopes[mustKey(t, kr, "alice-phone").Address()], []string{"revoke", "update", "manage_devices"}) ||
		!reflect.DeepEqual(scopes[mustKey(t, kr, "alice-watch").Address()], []string{"approve", "revoke"}) {
		t.Fatalf("device scopes: %+v", scopes)
	}
	var bob identity.PersonView
	query("/identity/person/"+mustKey(t, kr, "bob").Address().String(), &bob)
	if len(bob.Devices) != 0 || len(bob.Bindings) != 0 {
		t.Fatalf("bob: %+v", bob)
	}
	var m identity.Merchant
	shop := mustKey(t, kr, "shop").Address()
	query("/identity/merchant/"+shop.String(), &m)
	if m.Name != "Demo Shop" || m.Settlement != shop || m.MCC != "5999" {
		t.Fatalf("merchant: %+v", m)
	}

	// The demo mandate is mandate-1, activated, and helper pays under it
	// as the dev summary's example does; above the approval threshold
	// alice's watch co-signs.
	var md delegation.MandateView
	query("/delegation/mandate/"+DevMandateID, &md)
	if md.ID != "mandate-1" || md.Type != "AUTONOMOUS" || md.Status != "activated" || md.AgentID != "agent-1" ||
		md.Person != alice.Address() || md.Budget != "100" || md.Consumed != "0" || md.Asset != "USD" ||
		md.Description != DevMandateDescription || md.Constraints == nil || md.Constraints.MaxPayment != "25" ||
		md.Constraints.ApprovalAbove != "20" || !reflect.DeepEqual(md.Constraints.Merchants, []chain.Address{shop}) ||
		md.ExpiresAt != doc.GenesisTime.Add(30*24*time.Hour).Unix() {
		t.Fatalf("demo mandate: %+v", md)
	}
	var listed []delegation.MandateView
	query("/delegation/mandates/"+alice.Address().String(), &listed)
	if len(listed) != 1 || listed[0].ID != DevMandateID {
		t.Fatalf("alice's mandates: %+v", listed)
	}
	pay := func(nonce uint64, amount, order string, keys ...chain.PrivKey) []byte {
		t.Helper()
		a, err := chain.ParseDecimal(amount, 18)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256([]byte(order))
		tx, err := chain.BuildTx(doc.ChainID, nonce, chain.TxOptions{}, []proto.Message{&pb.MsgPay{MandateId: DevMandateID,
			Merchant: shop[:], Amount: bank.CoinProto(chain.Coin{Asset: "USD", Amount: a}), OrderHash: h[:]}},
			append([]chain.PrivKey{helper.PrivKey()}, keys...)...)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	watch := mustKey(t, kr, "alice-watch").PrivKey()
	fb, err := a.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: 2, Time: doc.GenesisTime.Add(2 * time.Second),
		Txs: [][]byte{pay(0, "5", "demo-1"), pay(1, "21", "demo-2"), pay(2, "21", "demo-3", watch)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(ctx, &abci.CommitRequest{}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint32{0, delegation.ErrApprovalRequired.Code, 0} {
		if r := fb.TxResults[i]; r.Code != want {
			t.Fatalf("payment %d: code %d (%s), want %d", i, r.Code, r.Log, want)
		}
	}
	query("/delegation/mandate/"+DevMandateID, &md)
	if md.Consumed != "26" || md.Payments != 2 || md.Available != "74" {
		t.Fatalf("demo mandate after payments: %+v", md)
	}
}

// A key left in the keyring under an account's name is reused only if it
// has the account's key type.
func TestInitKeyTypeOfExistingKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	kr, err := keyring.OpenHome(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Add(DevAgent, chain.KeyEd25519); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(DevOptions(dir, "127.0.0.1:40121", "127.0.0.1:40122", 0)); err == nil {
		t.Fatal("an ed25519 key was reused as the p256 agent key")
	}
	if err := kr.Delete(DevAgent); err != nil {
		t.Fatal(err)
	}
	pre, err := kr.Add(DevAgent, chain.KeyP256)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Init(DevOptions(dir, "127.0.0.1:40121", "127.0.0.1:40122", 0))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := ReadAppState(res.Genesis)
	if !reflect.DeepEqual(st.Identity.Agents[0].Key, identity.KeyOf(pre.PubKey())) {
		t.Fatal("existing p256 key not reused")
	}
}

// Homes without identity and delegation builders (ampd init, testnet)
// leave those sections out of the genesis.
func TestInitWithoutIdentity(t *testing.T) {
	res, err := Init(InitOptions{Dir: filepath.Join(t.TempDir(), "op"), ChainID: "amp-test-1", Node: NodeConfig{Moniker: "val1"},
		Accounts: OperatorAccounts("val1", nil)})
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(res.Genesis.AppState, &raw); err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{"identity", "delegation"} {
		if _, ok := raw[section]; ok {
			t.Fatalf("%s section in an operator genesis: %s", section, res.Genesis.AppState)
		}
	}
}
