package identity

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/consortium"
)

// world is a fixture with alice (phone, watch, car), bob (phone), an agent
// of alice's bound to her, and a merchant.
type world struct {
	*fixture
	alice, bob, phone, watch, car, bobPhone, agent, shop chain.PrivKey
	agentID                                              string
}

func newWorld(t testing.TB) *world {
	w := &world{fixture: newFixture(t)}
	w.alice, w.bob = newKey(t, chain.KeyEd25519, 1), newKey(t, chain.KeyEd25519, 2)
	w.phone, w.watch, w.car = newKey(t, chain.KeyP256, 3), newKey(t, chain.KeyP256, 4), newKey(t, chain.KeyP256, 5)
	w.bobPhone, w.agent, w.shop = newKey(t, chain.KeyP256, 6), newKey(t, chain.KeyP256, 7), newKey(t, chain.KeyEd25519, 8)
	w.registerPerson(w.alice)
	w.registerPerson(w.bob)
	w.addDevice(w.alice, w.phone, "phone", ScopeRevoke, ScopeUpdate, ScopeManageDevices, ScopeBind)
	w.addDevice(w.alice, w.watch, "watch", ScopeApprove, ScopeRevoke)
	w.must(&pb.MsgAddDevice{Person: ad(w.alice), PubKey: w.car.PubKey().Proto(), Kind: "car", Label: "car",
		Scopes: []string{ScopeApprove}, ApproveLimit: &pb.Coin{Asset: "USD", Amount: "50000000000000000000"}}, w.alice, w.car)
	w.addDevice(w.bob, w.bobPhone, "phone", ScopeManageDevices, ScopeBind)
	w.agentID = w.onboard(w.agent, w.alice, 2)
	w.must(&pb.MsgBindAgent{Person: ad(w.alice), AgentId: w.agentID}, w.alice)
	w.must(&pb.MsgRegisterMerchant{Acquirer: ad(w.wallet), Merchant: ad(w.shop), Name: "Corner Shop", Mcc: "5411", Country: "SG", Settlement: ad(w.shop)}, w.wallet, w.shop)
	w.checkInvariants()
	return w
}

func TestWorldQueries(t *testing.T) {
	w := newWorld(t)
	ctx := w.ctx()
	v, err := w.id.Query(ctx, []string{"agent", w.agent.PubKey().Address().String()})
	if err != nil {
		t.Fatal(err)
	}
	av := v.(AgentView)
	if av.ID != "agent-1" || av.Status != StatusActive || av.AttestationLevel != 2 || av.Issuers != 1 ||
		av.Owner != w.alice.PubKey().Address() || av.Issuer != w.wallet.PubKey().Address() {
		t.Fatalf("agent view %+v", av)
	}
	v, err = w.id.Query(ctx, []string{"person", w.alice.PubKey().Address().String()})
	if err != nil {
		t.Fatal(err)
	}
	pv := v.(PersonView)
	if len(pv.Devices) != 3 || len(pv.Bindings) != 1 || pv.Bindings[0].AgentID != "agent-1" {
		t.Fatalf("person view %+v", pv)
	}
	for _, d := range pv.Devices {
		if d.Kind == "car" && (d.ApproveLimit == nil || d.ApproveLimit.BaseUnits != "50000000000000000000") {
			t.Fatalf("car limit %+v", d.ApproveLimit)
		}
	}
	v, _ = w.id.Query(ctx, []string{"whois", w.watch.PubKey().Address().String()})
	if wi := v.(Whois); wi.Kind != "device" || wi.Of != w.alice.PubKey().Address().String() {
		t.Fatalf("whois %+v", wi)
	}
	v, _ = w.id.Query(ctx, []string{"bindings", "agent-1"})
	if bs := v.([]Binding); len(bs) != 1 || bs[0].ID != "binding-1" {
		t.Fatalf("agent bindings %+v", bs)
	}
	if _, err := w.id.Query(ctx, []string{"agent", "agent-99"}); err == nil {
		t.Fatal("unknown agent answered")
	}
}

