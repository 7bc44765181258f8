package bank

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
)

func key(t testing.TB, b byte) chain.PrivKey {
	seed := make([]byte, 32)
	seed[0] = b
	k, err := chain.PrivKeyFromBytes(chain.KeyEd25519, seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type fixture struct {
	store   *module.MemStore
	members *consortium.Module
	bank    *Keeper
	keys    []chain.PrivKey // keys[0] is the asset issuer
}

func newFixture(t testing.TB, people int) *fixture {
	f := &fixture{store: module.NewMemStore(), members: consortium.New(params.New())}
	f.bank = New(f.members)
	for i := 0; i <= people; i++ {
		f.keys = append(f.keys, key(t, byte(i+1)))
	}
	ctx := f.ctx()
	mg, _ := json.Marshal(consortium.Genesis{Members: []consortium.Member{{
		Name: "issuer", Address: f.keys[0].PubKey().Address(), Roles: []string{consortium.RoleAssetIssuer},
	}}})
	if err := f.members.InitGenesis(ctx, mg); err != nil {
		t.Fatal(err)
	}
	g := Genesis{Assets: []chain.Asset{{Symbol: "USD", Decimals: 18}, {Symbol: "EURC", Decimals: 6}}}
	for _, k := range f.keys[1:] {
		g.Balances = append(g.Balances, GenesisBalance{Address: k.PubKey().Address(), Coins: []string{"100USD", "50.5EURC"}})
	}
	bg, _ := json.Marshal(g)
	if err := f.bank.InitGenesis(ctx, bg); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) ctx(signers ...chain.PrivKey) *module.Context {
	var pks []chain.PubKey
	for _, s := range signers {
		pks = append(pks, s.PubKey())
	}
	return module.NewContext("test", 1, time.Unix(0, 0), f.store, pks, nil)
}

// apply runs one route's validation and handler like the app does, with the
// writes kept only on success.
func (f *fixture) apply(msg any, signer chain.PrivKey) error {
	for _, r := range f.bank.Routes() {
		var raw []byte
		var err error
		switch m := msg.(type) {
		case *pb.MsgSend:
			if r.Type != "amp.bank.v1.MsgSend" {
				continue
			}
			raw, err = chain.Marshal(m)
		case *pb.MsgMint:
			if r.Type != "amp.bank.v1.MsgMint" {
				continue
			}
			raw, err = chain.Marshal(m)
		case *pb.MsgBurn:
			if r.Type != "amp.bank.v1.MsgBurn" {
				continue
			}
			raw, err = chain.Marshal(m)
		}
		if err != nil {
			return err
		}
		decoded, err := r.Decode(raw)
		if err != nil {
			return err
		}
		before := snapshot(f.store)
		if err := r.Handle(f.ctx(signer), decoded); err != nil {
			f.store = before
			return err
		}
		return nil
	}
	return fmt.Errorf("no route for %T", msg)
}

func snapshot(s *module.MemStore) *module.MemStore {
	c := module.NewMemStore()
	s.Iterate(nil, func(k, v []byte) bool { c.Set(k, append([]byte(nil), v...)); return true })
	return c
}

func coin(asset, baseUnits string) *pb.Coin { return &pb.Coin{Asset: asset, Amount: baseUnits} }

func addr(k chain.PrivKey) []byte { a := k.PubKey().Address(); return a[:] }

func TestSendRules(t *testing.T) {
	f := newFixture(t, 2)
	iss, a, b := f.keys[0], f.keys[1], f.keys[2]
	cases := []struct {
		name   string
		msg    any
		signer chain.PrivKey
		want   error
	}{
		{"ok", &pb.MsgSend{From: addr(a), To: addr(b), Amount: coin("USD", "1")}, a, nil},
		{"all of it", &pb.MsgSend{From: addr(b), To: addr(a), Amount: coin("EURC", "50500000")}, b, nil},
		{"one too many", &pb.MsgSend{From: addr(b), To: addr(a), Amount: coin("EURC", "1")}, b, ErrInsufficientFunds},
		{"to self", &pb.MsgSend{From: addr(a), To: addr(a), Amount: coin("USD", "1")}, a, ErrSelfTransfer},
		{"unknown asset", &pb.MsgSend{From: addr(a), To: addr(b), Amount: coin("GBP", "1")}, a, chain.ErrUnknownAsset},
		{"lowercase asset", &pb.MsgSend{From: addr(a), To: addr(b), Amount: coin("usd", "1")}, a, chain.ErrInvalidRequest},
		{"leading zero", &pb.MsgSend{From: addr(a), To: addr(b), Amount: coin("USD", "01")}, a, chain.ErrInvalidAmount},
		{"missing amount", &pb.MsgSend{From: addr(a), To: addr(b)}, a, chain.ErrInvalidAmount},
		{"not the sender", &pb.MsgSend{From: addr(a), To: addr(b), Amount: coin("USD", "1")}, b, chain.ErrUnauthorized},
		{"mint by issuer", &pb.MsgMint{Issuer: addr(iss), To: addr(a), Amount: coin("USD", "5")}, iss, nil},
		{"mint signed by other", &pb.MsgMint{Issuer: addr(iss), To: addr(a), Amount: coin("USD", "5")}, a, chain.ErrUnauthorized},
		{"mint by non-member", &pb.MsgMint{Issuer: addr(a), To: addr(a), Amount: coin("USD", "5")}, a, consortium.ErrNotMember},
		{"burn more than held", &pb.MsgBurn{From: addr(iss), Amount: coin("USD", "1")}, iss, ErrInsufficientFunds},
		{"burn by non-member", &pb.MsgBurn{From: addr(a), Amount: coin("USD", "1")}, a, consortium.ErrNotMember},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(f.store)
			err := f.apply(tc.msg, tc.signer)
			if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil && !sameStore(before, f.store) {
				t.Error("a rejected message changed state")
			}
			if err := f.bank.checkSupply(f.ctx()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func sameStore(a, b *module.MemStore) bool {
	n, same := 0, true
	a.Iterate(nil, func(k, v []byte) bool {
		n++
		same = string(b.Get(k)) == string(v) && b.Get(k) != nil
		return same
	})
	m := 0
	b.Iterate(nil, func(_, _ []byte) bool { m++; return true })
	return same && n == m
}

// TestRandomOperationsConserveMoney drives random sends, mints and burns
// (many of them invalid) and checks after each that the supply equals the
// sum of balances, and that it moved exactly by the minted and burned amounts.
func TestRandomOperationsConserveMoney(t *testing.T) {
	f := newFixture(t, 6)
	rng := rand.New(rand.NewSource(42))
	minted, burned := map[string]chain.Amount{}, map[string]chain.Amount{}
	start := map[string]chain.Amount{"USD": f.bank.Supply(f.ctx(), "USD"), "EURC": f.bank.Supply(f.ctx(), "EURC")}
	amounts := []string{"1", "999999", "1000000000000", "50000000000000000000", "100000000000000000001", "115792089237316195423570985008687907853269984665640564039457584007913129639935"}
	for i := 0; i < 3000; i++ {
		asset := []string{"USD", "EURC", "JPY"}[rng.Intn(3)]
		amt := amounts[rng.Intn(len(amounts))]
		from, to := f.keys[rng.Intn(len(f.keys))], f.keys[rng.Intn(len(f.keys))]
		var msg any
		signer := from
		switch rng.Intn(10) {
		case 0:
			msg, signer = &pb.MsgMint{Issuer: addr(f.keys[0]), To: addr(to), Amount: coin(asset, amt)}, f.keys[0]
		case 1:
			msg = &pb.MsgBurn{From: addr(from), Amount: coin(asset, amt)}
		default:
			msg = &pb.MsgSend{From: addr(from), To: addr(to), Amount: coin(asset, amt)}
		}
		if err := f.apply(msg, signer); err == nil {
			a, _ := chain.ParseBaseUnits(amt)
			switch msg.(type) {
			case *pb.MsgMint:
				minted[asset], _ = minted[asset].Add(a)
			case *pb.MsgBurn:
				if from != f.keys[0] {
					t.Fatalf("step %d: burn by a non-member succeeded", i)
				}
				burned[asset], _ = burned[asset].Add(a)
			}
		}
		if err := f.bank.checkSupply(f.ctx()); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	for _, asset := range []string{"USD", "EURC"} {
		want, _ := start[asset].Add(minted[asset])
		want, _ = want.Sub(burned[asset])
		if got := f.bank.Supply(f.ctx(), asset); got.Cmp(want) != 0 {
			t.Errorf("%s supply %s, want genesis + minted - burned = %s", asset, got, want)
		}
	}
}
