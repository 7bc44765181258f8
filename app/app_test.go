package app

import (
	"context"
	"encoding/hex"
	"math/rand"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
)

func TestTransferCommitsAndQueries(t *testing.T) {
	c := newTestChain(t)
	c.block() // genesis state lands with block 1
	resp := c.block(c.tx(c.alice, send(t, c.alice, c.bob, "0.000001")))
	if r := resp.TxResults[0]; r.Code != 0 {
		t.Fatalf("transfer failed: %d %s", r.Code, r.Log)
	}
	if got := c.balance(c.bob.PubKey().Address()); got != "1000000001000000000000" {
		t.Errorf("bob has %s base units, want 1000000001000000000000", got)
	}
	var v bank.AccountBalances
	c.query("/bank/balance/"+c.alice.PubKey().Address().String(), &v)
	if v.Balances[0].Amount != "999.999999" || v.Balances[0].Asset != "USD" {
		t.Errorf("alice shows %+v, want 999.999999 USD", v.Balances[0])
	}
	var found bool
	for _, e := range resp.TxResults[0].Events {
		if e.Type == "transfer" {
			found = true
		}
	}
	if !found {
		t.Error("no transfer event")
	}
	if err := c.app.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestBadTxsChangeNothing submits each kind of bad tx and checks its code
// and that no balance changed.
func TestBadTxsChangeNothing(t *testing.T) {
	c := newTestChain(t)
	c.block()
	alice, bob := c.alice.PubKey().Address(), c.bob.PubKey().Address()
	good := func() []byte {
		raw, _ := chain.BuildTx(testChainID, c.nonces[alice], chain.TxOptions{}, []proto.Message{send(t, c.alice, c.bob, "1")}, c.alice)
		return raw
	}
	tamper := func(raw []byte) []byte {
		var env pb.Tx
		proto.Unmarshal(raw, &env)
		env.Signatures[0].Sig[0] ^= 1
		b, _ := chain.Marshal(&env)
		return b
	}
	build := func(chainID string, nonce uint64, msgs ...proto.Message) []byte {
		raw, err := chain.BuildTx(chainID, nonce, chain.TxOptions{}, msgs, c.alice)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	var zero chain.Address
	cases := []struct {
		name string
		mk   func(nonce uint64) []byte
		want *chain.Error
	}{
		{"garbage bytes", func(n uint64) []byte { return []byte{0xff, 0x01, 0x02} }, chain.ErrTxDecode},
		{"empty", func(n uint64) []byte { return []byte{} }, chain.ErrNoSignature},
		{"wrong chain id", func(n uint64) []byte { return build("other-chain", n, send(t, c.alice, c.bob, "1")) }, chain.ErrWrongChainID},
		{"bad signature", func(n uint64) []byte { return tamper(good()) }, chain.ErrInvalidSignature},
		{"skipped nonce", func(n uint64) []byte { return build(testChainID, n+5, send(t, c.alice, c.bob, "1")) }, chain.ErrNonceTooHigh},
		{"unknown asset", func(n uint64) []byte {
			return build(testChainID, n, &pb.MsgSend{From: alice[:], To: bob[:], Amount: &pb.Coin{Asset: "EUR", Amount: "1"}})
		}, chain.ErrUnknownAsset},
		{"zero amount", func(n uint64) []byte {
			return build(testChainID, n, &pb.MsgSend{From: alice[:], To: bob[:], Amount: &pb.Coin{Asset: "USD", Amount: "0"}})
		}, chain.ErrInvalidAmount},
		{"negative amount", func(n uint64) []byte {
			return build(testChainID, n, &pb.MsgSend{From: alice[:], To: bob[:], Amount: &pb.Coin{Asset: "USD", Amount: "-5"}})
		}, chain.ErrInvalidAmount},
		{"overflowing amount", func(n uint64) []byte {
			return build(testChainID, n, &pb.MsgSend{From: alice[:], To: bob[:], Amount: &pb.Coin{Asset: "USD", Amount: "1157920892373161954235709850086879078532699846656405640394575840079131296399360"}})
		}, chain.ErrOverflow},
		{"insufficient funds", func(n uint64) []byte {
			return build(testChainID, n, send(t, c.alice, c.bob, "1000.000000000000000001"))
		}, bank.ErrInsufficientFunds},
		{"invalid recipient", func(n uint64) []byte {
			return build(testChainID, n, &pb.MsgSend{From: alice[:], To: []byte{1, 2, 3}, Amount: usd(t, "1")})
		}, chain.ErrInvalidAddress},
		{"zero recipient", func(n uint64) []byte {
			return build(testChainID, n, &pb.MsgSend{From: alice[:], To: zero[:], Amount: usd(t, "1")})
		}, chain.ErrInvalidAddress},
		{"send from someone else", func(n uint64) []byte { return build(testChainID, n, send(t, c.bob, c.alice, "1")) }, chain.ErrUnauthorized},
		{"mint by non-issuer", func(n uint64) []byte {
			return build(testChainID, n, &pb.MsgMint{Issuer: alice[:], To: alice[:], Amount: usd(t, "1")})
		}, consortium.ErrNotMember},
		{"unknown message", func(n uint64) []byte { return build(testChainID, n, &pb.Coin{Asset: "USD", Amount: "1"}) }, chain.ErrUnknownMsg},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ba, bb := c.balance(alice), c.balance(bob)
			tx := tc.mk(c.nonces[alice])
			check, _ := c.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK})
			res := c.block(tx).TxResults[0]
			if res.Code != tc.want.Code || res.Info != tc.want.Reason {
				t.Errorf("FinalizeBlock result %d %s (%s), want %d %s", res.Code, res.Info, res.Log, tc.want.Code, tc.want.Reason)
			}
			// Stateless failures are caught by CheckTx too; state-dependent
			// ones (funds, roles) only when executed.
			if check.Code != 0 && check.Code != tc.want.Code {
				t.Errorf("CheckTx code %d (%s), want 0 or %d", check.Code, check.Log, tc.want.Code)
			}
			if res.Log == "" {
				t.Error("failure without a message")
			}
			if ba2, bb2 := c.balance(alice), c.balance(bob); ba2 != ba || bb2 != bb {
				t.Errorf("balances changed: alice %s→%s, bob %s→%s", ba, ba2, bb, bb2)
			}
			// Keep our nonce view in line with the app's: txs that pass the
			// tx-level checks consume their nonce even when a message fails.
			var n NonceView
			c.query("/app/nonce/"+alice.String(), &n)
			c.nonces[alice] = n.Nonce
		})
	}
	// A replay of a committed tx is rejected as such.
	tx := c.tx(c.alice, send(t, c.alice, c.bob, "1"))
	if r := c.block(tx).TxResults[0]; r.Code != 0 {
		t.Fatalf("good tx failed: %s", r.Log)
	}
	if r := c.block(tx).TxResults[0]; r.Code != chain.ErrNonceTooLow.Code {
		t.Errorf("replay: code %d %s, want nonce_too_low", r.Code, r.Log)
	}
	if err := c.app.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestMintAndBurnByIssuer(t *testing.T) {
	c := newTestChain(t)
	c.block()
	issuer, alice := c.issuer.PubKey().Address(), c.alice.PubKey().Address()
	r := c.block(c.tx(c.issuer, &pb.MsgMint{Issuer: issuer[:], To: alice[:], Amount: usd(t, "5.5")}))
	if r.TxResults[0].Code != 0 {
		t.Fatalf("mint: %s", r.TxResults[0].Log)
	}
	var sup bank.BalanceView
	c.query("/bank/supply/USD", &sup)
	if sup.Amount != "2005.5" {
		t.Errorf("supply %s, want 2005.5", sup.Amount)
	}
	r = c.block(c.tx(c.issuer, &pb.MsgBurn{From: issuer[:], Amount: usd(t, "1")}))
	if r.TxResults[0].Code != bank.ErrInsufficientFunds.Code {
		t.Errorf("burn without funds: %d %s", r.TxResults[0].Code, r.TxResults[0].Log)
	}
}