// TestDeviceScopes: the Authorizer lets a device act for its person only
// within its scopes, and never for another person.
func TestDeviceScopes(t *testing.T) {
	w := newWorld(t)
	alice := w.alice.PubKey().Address()
	cases := []struct {
		name   string
		signer chain.PrivKey
		person chain.Address
		scope  string
		want   *chain.Error // nil: allowed
	}{
		{"person's own key", w.alice, alice, ScopeSend, nil},
		{"watch approves", w.watch, alice, ScopeApprove, nil},
		{"watch revokes", w.watch, alice, ScopeRevoke, nil},
		{"watch cannot update", w.watch, alice, ScopeUpdate, ErrDeviceScope},
		{"phone updates", w.phone, alice, ScopeUpdate, nil},
		{"phone cannot approve", w.phone, alice, ScopeApprove, ErrDeviceScope},
		{"phone cannot send", w.phone, alice, ScopeSend, ErrDeviceScope},
		{"bob's phone for alice", w.bobPhone, alice, ScopeManageDevices, ErrDeviceNotOwned},
		{"agent key is no device", w.agent, alice, ScopeRevoke, chain.ErrUnauthorized},
		{"stranger", w.outsider, alice, ScopeRevoke, chain.ErrUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := w.ctx(c.signer)
			_, err := w.id.Authorize(ctx, c.person, c.scope)
			generic := ctx.Authorize(c.person, c.scope)
			if c.want == nil {
				if err != nil || generic != nil {
					t.Fatalf("refused: %v / %v", err, generic)
				}
				return
			}
			wantCode(t, err, c.want)
			if generic == nil {
				t.Fatal("ctx.Authorize allowed what identity refuses")
			}
		})
	}
}

