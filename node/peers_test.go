package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/mock"

	"github.com/amp-ledger/amp/app"
	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/node/home"
)

type fakeSwitch struct {
	peers   *p2p.PeerSet
	stopped []p2p.ID
}

func (f *fakeSwitch) Peers() p2p.IPeerSet { return f.peers }

func (f *fakeSwitch) StopPeerGracefully(p p2p.Peer) {
	f.stopped = append(f.stopped, p.ID())
	_ = p.Stop()
	f.peers.Remove(p)
}

func TestPeerGuardEvictsAfterGrace(t *testing.T) {
	sw := &fakeSwitch{peers: p2p.NewPeerSet()}
	member, removed, flaky := mock.NewPeer(net.IP{127, 0, 0, 1}), mock.NewPeer(net.IP{127, 0, 0, 2}), mock.NewPeer(net.IP{127, 0, 0, 3})
	for _, p := range []p2p.Peer{member, removed, flaky} {
		if err := sw.peers.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	members := map[p2p.ID]bool{member.ID(): true, removed.ID(): true, flaky.ID(): true}
	queryFails := false
	syncing := false
	g := &peerGuard{
		sw: sw,
		allowed: func(_ context.Context, id p2p.ID) (bool, string, error) {
			if id == flaky.ID() && queryFails {
				return false, "", errors.New("app unreachable")
			}
			return members[id], "peer_rejected", nil
		},
		syncing:  func() bool { return syncing },
		logger:   cmtlog.NewNopLogger(),
		rejected: map[p2p.ID]int64{},
	}
	ctx := context.Background()
	if ev := g.check(ctx, 10); len(ev) != 0 {
		t.Fatalf("members evicted: %v", ev)
	}

	// Removed at height 11: still connected at 11 and 12, gone at 13.
	delete(members, removed.ID())
	queryFails = true // a failing query never evicts
	for h := int64(11); h < 11+EvictAfterBlocks; h++ {
		if ev := g.check(ctx, h); len(ev) != 0 {
			t.Fatalf("height %d: evicted %v during the grace", h, ev)
		}
	}
	// While catching up nothing is decided.
	syncing = true
	if ev := g.check(ctx, 13); len(ev) != 0 {
		t.Fatalf("evicted while syncing: %v", ev)
	}
	syncing = false
	ev := g.check(ctx, 13)
	if len(ev) != 1 || ev[0] != removed.ID() || sw.peers.Has(removed.ID()) || removed.IsRunning() {
		t.Fatalf("evicted %v, stopped %v", ev, sw.stopped)
	}
	if !sw.peers.Has(member.ID()) || !sw.peers.Has(flaky.ID()) {
		t.Fatal("members were disconnected")
	}
	if len(g.rejected) != 0 {
		t.Fatalf("bookkeeping left: %v", g.rejected)
	}

	// A node rejected, then accepted again (re-added), starts over.
	queryFails = false
	delete(members, flaky.ID())
	g.check(ctx, 20)
	members[flaky.ID()] = true
	g.check(ctx, 21)
	delete(members, flaky.ID())
	if ev := g.check(ctx, 22); len(ev) != 0 {
		t.Fatalf("grace not restarted: %v", ev)
	}
	if ev := g.check(ctx, 24); len(ev) != 1 || ev[0] != flaky.ID() {
		t.Fatalf("flaky not evicted: %v", ev)
	}
}

// conn is one connection with a peer: a distinct peer object per
// connection, with the peer's ID.
type conn struct {
	*mock.Peer
	id p2p.ID
}

func (c *conn) ID() p2p.ID { return c.id }

func newConn(id string) *conn { return &conn{Peer: mock.NewPeer(net.IP{127, 0, 0, 1}), id: p2p.ID(id)} }

func TestPeerFilterAppLimitsReconnections(t *testing.T) {
	ledger, err := app.New(app.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	member := strings.Repeat("ab", 20)
	k, _ := chain.PrivKeyFromBytes(chain.KeyEd25519, bytes.Repeat([]byte{7}, 32))
	state, _ := json.Marshal(home.AppState{Consortium: consortium.Genesis{Members: []consortium.Member{{
		Name: "m", Address: k.PubKey().Address(), Roles: []string{consortium.RoleValidator},
		Validator: &consortium.Validator{PubKey: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)), Power: 10},
		NodeID:    member,
	}}}})
	if _, err := ledger.InitChain(context.Background(), &abci.InitChainRequest{ChainId: "t", InitialHeight: 1, AppStateBytes: state}); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	tr := newConnTracker()
	tr.now = func() time.Time { return now }
	f := &peerFilterApp{App: ledger, conns: tr}
	ask := func(path string) *abci.QueryResponse {
		t.Helper()
		res, err := f.Query(context.Background(), &abci.QueryRequest{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	accepted := func(what string) {
		t.Helper()
		if res := ask(filterIDPath + member); res.IsErr() {
			t.Fatalf("%s: refused: %s", what, res.Log)
		}
	}
	// Queries alone (as anyone may send through the RPC) change nothing.
	for i := 0; i < 10; i++ {
		accepted("query without connections")
	}
	// A long connection, then a short one: the quick redial is accepted.
	long := newConn(member)
	tr.AddPeer(long)
	now = now.Add(time.Minute)
	tr.RemovePeer(long, nil)
	accepted("after a long connection")
	short := newConn(member)
	tr.AddPeer(short)
	now = now.Add(100 * time.Millisecond)
	tr.RemovePeer(short, nil)
	accepted("after one short connection")
	// A second short one, stopped before the reactors heard of it.
	early := newConn(member)
	_ = early.Stop()
	tr.RemovePeer(early, nil)
	tr.AddPeer(early)
	if len(tr.started) != 0 {
		t.Fatalf("a stopped peer was recorded as connected: %v", tr.started)
	}
	res := ask(filterIDPath + member)
	if !res.IsErr() || res.Info != reconnectTooSoon || !strings.Contains(res.Log, "accepted in 3s") {
		t.Fatalf("a third quick connection was accepted: %+v", res)
	}
	now = now.Add(ReconnectWindow)
	accepted("after the window")
	if res := ask(filterIDPath + strings.Repeat("cd", 20)); !res.IsErr() || res.Info != "peer_rejected" {
		t.Fatalf("a non-member's node: %+v", res)
	}
	if res := ask("/params"); res.IsErr() {
		t.Fatalf("other queries pass through: %s", res.Log)
	}
}
