package app

import (
	"context"
	"strconv"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

const benchBlockTxs = 2000

// benchBlocks signs b.N/benchBlockTxs+1 blocks of transfers from alice to
// many recipients, so that each tx writes fresh keys as real load does.
func benchBlocks(b *testing.B, c *testChain) [][][]byte { return benchBlocksFrom(b, c, c.alice) }

// benchBlocksFrom is benchBlocks with another funded sender.
func benchBlocksFrom(b *testing.B, c *testChain, sender chain.PrivKey) [][][]byte {
	alice := sender.PubKey().Address()
	var blocks [][][]byte
	for n := 0; n < b.N; {
		var txs [][]byte
		for i := 0; i < benchBlockTxs && n < b.N; i, n = i+1, n+1 {
			to := testKey(b, byte(n%200+10)).PubKey().Address()
			msg := &pb.MsgSend{From: alice[:], To: to[:], Amount: &pb.Coin{Asset: "USD", Amount: "1000000000000"}}
			txs = append(txs, c.tx(sender, msg))
		}
		blocks = append(blocks, txs)
	}
	_ = proto.Message(nil)
	return blocks
}

func runBlocks(b *testing.B, c *testChain, blocks [][][]byte, warm bool) {
	if warm {
		for _, txs := range blocks {
			for _, tx := range txs {
				if r, _ := c.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx}); r.Code != 0 {
					b.Fatal(r.Log)
				}
			}
		}
	}
	b.ResetTimer()
	for _, txs := range blocks {
		r := c.block(txs...)
		for _, res := range r.TxResults {
			if res.Code != 0 {
				b.Fatalf("tx failed: %s", res.Log)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkBlockTransfersColdSigs: FinalizeBlock + Commit of blocks of
// transfers whose signatures the node has not seen (verified in parallel).
func BenchmarkBlockTransfersColdSigs(b *testing.B) {
	c := newTestChain(b)
	c.app.invOnce = false
	c.block()
	runBlocks(b, c, benchBlocks(b, c), false)
}

// BenchmarkBlockTransfersWarmSigs: the same after CheckTx saw every tx, as
// on a validator whose mempool received them.
func BenchmarkBlockTransfersWarmSigs(b *testing.B) {
	c := newTestChain(b)
	c.app.invOnce = false
	c.block()
	runBlocks(b, c, benchBlocks(b, c), true)
}

// BenchmarkBlockTransfersP256ColdSigs is BenchmarkBlockTransfersColdSigs
// with a P-256 sender, as a phone's secure enclave or a passkey signs: the
// figure to compare with ed25519's in the same run.
func BenchmarkBlockTransfersP256ColdSigs(b *testing.B) {
	c := newTestChain(b)
	c.app.invOnce = false
	phone := p256Key(b, 1)
	c.block(c.tx(c.issuer, mintMsg(b, c.issuer.PubKey().Address(), phone.PubKey().Address(), "1000000")))
	runBlocks(b, c, benchBlocksFrom(b, c, phone), false)
}

// BenchmarkSignatureSchemes runs the same blocks of transfers, signatures
// unseen by the node, once from an ed25519 account and once from a P-256
// device key, and reports both rates and their ratio: what a fleet of
// phones and passkeys costs the block pipeline next to ed25519 accounts.
func BenchmarkSignatureSchemes(b *testing.B) {
	rate := func(sender func(c *testChain) chain.PrivKey) float64 {
		c := newTestChain(b)
		c.app.invOnce = false
		s := sender(c)
		c.block(c.tx(c.issuer, mintMsg(b, c.issuer.PubKey().Address(), s.PubKey().Address(), "1000000")))
		blocks := benchBlocksFrom(b, c, s)
		start := time.Now()
		for _, txs := range blocks {
			for _, res := range c.block(txs...).TxResults {
				if res.Code != 0 {
					b.Fatalf("tx failed: %s", res.Log)
				}
			}
		}
		return float64(b.N) / time.Since(start).Seconds()
	}
	ed := rate(func(*testChain) chain.PrivKey { return testKey(b, 250) })
	p := rate(func(*testChain) chain.PrivKey { return p256Key(b, 77) })
	b.ReportMetric(ed, "ed25519-tx/s")
	b.ReportMetric(p, "p256-tx/s")
	b.ReportMetric(p/ed, "p256/ed25519")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkCheckTx: admission of a new transfer, signature included.
func BenchmarkCheckTx(b *testing.B) {
	c := newTestChain(b)
	c.block()
	blocks := benchBlocks(b, c)
	b.ResetTimer()
	for _, txs := range blocks {
		for _, tx := range txs {
			if r, _ := c.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx}); r.Code != 0 {
				b.Fatal(r.Log)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

var _ = chain.MaxTxBytes

// BenchmarkPaymentsVsTransfers executes blocks of agent payments (MsgPay:
// the whole Intent Guard, escrow, bills) and blocks of plain transfers,
// signatures already verified by CheckTx as on a validator, and reports
// both rates and their ratio: the state machine's share of the cost of an
// agent payment.
func BenchmarkPaymentsVsTransfers(b *testing.B) {
	rate := func(c *testChain, blocks [][][]byte) float64 {
		for _, txs := range blocks {
			for _, tx := range txs {
				if r, _ := c.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx}); r.Code != 0 {
					b.Fatal(r.Log)
				}
			}
		}
		start := time.Now()
		for _, txs := range blocks {
			for _, res := range c.block(txs...).TxResults {
				if res.Code != 0 {
					b.Fatalf("tx failed: %s", res.Log)
				}
			}
		}
		return float64(b.N) / time.Since(start).Seconds()
	}
	tc := newTestChain(b)
	tc.app.invOnce = false
	tc.block()
	transfers := rate(tc, benchBlocks(b, tc))

	w := newShopWorldB(b)
	w.app.invOnce = false
	r := w.block(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgGrantMandate{Person: addr(w.alice), AgentId: "agent-1", Terms: &pb.Terms{
		Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, ExpiresAt: genesisTime.Add(30 * 24 * time.Hour).Unix(),
		Constraints: &pb.Constraints{Budget: usd(b, "1000"), Merchants: [][]byte{addr(w.shop)}}}}))
	mustOK(b, r)
	id := createdID(b, r.TxResults[0])
	var blocks [][][]byte
	for n := 0; n < b.N; {
		var txs [][]byte
		for i := 0; i < benchBlockTxs && n < b.N; i, n = i+1, n+1 {
			txs = append(txs, w.pay(b, id, "0.000001", "bench-"+strconv.Itoa(n)))
		}
		blocks = append(blocks, txs)
	}
	pays := rate(w.testChain, blocks)
	b.ReportMetric(transfers, "transfer-tx/s")
	b.ReportMetric(pays, "pay-tx/s")
	b.ReportMetric(pays/transfers, "pay/transfer")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkPaymentsWithRule executes blocks of agent payments to a merchant
// without a rule, then to one whose payment hook runs max-amount.wasm (a
// fresh sandbox instance per payment, one state read), and reports both
// rates and their ratio.
func BenchmarkPaymentsWithRule(b *testing.B) {
	rate := func(withRule bool) float64 {
		w := newShopWorldB(b)
		w.app.invOnce = false
		r := w.block(w.txBy([]chain.PrivKey{w.alice}, &pb.MsgGrantMandate{Person: addr(w.alice), AgentId: "agent-1", Terms: &pb.Terms{
			Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, ExpiresAt: genesisTime.Add(30 * 24 * time.Hour).Unix(),
			Constraints: &pb.Constraints{Budget: usd(b, "1000"), Merchants: [][]byte{addr(w.shop)}}}}))
		mustOK(b, r)
		id := createdID(b, r.TxResults[0])
		if withRule {
			r := w.block(w.txBy([]chain.PrivKey{w.shop}, &pb.MsgDeployRule{Merchant: addr(w.shop), Code: exampleRule(b, "max-amount.wasm")}))
			mustOK(b, r)
			mustOK(b, w.block(w.txBy([]chain.PrivKey{w.shop}, &pb.MsgBindRule{Merchant: addr(w.shop), RuleId: createdID(b, r.TxResults[0]), Hook: pb.Hook_HOOK_PAYMENT})))
		}
		var blocks [][][]byte
		for n := 0; n < b.N; {
			var txs [][]byte
			for i := 0; i < benchBlockTxs && n < b.N; i, n = i+1, n+1 {
				txs = append(txs, w.pay(b, id, "0.000001", "bench-"+strconv.Itoa(n)))
			}
			blocks = append(blocks, txs)
		}
		for _, txs := range blocks {
			for _, tx := range txs {
				if r, _ := w.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx}); r.Code != 0 {
					b.Fatal(r.Log)
				}
			}
		}
		start := time.Now()
		for _, txs := range blocks {
			for _, res := range w.block(txs...).TxResults {
				if res.Code != 0 {
					b.Fatalf("tx failed: %s", res.Log)
				}
			}
		}
		return float64(b.N) / time.Since(start).Seconds()
	}
	plain := rate(false)
	ruled := rate(true)
	b.ReportMetric(plain, "pay-tx/s")
	b.ReportMetric(ruled, "pay+rule-tx/s")
	b.ReportMetric(ruled/plain, "with/without")
	b.ReportMetric(0, "ns/op")
}
