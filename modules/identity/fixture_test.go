package identity

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
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
)

// t0 is the fixture's first block time.
var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func newKey(t testing.TB, kt chain.KeyType, seed byte) chain.PrivKey {
	b := make([]byte, 32)
	b[0], b[31] = seed, 1
	k, err := chain.PrivKeyFromBytes(kt, b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixture is one identity module over an in-memory store, with members:
// wallet (kya_issuer, acquirer, asset_issuer), issuer2 (kya_issuer) and
// acq2 (acquirer only); outsider is no member.
type fixture struct {
	t        testing.TB
	store    *module.MemStore
	params   *params.Keeper
	members  *consortium.Module
	bank     *bank.Keeper
	id       *Keeper
	height   int64
	now      time.Time
	observed []AgentFacts

	wallet, issuer2, acq2, outsider chain.PrivKey
}

type recorder struct{ f *fixture }

func (r recorder) AgentChanged(_ *module.Context, af AgentFacts) error {
	r.f.observed = append(r.f.observed, af)
	return nil
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{t: t, store: module.NewMemStore(), height: 1, now: t0}
	f.params = params.New()
	f.members = consortium.New(f.params)
	f.bank = bank.New(f.members)
	f.id = New(f.params, f.members, f.bank)
	f.id.SetObserver(recorder{f})
	f.wallet, f.issuer2, f.acq2, f.outsider = newKey(t, chain.KeyEd25519, 200), newKey(t, chain.KeyEd25519, 201), newKey(t, chain.KeyEd25519, 202), newKey(t, chain.KeyEd25519, 203)
	ctx := f.ctx()
	mg, _ := json.Marshal(consortium.Genesis{Members: []consortium.Member{
		{Name: "wallet", Address: f.wallet.PubKey().Address(), Roles: []string{consortium.RoleKYAIssuer, consortium.RoleAcquirer, consortium.RoleAssetIssuer}},
		{Name: "issuer2", Address: f.issuer2.PubKey().Address(), Roles: []string{consortium.RoleKYAIssuer}},
		{Name: "acq2", Address: f.acq2.PubKey().Address(), Roles: []string{consortium.RoleAcquirer}},
	}})
	if err := f.members.InitGenesis(ctx, mg); err != nil {
		t.Fatal(err)
	}
	bg, _ := json.Marshal(bank.Genesis{Assets: []chain.Asset{{Symbol: "USD", Decimals: 18}}})
	if err := f.bank.InitGenesis(ctx, bg); err != nil {
		t.Fatal(err)
	}
	if err := f.params.InitGenesis(ctx, json.RawMessage("{}")); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) ctx(signers ...chain.PrivKey) *module.Context {
	return f.ctxOn(f.store, signers...)
}

func (f *fixture) ctxOn(s module.Store, signers ...chain.PrivKey) *module.Context {
	pks := make([]chain.PubKey, len(signers))
	for i, k := range signers {
		pks[i] = k.PubKey()
	}
	return module.NewContext("test", f.height, f.now, s, pks, []module.Authorizer{f.id.Authorizer()})
}

// advance moves the block clock.
func (f *fixture) advance(d time.Duration) {
	f.height++
	f.now = f.now.Add(d)
}

// apply runs a message like the app: encode, decode and validate (CheckTx),
// the tx guard, then the handler on a copy of the state that replaces the
// state only on success.
func (f *fixture) apply(msg proto.Message, signers ...chain.PrivKey) error {
	raw, err := chain.Marshal(msg)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, r := range f.id.Routes() {
		if r.Type != chain.MsgType(msg) {
			continue
		}
		m, err := r.Decode(raw)
		if err != nil {
			return err
		}
		work := f.store.Clone()
		ctx := f.ctxOn(work, signers...)
		if err := f.id.GuardTx(ctx); err != nil {
			return err
		}
		if err := r.Handle(ctx, m); err != nil {
			return err
		}
		f.store = work
		return nil
	}
	f.t.Fatalf("no route for %s", chain.MsgType(msg))
	return nil
}

func (f *fixture) must(msg proto.Message, signers ...chain.PrivKey) {
	f.t.Helper()
	if err := f.apply(msg, signers...); err != nil {
		f.t.Fatalf("%s: %v", chain.MsgType(msg), err)
	}
}

func (f *fixture) checkInvariants() {
	f.t.Helper()
	for _, inv := range f.id.Invariants() {
		if err := inv.Check(f.ctx()); err != nil {
			f.t.Fatalf("invariant %s: %v", inv.Name, err)
		}
	}
}

func ad(k chain.PrivKey) []byte {
	a := k.PubKey().Address()
	return a[:]
}

func hash(b byte) []byte {
	h := make([]byte, 32)
	h[0] = b
	return h
}

func (f *fixture) registerPerson(p chain.PrivKey) {
	f.t.Helper()
	f.must(&pb.MsgRegisterPerson{Wallet: ad(f.wallet), Person: ad(p), IdvHash: hash(1)}, f.wallet, p)
}

func (f *fixture) addDevice(person, dev chain.PrivKey, kind string, scopes ...string) {
	f.t.Helper()
	f.must(&pb.MsgAddDevice{Person: ad(person), PubKey: dev.PubKey().Proto(), Kind: kind, Label: "my " + kind, Scopes: scopes}, person, dev)
}

func review(level uint32, expires time.Time) *pb.Review {
	return &pb.Review{Items: levelItems[level], Level: level, ExpiresAt: expires.Unix(), EvidenceHash: hash(9)}
}

func (f *fixture) onboard(agentKey, owner chain.PrivKey, level uint32) string {
	f.t.Helper()
	f.must(&pb.MsgOnboardAgent{Issuer: ad(f.wallet), PubKey: agentKey.PubKey().Proto(), Owner: ad(owner), Builder: "Helper Labs",
		Profile: &pb.Profile{Name: "helper", Model: "m1", Version: "1.0", Capabilities: []string{"shopping"}},
		Review:  review(level, f.now.Add(365*24*time.Hour))}, f.wallet, agentKey)
	a, err := f.id.AgentByKey(f.ctx(), agentKey.PubKey().Address())
	if err != nil {
		f.t.Fatal(err)
	}
	return a.ID
}

// wantCode asserts that err carries the registered error want.
func wantCode(t testing.TB, err error, want *chain.Error) {
	t.Helper()
	if err == nil {
		t.Fatalf("succeeded, want %s", want.Reason)
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v (code %d), want %s (%d)", err, chain.CodeOf(err).Code, want.Reason, want.Code)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// ctxSignedBy is a context whose only signer is the public key k.
func ctxSignedBy(f *fixture, k chain.PubKey) *module.Context {
	return module.NewContext("test", f.height, f.now, f.store, []chain.PubKey{k}, nil)
}
