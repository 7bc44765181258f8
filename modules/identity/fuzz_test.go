package identity

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

// FuzzMsgs feeds arbitrary bytes, as any of the module's message types, to
// decoding, validation and the handler on a populated state, signed by
// every key of the world. Nothing may panic, a failure must be a
// registered error (never internal), and a success keeps the invariants.
func FuzzMsgs(f *testing.F) {
	w := newWorld(f)
	seeds := []proto.Message{
		&pb.MsgRegisterPerson{Wallet: ad(w.wallet), Person: ad(w.shop), IdvHash: hash(1)},
		&pb.MsgAddDevice{Person: ad(w.alice), PubKey: w.agent.PubKey().Proto(), Kind: "phone", Label: "x", Scopes: []string{ScopeRevoke}},
		&pb.MsgRemoveDevice{Person: ad(w.alice), Device: ad(w.watch)},
		&pb.MsgOnboardAgent{Issuer: ad(w.wallet), PubKey: w.bob.PubKey().Proto(), Owner: ad(w.bob), Builder: "b", Profile: &pb.Profile{Name: "n"}, Review: review(1, t0.Add(time.Hour))},
		&pb.MsgAttestAgent{Issuer: ad(w.issuer2), AgentId: "agent-1", Review: review(3, t0.Add(time.Hour))},
		&pb.MsgSuspendAgent{Issuer: ad(w.issuer2), AgentId: "agent-1", Reason: "r"},
		&pb.MsgReinstateAgent{Issuer: ad(w.issuer2), AgentId: "agent-1"},
		&pb.MsgRotateAgentKey{AgentId: "agent-1", NewKey: w.outsider.PubKey().Proto()},
		&pb.MsgRegisterMerchant{Acquirer: ad(w.acq2), Merchant: ad(w.outsider), Name: "m", Mcc: "5411", Country: "SG", Settlement: ad(w.outsider)},
		&pb.MsgBindAgent{Person: ad(w.bob), AgentId: "agent-1"},
		&pb.MsgUnbindAgent{BindingId: "binding-1"},
	}
	for i, m := range seeds {
		raw, err := chain.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), raw)
	}
	routes := w.id.Routes()
	signers := []chain.PrivKey{w.alice, w.bob, w.phone, w.watch, w.car, w.bobPhone, w.agent, w.shop, w.wallet, w.issuer2, w.acq2, w.outsider}
	base := w.store.Clone()
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		r := routes[int(which)%len(routes)]
		m, err := r.Decode(raw)
		if err != nil {
			return
		}
		w.t, w.store = t, base.Clone()
		ctx := w.ctxOn(w.store, signers...)
		err = r.Handle(ctx, m)
		if err != nil {
			var ce *chain.Error
			if !errors.As(err, &ce) || ce.Code == chain.ErrInternal.Code {
				t.Fatalf("%s: unregistered or internal error %v", r.Type, err)
			}
			return
		}
		w.checkInvariants()
	})
}