// TestAtomicMultiMsg checks that a tx whose second message fails keeps none
// of the first message's writes.
func TestAtomicMultiMsg(t *testing.T) {
	c := newTestChain(t)
	c.block()
	alice, bob := c.alice.PubKey().Address(), c.bob.PubKey().Address()
	before := c.balance(bob)
	r := c.block(c.tx(c.alice, send(t, c.alice, c.bob, "10"), send(t, c.alice, c.bob, "5000")))
	if r.TxResults[0].Code != bank.ErrInsufficientFunds.Code {
		t.Fatalf("code %d, want insufficient_funds", r.TxResults[0].Code)
	}
	if c.balance(bob) != before || c.balance(alice) != "1000000000000000000000" {
		t.Error("first message of a failed tx was applied")
	}
}

// TestRestartKeepsCommittedState closes and reopens the app between blocks
// and checks that Info reports exactly the last commit and state survives.
func TestRestartKeepsCommittedState(t *testing.T) {
	c := newTestChain(t)
	c.block()
	c.block(c.tx(c.alice, send(t, c.alice, c.bob, "7")))
	h, hash := c.app.LastCommit()
	c.restart()
	info, _ := c.app.Info(context.Background(), &abci.InfoRequest{})
	if info.LastBlockHeight != h || hex.EncodeToString(info.LastBlockAppHash) != hex.EncodeToString(hash) {
		t.Fatalf("after restart Info says %d/%X, want %d/%X", info.LastBlockHeight, info.LastBlockAppHash, h, hash)
	}
	if got := c.balance(c.bob.PubKey().Address()); got != "1007000000000000000000" {
		t.Errorf("bob %s after restart", got)
	}
	if r := c.block(c.tx(c.alice, send(t, c.alice, c.bob, "1"))).TxResults[0]; r.Code != 0 {
		t.Errorf("tx after restart: %s", r.Log)
	}
}