// TestBadInput: every rejection has its code and leaves the state as it was.
func TestBadInput(t *testing.T) {
	w := newWorld(t)
	stranger := newKey(t, chain.KeyP256, 50)
	carol := newKey(t, chain.KeyEd25519, 51)
	expired := w.now.Add(-time.Hour)
	badP256 := &pb.PubKey{Type: pb.KeyType_KEY_TYPE_P256, Key: append([]byte{0x02}, bytes.Repeat([]byte{0xff}, 32)...)}
	cases := []struct {
		name    string
		msg     proto.Message
		signers []chain.PrivKey
		want    *chain.Error
	}{
		{"person registered by non-member", &pb.MsgRegisterPerson{Wallet: ad(w.outsider), Person: ad(carol), IdvHash: hash(1)}, []chain.PrivKey{w.outsider, carol}, consortium.ErrNotMember},
		{"person without consent", &pb.MsgRegisterPerson{Wallet: ad(w.wallet), Person: ad(carol), IdvHash: hash(1)}, []chain.PrivKey{w.wallet}, chain.ErrUnauthorized},
		{"person twice", &pb.MsgRegisterPerson{Wallet: ad(w.wallet), Person: ad(w.alice), IdvHash: hash(1)}, []chain.PrivKey{w.wallet, w.alice}, ErrPersonExists},
		{"agent key as person", &pb.MsgRegisterPerson{Wallet: ad(w.wallet), Person: ad(w.agent), IdvHash: hash(1)}, []chain.PrivKey{w.wallet, w.agent}, ErrKeyInUse},
		{"short idv hash", &pb.MsgRegisterPerson{Wallet: ad(w.wallet), Person: ad(carol), IdvHash: []byte{1}}, []chain.PrivKey{w.wallet, carol}, ErrInvalidIdentity},
		{"device for unknown person", &pb.MsgAddDevice{Person: ad(carol), PubKey: stranger.PubKey().Proto(), Kind: "phone", Label: "x", Scopes: []string{ScopeRevoke}}, []chain.PrivKey{carol, stranger}, ErrUnknownPerson},
		{"device key reused", &pb.MsgAddDevice{Person: ad(w.bob), PubKey: w.watch.PubKey().Proto(), Kind: "watch", Label: "x", Scopes: []string{ScopeRevoke}}, []chain.PrivKey{w.bob, w.watch}, ErrKeyInUse},
		{"device without proof of possession", &pb.MsgAddDevice{Person: ad(w.alice), PubKey: stranger.PubKey().Proto(), Kind: "phone", Label: "x", Scopes: []string{ScopeRevoke}}, []chain.PrivKey{w.alice}, chain.ErrUnauthorized},
		{"device added by another person's device", &pb.MsgAddDevice{Person: ad(w.alice), PubKey: stranger.PubKey().Proto(), Kind: "phone", Label: "x", Scopes: []string{ScopeRevoke}}, []chain.PrivKey{w.bobPhone, stranger}, ErrDeviceNotOwned},
		{"device added by device without manage_devices", &pb.MsgAddDevice{Person: ad(w.alice), PubKey: stranger.PubKey().Proto(), Kind: "phone", Label: "x", Scopes: []string{ScopeRevoke}}, []chain.PrivKey{w.watch, stranger}, ErrDeviceScope},
		{"phone grants approve it lacks", &pb.MsgAddDevice{Person: ad(w.alice), PubKey: stranger.PubKey().Proto(), Kind: "watch", Label: "x", Scopes: []string{ScopeApprove}}, []chain.PrivKey{w.phone, stranger}, ErrDeviceScope},
		{"unknown scope", &pb.MsgAddDevice{Person: ad(w.alice), PubKey: stranger.PubKey().Proto(), Kind: "phone", Label: "x", Scopes: []string{"everything"}}, []chain.PrivKey{w.alice, stranger}, ErrDeviceScope},
		{"unknown kind", &pb.MsgAddDevice{Person: ad(w.alice), PubKey: stranger.PubKey().Proto(), Kind: "toaster", Label: "x", Scopes: []string{ScopeRevoke}}, []chain.PrivKey{w.alice, stranger}, ErrInvalidIdentity},
		{"malformed p256 key", &pb.MsgAddDevice{Person: ad(w.alice), PubKey: badP256, Kind: "phone", Label: "x", Scopes: []string{ScopeRevoke}}, []chain.PrivKey{w.alice}, chain.ErrInvalidPubKey},
		{"label with control chars", &pb.MsgAddDevice{Person: ad(w.alice), PubKey: stranger.PubKey().Proto(), Kind: "phone", Label: "a\x00b", Scopes: []string{ScopeRevoke}}, []chain.PrivKey{w.alice, stranger}, ErrInvalidIdentity},
		{"approve limit in unknown asset", &pb.MsgAddDevice{Person: ad(w.alice), PubKey: stranger.PubKey().Proto(), Kind: "car", Label: "x", Scopes: []string{ScopeApprove}, ApproveLimit: &pb.Coin{Asset: "XYZ", Amount: "1"}}, []chain.PrivKey{w.alice, stranger}, chain.ErrUnknownAsset},
		{"remove another person's device", &pb.MsgRemoveDevice{Person: ad(w.bob), Device: ad(w.watch)}, []chain.PrivKey{w.bob}, ErrDeviceNotOwned},
		{"remove with watch (no manage_devices)", &pb.MsgRemoveDevice{Person: ad(w.alice), Device: ad(w.phone)}, []chain.PrivKey{w.watch}, ErrDeviceScope},
		{"remove unknown device", &pb.MsgRemoveDevice{Person: ad(w.alice), Device: ad(stranger)}, []chain.PrivKey{w.alice}, ErrUnknownDevice},
		{"onboard by non-issuer", &pb.MsgOnboardAgent{Issuer: ad(w.acq2), PubKey: stranger.PubKey().Proto(), Owner: ad(w.bob), Builder: "b", Profile: &pb.Profile{Name: "n"}, Review: review(1, w.now.Add(time.Hour))}, []chain.PrivKey{w.acq2, stranger}, consortium.ErrMissingRole},
		{"onboard by non-member", &pb.MsgOnboardAgent{Issuer: ad(w.outsider), PubKey: stranger.PubKey().Proto(), Owner: ad(w.bob), Builder: "b", Profile: &pb.Profile{Name: "n"}, Review: review(1, w.now.Add(time.Hour))}, []chain.PrivKey{w.outsider, stranger}, consortium.ErrNotMember},
		{"onboard with expired review", &pb.MsgOnboardAgent{Issuer: ad(w.wallet), PubKey: stranger.PubKey().Proto(), Owner: ad(w.bob), Builder: "b", Profile: &pb.Profile{Name: "n"}, Review: review(1, expired)}, []chain.PrivKey{w.wallet, stranger}, ErrAttestationExpired},
		{"onboard with review too far ahead", &pb.MsgOnboardAgent{Issuer: ad(w.wallet), PubKey: stranger.PubKey().Proto(), Owner: ad(w.bob), Builder: "b", Profile: &pb.Profile{Name: "n"}, Review: review(1, w.now.Add(500*24*time.Hour))}, []chain.PrivKey{w.wallet, stranger}, ErrInvalidReview},
		{"level 3 without all items", &pb.MsgOnboardAgent{Issuer: ad(w.wallet), PubKey: stranger.PubKey().Proto(), Owner: ad(w.bob), Builder: "b", Profile: &pb.Profile{Name: "n"}, Review: &pb.Review{Items: levelItems[1], Level: 3, ExpiresAt: w.now.Add(time.Hour).Unix()}}, []chain.PrivKey{w.wallet, stranger}, ErrInvalidReview},
		{"level 4", &pb.MsgOnboardAgent{Issuer: ad(w.wallet), PubKey: stranger.PubKey().Proto(), Owner: ad(w.bob), Builder: "b", Profile: &pb.Profile{Name: "n"}, Review: &pb.Review{Items: levelItems[3], Level: 4, ExpiresAt: w.now.Add(time.Hour).Unix()}}, []chain.PrivKey{w.wallet, stranger}, ErrInvalidReview},
		{"onboard a device key", &pb.MsgOnboardAgent{Issuer: ad(w.wallet), PubKey: w.watch.PubKey().Proto(), Owner: ad(w.bob), Builder: "b", Profile: &pb.Profile{Name: "n"}, Review: review(1, w.now.Add(time.Hour))}, []chain.PrivKey{w.wallet, w.watch}, ErrKeyInUse},
		{"onboard without agent key signature", &pb.MsgOnboardAgent{Issuer: ad(w.wallet), PubKey: stranger.PubKey().Proto(), Owner: ad(w.bob), Builder: "b", Profile: &pb.Profile{Name: "n"}, Review: review(1, w.now.Add(time.Hour))}, []chain.PrivKey{w.wallet}, chain.ErrUnauthorized},
		{"attest by non-issuer", &pb.MsgAttestAgent{Issuer: ad(w.acq2), AgentId: w.agentID, Review: review(2, w.now.Add(time.Hour))}, []chain.PrivKey{w.acq2}, consortium.ErrMissingRole},
		{"attest expired", &pb.MsgAttestAgent{Issuer: ad(w.issuer2), AgentId: w.agentID, Review: review(2, expired)}, []chain.PrivKey{w.issuer2}, ErrAttestationExpired},
		{"attest unknown agent", &pb.MsgAttestAgent{Issuer: ad(w.issuer2), AgentId: "agent-42", Review: review(2, w.now.Add(time.Hour))}, []chain.PrivKey{w.issuer2}, ErrUnknownAgent},
		{"attest malformed agent id", &pb.MsgAttestAgent{Issuer: ad(w.issuer2), AgentId: "agent-007", Review: review(2, w.now.Add(time.Hour))}, []chain.PrivKey{w.issuer2}, ErrUnknownAgent},
		{"attest signed by someone else", &pb.MsgAttestAgent{Issuer: ad(w.issuer2), AgentId: w.agentID, Review: review(2, w.now.Add(time.Hour))}, []chain.PrivKey{w.wallet}, chain.ErrUnauthorized},
		{"suspend by non-issuer", &pb.MsgSuspendAgent{Issuer: ad(w.acq2), AgentId: w.agentID, Reason: "fraud"}, []chain.PrivKey{w.acq2}, consortium.ErrMissingRole},
		{"suspend without reason", &pb.MsgSuspendAgent{Issuer: ad(w.issuer2), AgentId: w.agentID}, []chain.PrivKey{w.issuer2}, ErrInvalidIdentity},
		{"reinstate not suspended", &pb.MsgReinstateAgent{Issuer: ad(w.issuer2), AgentId: w.agentID}, []chain.PrivKey{w.issuer2}, ErrNotSuspended},
		{"rotate by non-owner", &pb.MsgRotateAgentKey{AgentId: w.agentID, NewKey: stranger.PubKey().Proto()}, []chain.PrivKey{w.bob, stranger}, chain.ErrUnauthorized},
		{"rotate to a used key", &pb.MsgRotateAgentKey{AgentId: w.agentID, NewKey: w.watch.PubKey().Proto()}, []chain.PrivKey{w.alice, w.watch}, ErrKeyInUse},
		{"rotate without new key signature", &pb.MsgRotateAgentKey{AgentId: w.agentID, NewKey: stranger.PubKey().Proto()}, []chain.PrivKey{w.alice}, chain.ErrUnauthorized},
		{"merchant by non-acquirer", &pb.MsgRegisterMerchant{Acquirer: ad(w.issuer2), Merchant: ad(carol), Name: "m", Mcc: "5411", Country: "SG", Settlement: ad(carol)}, []chain.PrivKey{w.issuer2, carol}, consortium.ErrMissingRole},
		{"merchant twice", &pb.MsgRegisterMerchant{Acquirer: ad(w.acq2), Merchant: ad(w.shop), Name: "m", Mcc: "5411", Country: "SG", Settlement: ad(w.shop)}, []chain.PrivKey{w.acq2, w.shop}, ErrMerchantExists},
		{"merchant bad mcc", &pb.MsgRegisterMerchant{Acquirer: ad(w.acq2), Merchant: ad(carol), Name: "m", Mcc: "54a1", Country: "SG", Settlement: ad(carol)}, []chain.PrivKey{w.acq2, carol}, ErrInvalidIdentity},
		{"merchant bad country", &pb.MsgRegisterMerchant{Acquirer: ad(w.acq2), Merchant: ad(carol), Name: "m", Mcc: "5411", Country: "sg", Settlement: ad(carol)}, []chain.PrivKey{w.acq2, carol}, ErrInvalidIdentity},
		{"merchant is a person", &pb.MsgRegisterMerchant{Acquirer: ad(w.acq2), Merchant: ad(w.bob), Name: "m", Mcc: "5411", Country: "SG", Settlement: ad(w.bob)}, []chain.PrivKey{w.acq2, w.bob}, ErrKeyInUse},
		{"merchant without consent", &pb.MsgRegisterMerchant{Acquirer: ad(w.acq2), Merchant: ad(carol), Name: "m", Mcc: "5411", Country: "SG", Settlement: ad(carol)}, []chain.PrivKey{w.acq2}, chain.ErrUnauthorized},
		{"bind twice", &pb.MsgBindAgent{Person: ad(w.alice), AgentId: w.agentID}, []chain.PrivKey{w.alice}, ErrAlreadyBound},
		{"bind unknown agent", &pb.MsgBindAgent{Person: ad(w.bob), AgentId: "agent-9"}, []chain.PrivKey{w.bob}, ErrUnknownAgent},
		{"bind for another person", &pb.MsgBindAgent{Person: ad(w.alice), AgentId: w.agentID}, []chain.PrivKey{w.bobPhone}, ErrDeviceNotOwned},
		{"bind by watch (no bind scope)", &pb.MsgBindAgent{Person: ad(w.alice), AgentId: w.agentID}, []chain.PrivKey{w.watch}, ErrDeviceScope},
		{"bind unregistered person", &pb.MsgBindAgent{Person: ad(carol), AgentId: w.agentID}, []chain.PrivKey{carol}, ErrUnknownPerson},
		{"unbind someone else's binding", &pb.MsgUnbindAgent{BindingId: "binding-1"}, []chain.PrivKey{w.bob}, ErrBindingNotOwned},
		{"unbind unknown binding", &pb.MsgUnbindAgent{BindingId: "binding-7"}, []chain.PrivKey{w.alice}, ErrUnknownBinding},
		{"unbind malformed id", &pb.MsgUnbindAgent{BindingId: "b1"}, []chain.PrivKey{w.alice}, ErrUnknownBinding},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := w.store.Clone()
			err := w.apply(c.msg, c.signers...)
			wantCode(t, err, c.want)
			if !w.store.Equal(before) {
				t.Fatal("a rejected message changed the state")
			}
		})
	}
}

