package loadgen

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/app"
	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/payments"
	"github.com/amp-ledger/amp/node/home"
)

func TestPaySource(t *testing.T) {
	for _, kt := range []chain.KeyType{chain.KeyEd25519, chain.KeyP256} {
		t.Run(kt.String(), func(t *testing.T) {
			l, err := DerivePayLanes("test", 3, 2, kt)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := DerivePayLanes("test", 3, 2, kt)
			if again.Lanes[2].Agent.PubKey().Address() != l.Lanes[2].Agent.PubKey().Address() || again.Merchants[1] != l.Merchants[1] {
				t.Fatal("lanes are not deterministic")
			}
			if _, err := NewPaySource(PayOptions{ChainID: "c", Lanes: l, PerLane: 1}); err == nil {
				t.Fatal("signed payments without mandates")
			}
			for i := range l.Lanes {
				l.Lanes[i].Mandate = delegation.MandateID(uint64(10 + i))
			}
			src, err := NewPaySource(PayOptions{ChainID: "c", Lanes: l, StartNonces: []uint64{0, 7, 0}, PerLane: 4})
			if err != nil {
				t.Fatal(err)
			}
			orders := map[string]bool{}
			for j := range 4 {
				raw := src.Next(1)
				tx, err := chain.DecodeTx(raw)
				if err != nil {
					t.Fatal(err)
				}
				if err := tx.VerifySignatures(); err != nil {
					t.Fatal(err)
				}
				if tx.Signer().Type != kt || len(tx.Signers) != 1 {
					t.Fatalf("signer %v", tx.Signer())
				}
				p, ok := DecodePay(raw)
				if !ok {
					t.Fatal("not a payment")
				}
				agent := l.Lanes[1].Agent.PubKey().Address()
				if p.Agent != agent || p.Nonce != uint64(7+j) || p.Mandate != "mandate-11" || p.Amount != DefaultPayAmount ||
					p.Merchant != l.Merchants[(1+j)%2] || string(p.OrderHash) != string(OrderHash(agent, p.Nonce)) {
					t.Fatalf("payment %d: %+v", j, p)
				}
				if orders[string(p.OrderHash)] {
					t.Fatal("order hash used twice")
				}
				orders[string(p.OrderHash)] = true
			}
			if src.Next(1) != nil || len(src.LaneTxs(1)) != 4 {
				t.Fatal("lane not exhausted")
			}
			src.Reset()
			if src.Next(1) == nil {
				t.Fatal("reset did not restart the lane")
			}
			if src.TxSize() < 150 || src.TxSize() > 450 {
				t.Fatalf("odd payment size %d", src.TxSize())
			}
			if _, ok := DecodeTransfer(src.Next(0)); ok {
				t.Fatal("a payment decoded as a transfer")
			}
		})
	}
}

// testChain is the ledger app on a genesis file, driven block by block.
type testChain struct {
	t      testing.TB
	app    *app.App
	doc    *types.GenesisDoc
	height int64
}

func startChain(t testing.TB, genesis string) *testChain {
	return startChainWith(t, genesis, true)
}

// startChainWith is startChain with the per-block invariant checks on or
// off (benchmarks time blocks as a node runs them: without).
func startChainWith(t testing.TB, genesis string, invariants bool) *testChain {
	doc, err := types.GenesisDocFromFile(genesis)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Options{Dir: filepath.Join(t.TempDir(), "app"), CheckInvariants: invariants})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	var vals []abci.ValidatorUpdate
	for _, v := range doc.Validators {
		vals = append(vals, abci.ValidatorUpdate{Power: v.Power, PubKeyType: v.PubKey.Type(), PubKeyBytes: v.PubKey.Bytes()})
	}
	if _, err := a.InitChain(context.Background(), &abci.InitChainRequest{ChainId: doc.ChainID, Time: doc.GenesisTime,
		InitialHeight: doc.InitialHeight, AppStateBytes: doc.AppState, Validators: vals}); err != nil {
		t.Fatalf("InitChain: %v", err)
	}
	return &testChain{t: t, app: a, doc: doc}
}

// block runs the txs through CheckTx, PrepareProposal and FinalizeBlock,
// commits, and returns the results in the proposal's order with its txs.
func (c *testChain) block(txs ...[]byte) ([][]byte, []*abci.ExecTxResult) {
	c.t.Helper()
	ctx := context.Background()
	for _, tx := range txs {
		if r, _ := c.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: tx}); r.Code != 0 {
			c.t.Fatalf("CheckTx: %s", r.Log)
		}
	}
	prep, err := c.app.PrepareProposal(ctx, &abci.PrepareProposalRequest{Txs: txs, MaxTxBytes: 1 << 22})
	if err != nil {
		c.t.Fatal(err)
	}
	c.height++
	r, err := c.app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: c.height, Time: c.doc.GenesisTime.Add(time.Duration(c.height) * time.Second), Txs: prep.Txs})
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.app.Commit(ctx, &abci.CommitRequest{}); err != nil {
		c.t.Fatal(err)
	}
	return prep.Txs, r.TxResults
}

