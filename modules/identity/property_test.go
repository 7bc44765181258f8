package identity

import (
	"math/rand"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

// TestRandomSequences applies thousands of random identity operations —
// valid ones and invalid ones mixed — by random signers, with block-time
// advances, and checks after each one that the module's invariants hold,
// that a rejected message changed nothing, and that every suspended agent
// is refused by the tx guard and by RequireAgent.
func TestRandomSequences(t *testing.T) {
	steps := 2000
	if testing.Short() {
		steps = 500
	}
	for seed := int64(1); seed <= 3; seed++ {
		rng := rand.New(rand.NewSource(seed))
		f := newFixture(t)
		var keys []chain.PrivKey
		for i := 0; i < 24; i++ {
			kt := chain.KeyEd25519
			if i%2 == 1 {
				kt = chain.KeyP256
			}
			keys = append(keys, newKey(t, kt, byte(10+i)))
		}
		issuers := []chain.PrivKey{f.wallet, f.issuer2}
		pick := func() chain.PrivKey { return keys[rng.Intn(len(keys))] }
		randAgent := func() string { return agentID(uint64(rng.Intn(6) + 1)) }
		accepted := 0
		for step := 0; step < steps; step++ {
			var msg proto.Message
			var signers []chain.PrivKey
			switch op := rng.Intn(12); op {
			case 0:
				p := pick()
				msg, signers = &pb.MsgRegisterPerson{Wallet: ad(f.wallet), Person: ad(p), IdvHash: hash(1)}, []chain.PrivKey{f.wallet, p}
			case 1, 2:
				p, d := pick(), pick()
				scopes := []string{Scopes[rng.Intn(len(Scopes))]}
				if rng.Intn(2) == 0 {
					scopes = append(scopes, ScopeManageDevices)
				}
				actor := p
				if rng.Intn(3) == 0 {
					actor = pick() // maybe a device of p, maybe not
				}
				msg, signers = &pb.MsgAddDevice{Person: ad(p), PubKey: d.PubKey().Proto(), Kind: DeviceKinds[rng.Intn(len(DeviceKinds))], Label: "d", Scopes: scopes}, []chain.PrivKey{actor, d}
			case 3:
				msg, signers = &pb.MsgRemoveDevice{Person: ad(pick()), Device: ad(pick())}, []chain.PrivKey{pick()}
			case 4:
				k := pick()
				iss := issuers[rng.Intn(2)]
				msg, signers = &pb.MsgOnboardAgent{Issuer: ad(iss), PubKey: k.PubKey().Proto(), Owner: ad(pick()), Builder: "b",
					Profile: &pb.Profile{Name: "a"}, Review: review(uint32(rng.Intn(3)+1), f.now.Add(time.Duration(rng.Intn(60)+1)*24*time.Hour))}, []chain.PrivKey{iss, k}
			case 5:
				iss := issuers[rng.Intn(2)]
				msg, signers = &pb.MsgAttestAgent{Issuer: ad(iss), AgentId: randAgent(), Review: review(uint32(rng.Intn(3)+1), f.now.Add(time.Duration(rng.Intn(60)+1)*24*time.Hour))}, []chain.PrivKey{iss}
			case 6:
				iss := issuers[rng.Intn(2)]
				msg, signers = &pb.MsgSuspendAgent{Issuer: ad(iss), AgentId: randAgent(), Reason: "r"}, []chain.PrivKey{iss}
			case 7:
				iss := issuers[rng.Intn(2)]
				msg, signers = &pb.MsgReinstateAgent{Issuer: ad(iss), AgentId: randAgent()}, []chain.PrivKey{iss}
			case 8:
				nk := pick()
				msg, signers = &pb.MsgRotateAgentKey{AgentId: randAgent(), NewKey: nk.PubKey().Proto()}, []chain.PrivKey{pick(), nk}
			case 9:
				m := pick()
				msg, signers = &pb.MsgRegisterMerchant{Acquirer: ad(f.acq2), Merchant: ad(m), Name: "m", Mcc: "5411", Country: "SG", Settlement: ad(m)}, []chain.PrivKey{f.acq2, m}
			case 10:
				p := pick()
				msg, signers = &pb.MsgBindAgent{Person: ad(p), AgentId: randAgent()}, []chain.PrivKey{p}
			case 11:
				msg, signers = &pb.MsgUnbindAgent{BindingId: "binding-" + string(rune('1'+rng.Intn(9)))}, []chain.PrivKey{pick()}
			}
			before := f.store.Clone()
			if err := f.apply(msg, signers...); err == nil {
				accepted++
			} else if !f.store.Equal(before) {
				t.Fatalf("seed %d step %d: rejected %s changed the state", seed, step, chain.MsgType(msg))
			} else if c := chain.CodeOf(err); c.Code == chain.ErrInternal.Code {
				t.Fatalf("seed %d step %d: internal error %v", seed, step, err)
			}
			if rng.Intn(10) == 0 {
				f.advance(time.Duration(rng.Intn(72)) * time.Hour)
			}
			f.checkInvariants()
			for n := uint64(1); n <= 6; n++ {
				a, err := f.id.Agent(f.ctx(), agentID(n))
				if err != nil || len(a.Suspensions) == 0 {
					continue
				}
				ks, _ := a.Key.PubKey()
				ctx := f.ctx()
				if f.id.GuardTx(ctxSignedBy(f, ks)) == nil {
					t.Fatalf("seed %d step %d: suspended %s passes the tx guard", seed, step, a.ID)
				}
				if _, err := f.id.RequireAgent(ctx, a.ID); err == nil {
					t.Fatalf("seed %d step %d: suspended %s passes RequireAgent", seed, step, a.ID)
				}
			}
		}
		// The sequence must exercise the module, not only its rejections.
		if accepted < steps/10 {
			t.Fatalf("seed %d: only %d of %d operations accepted", seed, accepted, steps)
		}
	}
}