func TestSuspensionStopsEverything(t *testing.T) {
	w := newWorld(t)
	w.must(&pb.MsgSuspendAgent{Issuer: ad(w.issuer2), AgentId: w.agentID, Reason: "card testing", EvidenceHash: hash(3)}, w.issuer2)
	// Any tx the agent's key signs fails in the same block, whatever it does.
	wantCode(t, w.apply(&pb.MsgUnbindAgent{BindingId: "binding-1"}, w.agent), ErrAgentSuspended)
	wantCode(t, w.id.GuardTx(w.ctx(w.agent)), ErrAgentSuspended)
	if _, err := w.id.RequireAgent(w.ctx(), w.agentID); err == nil {
		t.Fatal("suspended agent passes RequireAgent")
	}
	wantCode(t, w.apply(&pb.MsgSuspendAgent{Issuer: ad(w.issuer2), AgentId: w.agentID, Reason: "again"}, w.issuer2), ErrAlreadySuspended)
	// A second issuer's suspension stands after the first lifts its own.
	w.must(&pb.MsgSuspendAgent{Issuer: ad(w.wallet), AgentId: w.agentID, Reason: "review"}, w.wallet)
	w.must(&pb.MsgReinstateAgent{Issuer: ad(w.issuer2), AgentId: w.agentID}, w.issuer2)
	wantCode(t, w.id.GuardTx(w.ctx(w.agent)), ErrAgentSuspended)
	w.must(&pb.MsgReinstateAgent{Issuer: ad(w.wallet), AgentId: w.agentID}, w.wallet)
	if err := w.id.GuardTx(w.ctx(w.agent)); err != nil {
		t.Fatalf("reinstated agent still blocked: %v", err)
	}
	a, _ := w.id.Agent(w.ctx(), w.agentID)
	if a.SuspensionCount != 2 || a.Status(w.now.Unix()) != StatusActive {
		t.Fatalf("agent %+v", a)
	}
	// The person can still unbind while the agent is suspended.
	w.must(&pb.MsgSuspendAgent{Issuer: ad(w.issuer2), AgentId: w.agentID, Reason: "again"}, w.issuer2)
	w.must(&pb.MsgUnbindAgent{BindingId: "binding-1"}, w.phone)
	w.checkInvariants()
}

