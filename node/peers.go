package node

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/types"

	"github.com/amp-ledger/amp/app"
)

// EvictAfterBlocks is how many committed blocks a connected peer stays after
// the ledger's peer filter first rejects it. A removed validator still
// belongs to the validator set of the next block (CometBFT applies an update
// decided at height H from H+2), so cutting it off at once could leave the
// others without two thirds of that block's power.
const EvictAfterBlocks = 2

// peerSwitch is the part of CometBFT's p2p.Switch the guard uses.
type peerSwitch interface {
	Peers() p2p.IPeerSet
	StopPeerGracefully(p2p.Peer)
}

// peerGuard disconnects connected peers that the ledger's peer filter
// rejects. CometBFT's filter_peers only screens new connections; membership
// changes by vote, so after every committed block the guard asks the same
// question (/p2p/filter/id/<id>) about each connected peer.
//
// A peer is stopped gracefully, which CometBFT does not follow with a
// redial even for a persistent peer; its reconnections, and our own dials
// of its address, are refused by the filter.
type peerGuard struct {
	sw      peerSwitch
	allowed func(ctx context.Context, id p2p.ID) (ok bool, reason string, err error)
	syncing func() bool
	logger  cmtlog.Logger

	// rejected maps a peer to the height at which the filter first
	// rejected it while connected.
	rejected map[p2p.ID]int64
}

// check runs after the block at height is committed, and returns the peers
// it disconnected.
func (g *peerGuard) check(ctx context.Context, height int64) []p2p.ID {
	if g.syncing != nil && g.syncing() {
		// The state is historical while catching up: membership as of an old
		// block says nothing about the peers we need now.
		return nil
	}
	var evicted []p2p.ID
	seen := map[p2p.ID]bool{}
	for _, p := range g.sw.Peers().Copy() {
		id := p.ID()
		seen[id] = true
		ok, reason, err := g.allowed(ctx, id)
		if err != nil {
			g.logger.Debug("Peer filter query failed", "peer", id, "err", err)
			continue
		}
		if ok {
			delete(g.rejected, id)
			continue
		}
		first, known := g.rejected[id]
		if !known {
			g.rejected[id] = height
			g.logger.Info("Peer's node is no longer a consortium member's; disconnecting it once its validator, if any, has left the set",
				"peer", id, "height", height, "evict_at", height+EvictAfterBlocks, "reason", reason)
			first = height
		}
		if height < first+EvictAfterBlocks || !p.IsRunning() {
			continue
		}
		g.logger.Info("Disconnecting peer: its node is no longer a consortium member's", "peer", id, "height", height, "reason", reason)
		g.sw.StopPeerGracefully(p)
		delete(g.rejected, id)
		evicted = append(evicted, id)
	}
	for id := range g.rejected {
		if !seen[id] {
			delete(g.rejected, id)
		}
	}
	return evicted
}

// appFilter asks the ledger itself (not through peerFilterApp, whose limit
// is for new connections) the question CometBFT's peer filter asks.
func appFilter(q interface {
	Query(context.Context, *abci.QueryRequest) (*abci.QueryResponse, error)
},
) func(context.Context, p2p.ID) (bool, string, error) {
	return func(ctx context.Context, id p2p.ID) (bool, string, error) {
		res, err := q.Query(ctx, &abci.QueryRequest{Path: filterIDPath + string(id)})
		if err != nil {
			return false, "", err
		}
		return !res.IsErr(), res.Log, nil
	}
}

// guardSubscriber names the guard's event bus subscription.
const guardSubscriber = "amp-peer-guard"

// runPeerGuard checks the peers after every new block until ctx ends. It
// returns a function that waits for it to finish.
func runPeerGuard(ctx context.Context, bus *types.EventBus, g *peerGuard) (wait func(), err error) {
	sub, err := bus.Subscribe(ctx, guardSubscriber, types.EventQueryNewBlock, 16)
	if err != nil {
		return nil, fmt.Errorf("peer guard: subscribe to new blocks: %w", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case msg := <-sub.Out():
				ev, ok := msg.Data().(types.EventDataNewBlock)
				if !ok || ev.Block == nil {
					continue
				}
				// Skip to the newest block if several queued up.
				for drained := false; !drained; {
					select {
					case m := <-sub.Out():
						if e, ok := m.Data().(types.EventDataNewBlock); ok && e.Block != nil {
							ev = e
						}
					default:
						drained = true
					}
				}
				qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				g.check(qctx, ev.Block.Height)
				cancel()
			case <-sub.Canceled():
				if ctx.Err() != nil {
					return
				}
				// Dropped (e.g. out of capacity): subscribe again.
				g.logger.Debug("Peer guard subscription canceled; resubscribing", "err", sub.Err())
				for {
					s, err := bus.Subscribe(ctx, guardSubscriber, types.EventQueryNewBlock, 16)
					if err == nil {
						sub = s
						break
					}
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Second):
					}
				}
			}
		}
	}()
	return wg.Wait, nil
}

