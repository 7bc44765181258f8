package app

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
)

const testChainID = "amp-test"

var genesisTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// testKey returns a deterministic ed25519 key for seed byte b.
func testKey(t testing.TB, b byte) chain.PrivKey {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = b
	}
	k, err := chain.PrivKeyFromBytes(chain.KeyEd25519, seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type testChain struct {
	t      testing.TB
	app    *App
	dir    string
	height int64
	nonces map[chain.Address]uint64
	issuer chain.PrivKey
	alice  chain.PrivKey
	bob    chain.PrivKey
}

func genesisState(t testing.TB, issuer, alice, bob chain.PrivKey, valKey ed25519.PublicKey) []byte {
	g := map[string]any{
		"consortium": consortium.Genesis{Members: []consortium.Member{{
			Name: "issuer", Address: issuer.PubKey().Address(),
			Roles:     []string{"validator", "kya_issuer", "acquirer", "asset_issuer"},
			Validator: &consortium.Validator{PubKey: base64.StdEncoding.EncodeToString(valKey), Power: 10},
		}}},
		"bank": bank.Genesis{
			Assets: []chain.Asset{{Symbol: "USD", Name: "US Dollar", Decimals: 18}},
			Balances: []bank.GenesisBalance{
				{Address: alice.PubKey().Address(), Coins: []string{"1000USD"}},
				{Address: bob.PubKey().Address(), Coins: []string{"1000USD"}},
			},
		},
	}
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newTestChain opens an app in a temp dir and runs InitChain.
func newTestChain(t testing.TB) *testChain { return newTestChainWith(t, nil) }

// newTestChainWith is newTestChain with chain parameters set in the genesis.
func newTestChainWith(t testing.TB, params map[string]any) *testChain {
	t.Helper()
	c := &testChain{t: t, dir: t.TempDir(), nonces: map[chain.Address]uint64{},
		issuer: testKey(t, 1), alice: testKey(t, 2), bob: testKey(t, 3)}
	c.open()
	valKey := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	state := genesisState(t, c.issuer, c.alice, c.bob, valKey)
	if len(params) > 0 {
		var g map[string]json.RawMessage
		if err := json.Unmarshal(state, &g); err != nil {
			t.Fatal(err)
		}
		p, err := json.Marshal(params)
		if err != nil {
			t.Fatal(err)
		}
		g["params"] = p
		if state, err = json.Marshal(g); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.app.InitChain(context.Background(), &abci.InitChainRequest{
		ChainId: testChainID, Time: genesisTime, InitialHeight: 1,
		AppStateBytes: state,
		Validators:    []abci.ValidatorUpdate{{Power: 10, PubKeyType: "ed25519", PubKeyBytes: valKey}},
	})
	if err != nil {
		t.Fatalf("InitChain: %v", err)
	}
	return c
}

func (c *testChain) open() {
	a, err := New(Options{Dir: c.dir, CheckInvariants: true})
	if err != nil {
		c.t.Fatal(err)
	}
	c.app = a
	c.t.Cleanup(func() { a.Close() })
}

// restart closes and reopens the app on the same directory, as after a crash
// between blocks.
func (c *testChain) restart() {
	c.app.Close()
	c.open()
}

func (c *testChain) tx(signer chain.PrivKey, msgs ...proto.Message) []byte {
	a := signer.PubKey().Address()
	raw, err := chain.BuildTx(testChainID, c.nonces[a], chain.TxOptions{}, msgs, signer)
	if err != nil {
		c.t.Fatal(err)
	}
	c.nonces[a]++
	return raw
}

// block finalizes and commits a block of txs, one second after the
// previous one, and returns the results.
func (c *testChain) block(txs ...[]byte) *abci.FinalizeBlockResponse {
	c.t.Helper()
	return c.blockTime(genesisTime.Add(time.Duration(c.height+1)*time.Second), txs...)
}

// blockTime is block with a chosen block time.
func (c *testChain) blockTime(at time.Time, txs ...[]byte) *abci.FinalizeBlockResponse {
	c.t.Helper()
	c.height++
	resp, err := c.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{
		Height: c.height, Time: at, Txs: txs,
	})
	if err != nil {
		c.t.Fatalf("FinalizeBlock %d: %v", c.height, err)
	}
	if _, err := c.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		c.t.Fatalf("Commit %d: %v", c.height, err)
	}
	return resp
}

func (c *testChain) query(path string, out any) *abci.QueryResponse {
	c.t.Helper()
	resp, err := c.app.Query(context.Background(), &abci.QueryRequest{Path: path})
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.Code == 0 && out != nil {
		if err := json.Unmarshal(resp.Value, out); err != nil {
			c.t.Fatalf("decode %s: %v", path, err)
		}
	}
	return resp
}

// balance returns an account's USD balance in base units.
func (c *testChain) balance(a chain.Address) string {
	c.t.Helper()
	var v bank.AccountBalances
	if r := c.query("/bank/balance/"+a.String()+"/USD", &v); r.Code != 0 {
		c.t.Fatalf("balance query: %s", r.Log)
	}
	return v.Balances[0].BaseUnits
}

func usd(t testing.TB, s string) *pb.Coin {
	a, err := chain.ParseDecimal(s, 18)
	if err != nil {
		t.Fatal(err)
	}
	return &pb.Coin{Asset: "USD", Amount: a.String()}
}

func send(t testing.TB, from, to chain.PrivKey, amount string) *pb.MsgSend {
	f, tt := from.PubKey().Address(), to.PubKey().Address()
	return &pb.MsgSend{From: f[:], To: tt[:], Amount: usd(t, amount)}
}

func mintMsg(t testing.TB, issuer, to chain.Address, amount string) *pb.MsgMint {
	return &pb.MsgMint{Issuer: issuer[:], To: to[:], Amount: usd(t, amount)}
}