func (c *testChain) query(path string, out any) {
	c.t.Helper()
	r, err := c.app.Query(context.Background(), &abci.QueryRequest{Path: path})
	if err != nil || r.Code != 0 {
		c.t.Fatalf("query %s: %v %s", path, err, r.GetLog())
	}
	if err := json.Unmarshal(r.Value, out); err != nil {
		c.t.Fatal(err)
	}
}

// PayGenesis on an `ampd init` genesis gives a chain the ledger accepts,
// on which every lane's first payments commit with code 0 (the full Intent
// Guard and the escrow), and a person's revoke stops its agent's next one.
func TestPayGenesisInitChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	if _, err := home.Init(home.InitOptions{Dir: dir, ChainID: "amp-bench", Node: home.NodeConfig{Moniker: "bench"},
		Accounts: home.OperatorAccounts("bench", nil)}); err != nil {
		t.Fatal(err)
	}
	gen := home.GenesisFile(dir)
	const n = 6
	l, err := DerivePayLanes("genesis-test", n, 3, chain.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	// Two lanes with P-256 agents in the same genesis.
	p, err := DerivePayLanes("genesis-test-p256", 2, 1, chain.KeyP256)
	if err != nil {
		t.Fatal(err)
	}
	if err := PayGenesis(gen, l, PayGenesisOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := PayGenesis(gen, p, PayGenesisOptions{PersonCoins: "5USD", Budget: "2USD"}); err != nil {
		t.Fatal(err)
	}
	if l.Lanes[0].Mandate != "mandate-1" || l.Lanes[n-1].Mandate != "mandate-6" || p.Lanes[1].Mandate != "mandate-8" {
		t.Fatalf("mandate ids %q %q %q", l.Lanes[0].Mandate, l.Lanes[n-1].Mandate, p.Lanes[1].Mandate)
	}
	bals, err := GenesisBalances(gen)
	if err != nil {
		t.Fatal(err)
	}
	if b := bals[l.Lanes[2].Person.PubKey().Address()]; b.String() != "100000000000000000000" {
		t.Fatalf("person balance %s", b)
	}

	c := startChain(t, gen)
	src, err := NewPaySource(PayOptions{ChainID: "amp-bench", Lanes: l, PerLane: 3})
	if err != nil {
		t.Fatal(err)
	}
	psrc, err := NewPaySource(PayOptions{ChainID: "amp-bench", Lanes: p, PerLane: 1, Amount: "1000000000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var txs [][]byte
		for i := range n {
			txs = append(txs, src.Next(i))
		}
		_, rs := c.block(txs...)
		for i, r := range rs {
			if r.Code != 0 {
				t.Fatalf("payment %d: code %d %s", i, r.Code, r.Log)
			}
		}
	}
	_, rs := c.block(psrc.Next(0), psrc.Next(1))
	for i, r := range rs {
		if r.Code != 0 {
			t.Fatalf("P-256 payment %d: code %d %s", i, r.Code, r.Log)
		}
	}
	var v delegation.MandateView
	c.query("/delegation/mandate/"+l.Lanes[3].Mandate, &v)
	if v.Status != "activated" || v.Payments != 2 || v.Type != "AUTONOMOUS" || v.Person != l.Lanes[3].Person.PubKey().Address() {
		t.Fatalf("mandate after two payments: %+v", v)
	}
	var bills []payments.PaymentView
	c.query("/payments/bills/"+l.Lanes[3].Mandate, &bills)
	if len(bills) != 2 || bills[0].Status != "escrowed" {
		t.Fatalf("bills: %+v", bills)
	}

	// Lane 0's person revokes; the agent's next payment in the same block
	// (sent first) and in the next block both fail as revoked.
	revoke, err := chain.BuildTx("amp-bench", 0, chain.TxOptions{}, []proto.Message{&pb.MsgRevokeMandate{MandateId: l.Lanes[0].Mandate}}, l.Lanes[0].Person)
	if err != nil {
		t.Fatal(err)
	}
	pay3 := src.Next(0)
	order, rs := c.block(pay3, revoke, src.Next(1))
	if string(order[0]) != string(revoke) {
		t.Fatal("the proposer did not put the revoke first")
	}
	if rs[0].Code != 0 || rs[1].Code != delegation.ErrMandateRevoked.Code || rs[2].Code != 0 {
		t.Fatalf("revoke block: %d %d (%s) %d", rs[0].Code, rs[1].Code, rs[1].Log, rs[2].Code)
	}
	c.query("/delegation/mandate/"+l.Lanes[0].Mandate, &v)
	if v.Status != "revoked" || v.Payments != 2 {
		t.Fatalf("after revoke: %+v", v)
	}
}

// The revoke tally classifies payments under a revoked mandate by their
// block against the revoke's block.
func TestRevokeTally(t *testing.T) {
	tl := newRevokeTally([]RevokedMandate{{Mandate: "mandate-1"}, {Mandate: "mandate-2"}})
	rev1, rev2 := []byte("revoke-1"), []byte("revoke-2")
	tl.revokeTx[Hash(rev1)], tl.revokeTx[Hash(rev2)] = 0, 1
	pays := map[string]int{"a1": 0, "a2": 0, "a3": 0, "a4": 0, "b1": 1, "b2": 1, "b3": 1}
	for p, k := range pays {
		tl.payTx[Hash([]byte(p))] = k
	}
	revoked := TxResult{Code: delegation.ErrMandateRevoked.Code, Info: "mandate_revoked"}
	at := time.Unix(100, 0)
	block := func(h int64, txs []string, rs []TxResult) {
		cb := &CommittedBlock{Block: Block{Height: h}, At: at.Add(time.Duration(h) * time.Second)}
		for _, s := range txs {
			cb.Txs = append(cb.Txs, []byte(s))
		}
		cb.Results = rs
		tl.onBlock(cb)
	}
	block(5, []string{"a1", "other", "b1"}, []TxResult{{}, {}, {}})
	// mandate-1 revoked at 6, put first; a2 in the same block fails.
	block(6, []string{"revoke-1", "a2", "b2"}, []TxResult{{}, revoked, {}})
	// a3 committing with code 0 after the revoke is what must not happen;
	// mandate-2's revoke lands at 7, after b2 went through at 6.
	block(7, []string{"revoke-2", "a3", "b3", "a4"}, []TxResult{{}, {}, revoked, {Code: 9, Info: "nonce_too_high"}})
	for k := range tl.res {
		tl.res[k].Sent = at
	}
	r := tl.result()
	m1, m2 := r.Mandates[0], r.Mandates[1]
	if m1.Height != 6 || m1.OKBefore != 1 || m1.Rejected != 1 || m1.Slipped != 1 || len(m1.OtherFailed) != 1 || m1.Latency() != 6*time.Second {
		t.Fatalf("mandate-1: %+v", m1)
	}
	if m2.Height != 7 || m2.OKBefore != 2 || m2.Rejected != 1 || m2.Slipped != 0 {
		t.Fatalf("mandate-2: %+v", m2)
	}
	if r.Slipped != 1 || r.OKBefore != 3 || r.Rejected != 2 || r.OtherFailed != 1 || !r.Included() {
		t.Fatalf("totals: %+v", r)
	}
	if lo, hi := r.LatencyRange(); lo != 6*time.Second || hi != 7*time.Second {
		t.Fatalf("latency %s..%s", lo, hi)
	}
	if hs, _ := r.Heights(); len(hs) != 2 || hs[0] != 6 {
		t.Fatalf("heights %v", hs)
	}
	s := r.Summary()
	for _, want := range []string{"payments that slipped through after the revoke's block: 1", "included at height(s) [6 7]"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

// BenchmarkSignPay is what the load generator pays per agent payment up
// front: build and sign one MsgPay tx (ed25519 agent key).
func BenchmarkSignPay(b *testing.B) {
	l, err := DerivePayLanes("b", 1, 1, chain.KeyEd25519)
	if err != nil {
		b.Fatal(err)
	}
	ln := l.Lanes[0]
	agent := ln.Agent.PubKey().Address()
	for i := 0; b.Loop(); i++ {
		msg := &pb.MsgPay{MandateId: "mandate-1", Merchant: l.Merchants[0][:], Amount: &pb.Coin{Asset: chain.DefaultAsset, Amount: DefaultPayAmount},
			OrderHash: OrderHash(agent, uint64(i))}
		if _, err := chain.BuildTx("bench", uint64(i), chain.TxOptions{}, []proto.Message{msg}, ln.Agent); err != nil {
			b.Fatal(err)
		}
	}
}
