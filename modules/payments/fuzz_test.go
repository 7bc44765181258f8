package payments

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
	"github.com/amp-ledger/amp/modules/trust"
)

// world is every module a payment touches, over an in-memory store, with a
// member (issuer, acquirer, wallet), alice (person) with a P-256 watch that
// approves, agent-1 bound to her with mandate-1, and the merchant shop.
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

func newWorld(t testing.TB) *world {
	w := &world{store: module.NewMemStore(), now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
		member: key(t, chain.KeyEd25519, 1), alice: key(t, chain.KeyEd25519, 2), watch: key(t, chain.KeyP256, 3),
		agent: key(t, chain.KeyP256, 4), shop: key(t, chain.KeyEd25519, 5), stranger: key(t, chain.KeyEd25519, 6)}
	ps := params.New()
	members := consortium.New(ps)
	bk := bank.New(members)
	id := identity.New(ps, members, bk)
	tr := trust.New(ps, id)
	id.SetObserver(tr)
	dl := delegation.New(ps, bk, id, tr)
	pay := New(ps, bk, id, dl, tr)
	w.authorizers = []module.Authorizer{id.Authorizer()}
	a := func(k chain.PrivKey) chain.Address { return k.PubKey().Address() }
	gen := []struct {
		m module.HasGenesis
		v any
	}{
		{ps, map[string]any{}},
		{members, consortium.Genesis{Members: []consortium.Member{{Name: "m", Address: a(w.member), Roles: consortium.AllRoles[1:]}}}},
		{bk, bank.Genesis{Assets: []chain.Asset{{Symbol: "USD", Decimals: 18}}, Balances: []bank.GenesisBalance{{Address: a(w.alice), Coins: []string{"1000USD"}}}}},
		{id, identity.Genesis{
			Persons: []identity.GenesisPerson{{Address: a(w.alice), Wallet: a(w.member), IDVHash: make([]byte, 32)}},
			Devices: []identity.GenesisDevice{{Person: a(w.alice), Key: identity.KeyOf(w.watch.PubKey()), Kind: "watch", Label: "w", Scopes: []string{identity.ScopeApprove, identity.ScopeRevoke}}},
			Agents: []identity.GenesisAgent{{Issuer: a(w.member), Key: identity.KeyOf(w.agent.PubKey()), Owner: a(w.alice), Builder: "b",
				Profile: identity.Profile{Name: "helper"}, Review: identity.GenesisReview{Items: identity.LevelItems(2), Level: 2, ExpiresAt: w.now.Add(300 * 24 * time.Hour).Unix()}}},
			Merchants: []identity.GenesisMerchant{{Acquirer: a(w.member), Address: a(w.shop), Name: "shop", MCC: "5999", Country: "SG", Settlement: a(w.shop)}},
			Bindings:  []identity.GenesisBinding{{Person: a(w.alice), AgentKey: a(w.agent)}},
		}},
		{dl, delegation.Genesis{Mandates: []delegation.GenesisMandate{{Person: a(w.alice), AgentKey: a(w.agent), Budget: "50USD",
			MaxPayment: "20USD", ApprovalAbove: "15USD", Merchants: []chain.Address{a(w.shop)}, ExpiresAt: w.now.Add(24 * time.Hour).Unix()}}}},
	}
	ctx := w.ctx(w.store)
	for _, g := range gen {
		raw, _ := json.Marshal(g.v)
		if err := g.m.InitGenesis(ctx, raw); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []any{id, dl, pay} {
		w.routes = append(w.routes, m.(module.HasMsgs).Routes()...)
	}
	for _, m := range []module.HasInvariants{bk, id, dl, pay} {
		w.invariants = append(w.invariants, m.Invariants()...)
	}
	return w
}

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