func TestAttestationLifecycle(t *testing.T) {
	w := newWorld(t)
	// A second, independent issuer attests at level 3 for 30 days.
	w.must(&pb.MsgAttestAgent{Issuer: ad(w.issuer2), AgentId: w.agentID, Review: review(3, w.now.Add(30*24*time.Hour))}, w.issuer2)
	a, _ := w.id.Agent(w.ctx(), w.agentID)
	if l, n := a.Level(w.now.Unix()); l != 3 || n != 2 {
		t.Fatalf("level %d from %d issuers, want 3 from 2", l, n)
	}
	// After 31 days only the first (level 2) attestation stands.
	w.advance(31 * 24 * time.Hour)
	a, _ = w.id.Agent(w.ctx(), w.agentID)
	if l, n := a.Level(w.now.Unix()); l != 2 || n != 1 {
		t.Fatalf("level %d from %d issuers after expiry, want 2 from 1", l, n)
	}
	// After a year nothing stands: the agent is expired and may not act.
	w.advance(340 * 24 * time.Hour)
	wantCode(t, w.apply(&pb.MsgBindAgent{Person: ad(w.bob), AgentId: w.agentID}, w.bob), ErrAttestationExpired)
	v, _ := w.id.Query(w.ctx(), []string{"agent", w.agentID})
	if s := v.(AgentView).Status; s != StatusExpired {
		t.Fatalf("status %s, want expired", s)
	}
	// A renewal brings it back.
	w.must(&pb.MsgAttestAgent{Issuer: ad(w.wallet), AgentId: w.agentID, Review: review(1, w.now.Add(300*24*time.Hour))}, w.wallet)
	w.must(&pb.MsgBindAgent{Person: ad(w.bob), AgentId: w.agentID}, w.bobPhone)
	if got := w.observed[len(w.observed)-1]; got.AgentID != w.agentID || len(got.Attestations) != 2 {
		t.Fatalf("observer saw %+v", got)
	}
	w.checkInvariants()
}

