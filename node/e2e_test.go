package node_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/node"
	"github.com/amp-ledger/amp/node/client"
	"github.com/amp-ledger/amp/node/home"
	"github.com/amp-ledger/amp/node/keyring"
)

type protoMsg = proto.Message

// freeAddr returns a 127.0.0.1 address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func testLogger(t *testing.T) cmtlog.Logger {
	if os.Getenv("AMP_TEST_LOG") != "" {
		return cmtlog.NewTMLogger(cmtlog.NewSyncWriter(os.Stderr))
	}
	return cmtlog.NewNopLogger()
}

// devNode makes a dev home in a temporary folder and starts its node.
func devNode(t *testing.T) (dir string, n *node.Node) {
	t.Helper()
	dir = t.TempDir()
	if _, err := home.Init(home.DevOptions(dir, freeAddr(t), freeAddr(t), 150*time.Millisecond)); err != nil {
		t.Fatalf("init dev home: %v", err)
	}
	return dir, startNode(t, dir)
}

func startNode(t *testing.T, dir string) *node.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Start(ctx, dir, node.Options{Logger: testLogger(t), CheckInvariants: true})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	return n
}

// homeClient returns a client of node n that knows the keys of the home in
// dir, and waits for the node's first block.
func homeClient(t *testing.T, dir string, n *node.Node) (*client.Client, *keyring.Keyring) {
	t.Helper()
	kr, err := keyring.OpenHome(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(n.RPCURL(), kr)
	if err != nil {
		t.Fatal(err)
	}
	c.PollInterval = 30 * time.Millisecond
	waitHeight(t, c, 1)
	return c, kr
}

func waitHeight(t *testing.T, c *client.Client, h int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := c.Status(ctx)
		cancel()
		// /status reports a block once it is stored, before the app has
		// committed it; the next height starts only after that commit, so
		// queries made after seeing h+1 see the state after block h.
		if err == nil && st.LatestBlockHeight > h {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node did not reach height %d: %v", h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type snapshot map[string]string

// balances returns the exact USD balances of accounts and the supply.
func balances(t *testing.T, ctx context.Context, c *client.Client, names ...string) snapshot {
	t.Helper()
	s := snapshot{}
	for _, n := range names {
		a, err := c.Resolve(n)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Balance(ctx, a, "USD")
		if err != nil {
			t.Fatalf("balance of %s: %v", n, err)
		}
		if len(b.Balances) != 1 || b.Balances[0].Asset != "USD" {
			t.Fatalf("balance of %s: %+v", n, b)
		}
		s[n] = b.Balances[0].Amount
	}
	sup, err := c.Supply(ctx, "USD")
	if err != nil {
		t.Fatal(err)
	}
	s["supply"] = sup.Amount
	return s
}

func same(t *testing.T, what string, a, b snapshot) {
	t.Helper()
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s changed %s: %s -> %s", what, k, v, b[k])
		}
	}
}

// wantCode checks that err is a ledger rejection with the given error.
func wantCode(t *testing.T, what string, err error, want *chain.Error) *client.Error {
	t.Helper()
	e := client.AsError(err)
	if e == nil {
		t.Fatalf("%s: got %v, want code %d (%s)", what, err, want.Code, want.Reason)
	}
	if e.Code != want.Code || e.Reason != want.Reason {
		t.Fatalf("%s: got code %d (%s) %q, want %d (%s)", what, e.Code, e.Reason, e.Message, want.Code, want.Reason)
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: errors.Is(err, %s) is false", what, want.Reason)
	}
	return e
}

func TestEndToEnd(t *testing.T) {
	dir, n := devNode(t)
	c, kr := homeClient(t, dir, n)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	id, err := c.ChainID(ctx)
	if err != nil || id != home.DevChainID {
		t.Fatalf("chain id %q: %v", id, err)
	}
	alice, _ := kr.Get("alice")
	bob, _ := kr.Get("bob")
	issuer, _ := kr.Get(home.DevIssuer)
	names := []string{"alice", "bob", home.DevIssuer}

	start := balances(t, ctx, c, names...)
	if start["alice"] != "1000" || start["bob"] != "1000" || start[home.DevIssuer] != "1000000" || start["supply"] != "1002000" {
		t.Fatalf("genesis balances: %v", start)
	}
	ms, err := c.Members(ctx)
	if err != nil || len(ms) != 1 || ms[0].Name != home.DevIssuer || len(ms[0].Roles) != len(consortium.AllRoles) || ms[0].Validator == nil {
		t.Fatalf("members: %+v %v", ms, err)
	}

	// Transfers, with exact decimals.
	coin, err := c.ParseCoin(ctx, "12.5USD")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(ctx, alice.PrivKey(), bob.Address(), coin)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if res.Code != 0 || res.Height < 1 || len(res.Hash) != 64 {
		t.Fatalf("send result: %+v", res)
	}
	if to, ok := res.Attr("transfer", "to"); !ok || to != bob.Address().String() {
		t.Fatalf("transfer event: %+v", res.Events)
	}
	if s, ok := res.Attr("tx", "signer"); !ok || s != alice.Address().String() {
		t.Fatalf("tx event: %+v", res.Events)
	}
	tiny, err := c.ParseCoin(ctx, "0.000001") // plain number: USD
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, bob.PrivKey(), alice.Address(), tiny); err != nil {
		t.Fatalf("send tiny: %v", err)
	}
	got := balances(t, ctx, c, names...)
	if got["alice"] != "987.500001" || got["bob"] != "1012.499999" || got["supply"] != "1002000" {
		t.Fatalf("after transfers: %v", got)
	}
	looked, err := c.Tx(ctx, res.Hash)
	if err != nil || looked.Height != res.Height || looked.Code != 0 {
		t.Fatalf("query tx: %+v %v", looked, err)
	}
	view, err := c.DescribeTx(ctx, looked.Tx)
	if err != nil || view.Signer != alice.Address().String() || len(view.Msgs) != 1 || view.Msgs[0].Fields["amount"] != "12.5USD" {
		t.Fatalf("describe tx: %+v %v", view, err)
	}

	// Issuance by the asset issuer.
	hundred, _ := c.ParseCoin(ctx, "100USD")
	if _, err := c.Mint(ctx, issuer.PrivKey(), alice.Address(), hundred); err != nil {
		t.Fatalf("mint: %v", err)
	}
	if _, err := c.Burn(ctx, issuer.PrivKey(), hundred); err != nil {
		t.Fatalf("burn: %v", err)
	}
	got = balances(t, ctx, c, names...)
	if got["alice"] != "1087.500001" || got[home.DevIssuer] != "999900" || got["supply"] != "1002000" {
		t.Fatalf("after mint and burn: %v", got)
	}

	// Bad txs: each fails with its code and changes no balance.
	before := balances(t, ctx, c, names...)
	ten, _ := c.ParseCoin(ctx, "10USD")

	_, err = c.Send(ctx, alice.PrivKey(), bob.Address(), mustCoin(t, c, ctx, "5000USD"))
	e := wantCode(t, "insufficient funds", err, bank.ErrInsufficientFunds)
	if e.TxHash == "" || e.Height == 0 {
		t.Fatalf("insufficient funds error lacks hash/height: %+v", e)
	}

	_, err = c.ParseCoin(ctx, "5EUR")
	wantCode(t, "unknown asset (client)", err, chain.ErrUnknownAsset)
	_, err = submit(ctx, c, alice, &pb.MsgSend{From: addr(alice), To: addr(bob), Amount: &pb.Coin{Asset: "EUR", Amount: "5"}})
	wantCode(t, "unknown asset (ledger)", err, chain.ErrUnknownAsset)

	_, err = c.ParseCoin(ctx, "0.0000000000000000001USD")
	wantCode(t, "too many decimals (client)", err, chain.ErrInvalidAmount)
	_, err = submit(ctx, c, alice, &pb.MsgSend{From: addr(alice), To: addr(bob), Amount: &pb.Coin{Asset: "USD", Amount: "1.5"}})
	wantCode(t, "fractional base units (ledger)", err, chain.ErrInvalidAmount)
	_, err = c.ParseCoin(ctx, "0USD")
	wantCode(t, "zero amount (client)", err, chain.ErrInvalidAmount)

	_, err = c.Resolve("amp1notanaddress")
	wantCode(t, "bad recipient (client)", err, chain.ErrInvalidAddress)
	_, err = c.Resolve("nobody")
	wantCode(t, "unknown name (client)", err, chain.ErrInvalidAddress)
	_, err = submit(ctx, c, alice, &pb.MsgSend{From: addr(alice), To: addr(bob)[:19], Amount: bank.CoinProto(ten)})
	wantCode(t, "bad recipient (ledger)", err, chain.ErrInvalidAddress)

	_, err = c.Mint(ctx, alice.PrivKey(), alice.Address(), ten)
	wantCode(t, "mint by a non-member", err, consortium.ErrNotMember)
	_, err = submit(ctx, c, alice, &pb.MsgMint{Issuer: addr(issuer), To: addr(alice), Amount: bank.CoinProto(ten)})
	wantCode(t, "mint for the issuer signed by another", err, chain.ErrUnauthorized)
	_, err = submit(ctx, c, alice, &pb.MsgSend{From: addr(bob), To: addr(alice), Amount: bank.CoinProto(ten)})
	wantCode(t, "send from another's account", err, chain.ErrUnauthorized)

	// Replays: an old nonce, and the exact bytes of a committed tx.
	old, err := c.BuildTx(ctx, alice.PrivKey(), 0, chain.TxOptions{}, &pb.MsgSend{From: addr(alice), To: addr(bob), Amount: bank.CoinProto(ten)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.BroadcastAndWait(ctx, old)
	wantCode(t, "replayed nonce", err, chain.ErrNonceTooLow)
	_, err = c.BroadcastAndWait(ctx, looked.Tx)
	if !errors.Is(err, client.ErrTxInCache) && !errors.Is(err, chain.ErrNonceTooLow) {
		t.Fatalf("replayed tx bytes: %v", err)
	}
	next, err := c.Nonce(ctx, alice.Address())
	if err != nil {
		t.Fatal(err)
	}
	ahead, err := c.BuildTx(ctx, alice.PrivKey(), next+5, chain.TxOptions{}, &pb.MsgSend{From: addr(alice), To: addr(bob), Amount: bank.CoinProto(ten)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.BroadcastAndWait(ctx, ahead)
	wantCode(t, "nonce ahead", err, chain.ErrNonceTooHigh)
	wrongChain, err := chain.BuildTx("other-chain", next, chain.TxOptions{}, []protoMsg{&pb.MsgSend{From: addr(alice), To: addr(bob), Amount: bank.CoinProto(ten)}}, alice.PrivKey())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.BroadcastAndWait(ctx, wrongChain)
	wantCode(t, "wrong chain id", err, chain.ErrWrongChainID)

	same(t, "rejected txs", before, balances(t, ctx, c, names...))

	// Queries that fail carry codes too.
	_, err = c.Supply(ctx, "EUR")
	wantCode(t, "supply of unknown asset", err, chain.ErrUnknownAsset)
	_, err = c.Member(ctx, alice.Address())
	wantCode(t, "member query of a non-member", err, consortium.ErrNotMember)
	errs, err := c.ChainErrors(ctx)
	if err != nil || len(errs) < 20 {
		t.Fatalf("chain errors: %d %v", len(errs), err)
	}

	// A clean stop, and a restart that keeps the state and goes on.
	h := waitStatus(t, ctx, c).LatestBlockHeight
	if err := n.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	n2 := startNode(t, dir)
	c2, err := client.New(n2.RPCURL(), kr)
	if err != nil {
		t.Fatal(err)
	}
	c2.PollInterval = 30 * time.Millisecond
	waitHeight(t, c2, h+1)
	same(t, "restart", before, balances(t, ctx, c2, names...))
	if _, err := c2.Send(ctx, bob.PrivKey(), alice.Address(), ten); err != nil {
		t.Fatalf("send after restart: %v", err)
	}
	if err := n2.Stop(); err != nil {
		t.Fatalf("stop after restart: %v", err)
	}
}

func waitStatus(t *testing.T, ctx context.Context, c *client.Client) *client.Status {
	t.Helper()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func mustCoin(t *testing.T, c *client.Client, ctx context.Context, s string) chain.Coin {
	t.Helper()
	coin, err := c.ParseCoin(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	return coin
}

func addr(k *keyring.Key) []byte {
	a := k.Address()
	return a[:]
}

// submit signs raw messages with k's next nonce, skipping the client's own
// checks, so that the ledger's checks are what is tested.
func submit(ctx context.Context, c *client.Client, k *keyring.Key, msgs ...protoMsg) (*client.TxResult, error) {
	return c.Submit(ctx, k.PrivKey(), chain.TxOptions{}, msgs...)
}