// ReconnectWindow and MaxShortConnections bound reconnections (see
// peerFilterApp): a connection that lasted less than ReconnectWindow is
// short, and after MaxShortConnections short connections with a peer within
// the last ReconnectWindow the next one is refused. The window is below
// CometBFT's 5 s redial interval, so that CometBFT's own retry gets through.
const (
	ReconnectWindow     = 3 * time.Second
	MaxShortConnections = 2
)

const filterIDPath = "/p2p/filter/id/"

// connTracker is a reactor without channels that watches connections come
// and go, to tell short-lived ones.
type connTracker struct {
	*p2p.BaseReactor
	now func() time.Time

	mu      sync.Mutex
	started map[p2p.Peer]time.Time
	short   map[p2p.ID][]time.Time // when short connections ended, oldest first
}

func newConnTracker() *connTracker {
	t := &connTracker{now: time.Now, started: map[p2p.Peer]time.Time{}, short: map[p2p.ID][]time.Time{}}
	t.BaseReactor = p2p.NewBaseReactor("AMPConnTracker", t)
	return t
}

// AddPeer notes when a connection started. CometBFT may stop a peer that
// fails at once while the reactors are still being told about it; such a
// peer is no longer running here, and RemovePeer has counted it already.
func (t *connTracker) AddPeer(p p2p.Peer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.IsRunning() {
		t.started[p] = t.now()
	}
}

// RemovePeer counts a connection that ended within ReconnectWindow of its
// start (or before AddPeer saw it) as short.
func (t *connTracker) RemovePeer(p p2p.Peer, _ any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	start, seen := t.started[p]
	delete(t.started, p)
	if seen && now.Sub(start) >= ReconnectWindow {
		return
	}
	t.prune(now)
	t.short[p.ID()] = append(t.short[p.ID()], now)
}

func (t *connTracker) prune(now time.Time) {
	for id, ends := range t.short {
		for len(ends) > 0 && now.Sub(ends[0]) >= ReconnectWindow {
			ends = ends[1:]
		}
		if len(ends) == 0 {
			delete(t.short, id)
		} else {
			t.short[id] = ends
		}
	}
}

// tooSoon reports whether a new connection with id is to be refused, and
// how long until it is not.
func (t *connTracker) tooSoon(id p2p.ID) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.prune(now)
	ends := t.short[id]
	if len(ends) < MaxShortConnections {
		return false, 0
	}
	return true, ends[len(ends)-MaxShortConnections].Add(ReconnectWindow).Sub(now)
}

// peerFilterApp is the ledger as CometBFT's connections see it when
// filter_peers is on. It answers the peer filter like the ledger, but
// refuses a peer whose last MaxShortConnections connections each lasted less
// than ReconnectWindow and ended within it.
//
// Without it, a removed member's node loops: it still sees the members'
// nodes as members (its own filter accepts them), each member refuses it
// right after the handshake, CometBFT takes the dropped connection for a
// peer error and redials a persistent peer at once: hundreds of handshakes
// a second against every member. With it, the removed node refuses its own
// quick redials, and CometBFT falls back to redialling every 5 to 8 seconds.
// A connection that lived longer is redialled at once, as before, and so is
// one that did not (e.g. after two nodes dialled each other at the same
// time). The decision rests on connections the switch saw, not on filter
// queries, which anyone may also send through the RPC's abci_query.
type peerFilterApp struct {
	*app.App
	conns *connTracker
}

// Query answers as the ledger does, limiting reconnections as above.
func (f *peerFilterApp) Query(ctx context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	res, err := f.App.Query(ctx, req)
	if err != nil || res.IsErr() || !strings.HasPrefix(req.Path, filterIDPath) {
		return res, err
	}
	id := p2p.ID(strings.ToLower(strings.TrimPrefix(req.Path, filterIDPath)))
	if refuse, wait := f.conns.tooSoon(id); refuse {
		return &abci.QueryResponse{Code: app.ErrPeerRejected.Code, Info: reconnectTooSoon, Codespace: "amp", Height: res.Height,
			Log: fmt.Sprintf("%s: the last %d connections with %s each lasted less than %s; the next is accepted in %s",
				reconnectTooSoon, MaxShortConnections, id, ReconnectWindow, wait.Round(time.Millisecond))}, nil
	}
	return res, nil
}

// reconnectTooSoon is the reason peerFilterApp gives, with the ledger's
// peer_rejected code: it is the node's answer, not a registered chain error.
const reconnectTooSoon = "reconnect_too_soon"