func TestRotateAndRemove(t *testing.T) {
	w := newWorld(t)
	newAgentKey := newKey(t, chain.KeyEd25519, 60)
	w.must(&pb.MsgRotateAgentKey{AgentId: w.agentID, NewKey: newAgentKey.PubKey().Proto()}, w.alice, newAgentKey)
	if _, err := w.id.AgentByKey(w.ctx(), w.agent.PubKey().Address()); err == nil {
		t.Fatal("old key still resolves")
	}
	a, err := w.id.AgentByKey(w.ctx(), newAgentKey.PubKey().Address())
	if err != nil || a.KeyRotations != 1 {
		t.Fatalf("rotated agent %+v, %v", a, err)
	}
	// The old key is free again; a lost phone is removed from the watch? No:
	// the watch lacks manage_devices. The phone removes itself.
	wantCode(t, w.apply(&pb.MsgRemoveDevice{Person: ad(w.alice), Device: ad(w.phone)}, w.watch), ErrDeviceScope)
	w.must(&pb.MsgRemoveDevice{Person: ad(w.alice), Device: ad(w.watch)}, w.phone)
	if _, err := w.id.Authorize(w.ctx(w.watch), w.alice.PubKey().Address(), ScopeApprove); err == nil {
		t.Fatal("removed watch still approves")
	}
	// The removed key may be registered again, to bob.
	w.addDevice(w.bob, w.watch, "watch", ScopeBind)
	// The agent unbinds itself with its new key; its owner could too.
	w.must(&pb.MsgUnbindAgent{BindingId: "binding-1"}, newAgentKey)
	w.checkInvariants()
}