// TestCheckTxNonceTracksMempool admits consecutive nonces from one signer
// before any block, rejects gaps and replays, and resets after commit.
func TestCheckTxNonceTracksMempool(t *testing.T) {
	c := newTestChain(t)
	c.block()
	check := func(tx []byte) uint32 {
		r, _ := c.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK})
		return r.Code
	}
	t0 := c.tx(c.alice, send(t, c.alice, c.bob, "1"))
	t1 := c.tx(c.alice, send(t, c.alice, c.bob, "1"))
	if check(t0) != 0 || check(t1) != 0 {
		t.Fatal("consecutive nonces rejected")
	}
	if code := check(t0); code != chain.ErrNonceTooLow.Code {
		t.Errorf("re-submitted tx: code %d, want nonce_too_low", code)
	}
	var n NonceView
	c.query("/app/nonce/"+c.alice.PubKey().Address().String(), &n)
	if n.Nonce != 2 {
		t.Errorf("pending nonce %d, want 2", n.Nonce)
	}
	c.block(t0)
	// After commit, the mempool's remaining tx (t1) is rechecked first.
	r, _ := c.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: t1, Type: abci.CHECK_TX_TYPE_RECHECK})
	if r.Code != 0 {
		t.Errorf("recheck of pending tx: %s", r.Log)
	}
}

// TestDeterministicAppHash runs the same random blocks through two apps and
// checks they agree at every height, with invariants holding throughout.
func TestDeterministicAppHash(t *testing.T) {
	a, b := newTestChain(t), newTestChain(t)
	rng := rand.New(rand.NewSource(7))
	keys := []chain.PrivKey{a.alice, a.bob, a.issuer}
	for h := 0; h < 30; h++ {
		var txs [][]byte
		for i := rng.Intn(8); i > 0; i-- {
			from, to := keys[rng.Intn(3)], keys[rng.Intn(3)]
			amt := []string{"0.000001", "1", "250", "999", "1500"}[rng.Intn(5)]
			var m proto.Message = send(t, from, to, amt)
			if rng.Intn(6) == 0 {
				iss := a.issuer.PubKey().Address()
				toA := to.PubKey().Address()
				m = &pb.MsgMint{Issuer: iss[:], To: toA[:], Amount: usd(t, amt)}
			}
			txs = append(txs, a.tx(from, m))
		}
		ra, rb := a.block(txs...), b.block(txs...)
		if hex.EncodeToString(ra.AppHash) != hex.EncodeToString(rb.AppHash) {
			t.Fatalf("height %d: app hashes differ", h+1)
		}
		for i := range ra.TxResults {
			if ra.TxResults[i].Code != rb.TxResults[i].Code {
				t.Fatalf("height %d tx %d: results differ", h+1, i)
			}
		}
	}
	if err := a.app.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
