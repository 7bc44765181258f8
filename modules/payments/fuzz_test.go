package payments

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/module"
)

// world is every module a payment touches, over an in-memory store, with a
// member (issuer, acquirer, wallet), alice (person) with a P-256 watch that
// approves and claims, agent-1 bound to her with mandate-1, and the
// merchant shop (built by newKWorld).
type world struct {
	store                       *module.MemStore
	now                         time.Time
	routes                      []module.Route
	invariants                  []module.Invariant
	authorizers                 []module.Authorizer
	member, alice, watch, agent chain.PrivKey
	shop, stranger              chain.PrivKey
}

func key(t testing.TB, kt chain.KeyType, b byte) chain.PrivKey {
	seed := make([]byte, 32)
	seed[0], seed[31] = b, 3
	k, err := chain.PrivKeyFromBytes(kt, seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newWorld(t testing.TB) *world { return newKWorld(t).world }

func (w *world) ctx(s module.Store, signers ...chain.PrivKey) *module.Context {
	pks := make([]chain.PubKey, len(signers))
	for i, k := range signers {
		pks[i] = k.PubKey()
	}
	return module.NewContext("fuzz", 2, w.now, s, pks, w.authorizers)
}

// FuzzMsgs feeds arbitrary bytes, as any identity, delegation or payments
// message, to decoding, validation and the handler on the populated world,
// signed by every key of it. Nothing may panic; a failure is a registered
// error other than internal; a success keeps every invariant.
func FuzzMsgs(f *testing.F) {
	w := newWorld(f)
	ad := func(k chain.PrivKey) []byte { a := k.PubKey().Address(); return a[:] }
	h := make([]byte, 32)
	seeds := []proto.Message{
		&pb.MsgPay{MandateId: "mandate-1", Merchant: ad(w.shop), Amount: &pb.Coin{Asset: "USD", Amount: "1000000000000"}, OrderHash: h},
		&pb.MsgAuthorize{MandateId: "mandate-1", Merchant: ad(w.shop), Amount: &pb.Coin{Asset: "USD", Amount: "16000000000000000000"}, OrderHash: h},
		&pb.MsgCapture{TokenId: "token-1", Amount: &pb.Coin{Asset: "USD", Amount: "1"}, OrderHash: h},
		&pb.MsgSetProtectionWindow{Merchant: ad(w.shop), Seconds: 900000},
		&pb.MsgGrantMandate{Person: ad(w.alice), AgentId: "agent-1", Terms: &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS,
			ExpiresAt: w.now.Add(time.Hour).Unix(), Constraints: &pb.Constraints{Budget: &pb.Coin{Asset: "USD", Amount: "5"}, PerPeriod: "3", PeriodSeconds: 60}}},
		&pb.MsgGrantMandate{Person: ad(w.alice), AgentId: "agent-1", Terms: &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_IMMEDIATE,
			ExpiresAt: w.now.Add(time.Hour).Unix(), Checkout: &pb.Checkout{Merchant: ad(w.shop), Amount: &pb.Coin{Asset: "USD", Amount: "7"}, OrderHash: h}}},
		&pb.MsgUpdateMandate{MandateId: "mandate-1", Budget: proto.String("1"), ApprovalAbove: proto.String("")},
		&pb.MsgRevokeMandate{MandateId: "mandate-1"},
		&pb.MsgCloseMandate{MandateId: "mandate-1"},
		&pb.MsgSetWalletLimits{Person: ad(w.alice), MaxPerMandate: &pb.Coin{Asset: "USD", Amount: "9"}, MaxDaily: &pb.Coin{Asset: "USD", Amount: "10"}},
		&pb.MsgDraftMandate{Person: ad(w.alice), AgentId: "agent-1", Terms: &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS,
			ExpiresAt: w.now.Add(time.Hour).Unix(), Constraints: &pb.Constraints{Budget: &pb.Coin{Asset: "USD", Amount: "5"}, Mccs: []string{"5999"}}}},
		&pb.MsgActivateMandate{MandateId: "mandate-2"},
	}
	index := map[string]int{}
	for i, r := range w.routes {
		index[r.Type] = i
	}
	for _, m := range seeds {
		raw, err := chain.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(index[chain.MsgType(m)]), raw)
	}
	signers := []chain.PrivKey{w.agent, w.alice, w.watch, w.shop, w.member, w.stranger}
	base := w.store
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		r := w.routes[int(which)%len(w.routes)]
		m, err := r.Decode(raw)
		if err != nil {
			return
		}
		s := base.Clone()
		if err := r.Handle(w.ctx(s, signers...), m); err != nil {
			var ce *chain.Error
			if !errors.As(err, &ce) || ce.Code == chain.ErrInternal.Code {
				t.Fatalf("%s: unregistered or internal error %v", r.Type, err)
			}
			return
		}
		for _, inv := range w.invariants {
			if err := inv.Check(w.ctx(s)); err != nil {
				t.Fatalf("%s broke %s: %v", r.Type, inv.Name, err)
			}
		}
	})
}