func TestGenesis(t *testing.T) {
	f := newFixture(t)
	alice, phone, agent, shop := newKey(t, chain.KeyEd25519, 1), newKey(t, chain.KeyP256, 2), newKey(t, chain.KeyEd25519, 3), newKey(t, chain.KeyEd25519, 4)
	g := Genesis{
		Persons: []GenesisPerson{{Address: alice.PubKey().Address(), Wallet: f.wallet.PubKey().Address(), IDVHash: hash(1)}},
		Devices: []GenesisDevice{{Person: alice.PubKey().Address(), Key: KeyOf(phone.PubKey()), Kind: "phone", Label: "phone", Scopes: []string{ScopeApprove}, ApproveLimit: "25USD"}},
		Agents: []GenesisAgent{{Issuer: f.wallet.PubKey().Address(), Key: KeyOf(agent.PubKey()), Owner: alice.PubKey().Address(), Builder: "b",
			Profile: Profile{Name: "helper"}, Review: GenesisReview{Items: levelItems[1], Level: 1, ExpiresAt: t0.Add(time.Hour).Unix()}}},
		Merchants: []GenesisMerchant{{Acquirer: f.wallet.PubKey().Address(), Address: shop.PubKey().Address(), Name: "shop", MCC: "5999", Country: "US", Settlement: shop.PubKey().Address()}},
		Bindings:  []GenesisBinding{{Person: alice.PubKey().Address(), AgentKey: agent.PubKey().Address()}},
	}
	raw, _ := jsonMarshal(g)
	if err := f.id.InitGenesis(f.ctx(), raw); err != nil {
		t.Fatal(err)
	}
	f.checkInvariants()
	if _, err := f.id.BindingOf(f.ctx(), alice.PubKey().Address(), "agent-1"); err != nil {
		t.Fatal(err)
	}
	// A bad entry names itself.
	g2 := Genesis{Merchants: []GenesisMerchant{{Acquirer: f.issuer2.PubKey().Address(), Address: shop.PubKey().Address(), Name: "x", MCC: "5999", Country: "US", Settlement: shop.PubKey().Address()}}}
	raw, _ = jsonMarshal(g2)
	err := newFixture(t).id.InitGenesis(f.ctx(), raw)
	if err == nil || !strings.Contains(err.Error(), "merchant 0") {
		t.Fatalf("bad genesis: %v", err)
	}
}
