package node_test

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/types"

	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/node"
	"github.com/amp-ledger/amp/node/client"
	"github.com/amp-ledger/amp/node/home"
)

// TestRemovedMemberNodeIsDisconnected runs two nodes in this process with
// filter_peers on: A, the dev chain's validator (member issuer), and B, a
// full node registered as the node of member partner. Each lists the other
// as a persistent peer. Once partner is removed by vote, A must drop B and
// keep refusing it, without redialling it and without flooding its log.
func TestRemovedMemberNodeIsDisconnected(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two nodes")
	}
	const blockTime = 150 * time.Millisecond
	dirA, dirB := t.TempDir(), t.TempDir()
	p2pA, p2pB := freeAddr(t), freeAddr(t)

	opts := home.DevOptions(dirA, freeAddr(t), p2pA, blockTime)
	opts.Node.FilterPeers = true
	opts.Accounts = append(opts.Accounts, home.Account{Name: "partner", Roles: []string{consortium.RoleKYAIssuer}})
	resA, err := home.Init(opts)
	if err != nil {
		t.Fatal(err)
	}
	peerA, err := home.PeerAddress(resA.NodeID, p2pA)
	if err != nil {
		t.Fatal(err)
	}
	cB, err := home.DefaultConfig(dirB, home.NodeConfig{Moniker: "b", RPCListen: freeAddr(t), P2PListen: p2pB,
		BlockTime: blockTime, PersistentPeers: peerA, FilterPeers: true})
	if err != nil {
		t.Fatal(err)
	}
	nfB, err := home.WriteNodeFiles(cB)
	if err != nil {
		t.Fatal(err)
	}
	peerB, err := home.PeerAddress(nfB.NodeID, p2pB)
	if err != nil {
		t.Fatal(err)
	}
	// partner's node is B; both nodes share the genesis, and A dials B too.
	state, err := home.ReadAppState(resA.Genesis)
	if err != nil {
		t.Fatal(err)
	}
	for i := range state.Consortium.Members {
		if state.Consortium.Members[i].Name == "partner" {
			state.Consortium.Members[i].NodeID = nfB.NodeID
		}
	}
	doc, err := home.NewGenesis(resA.Genesis.ChainID, resA.Genesis.GenesisTime, *state)
	if err != nil {
		t.Fatal(err)
	}
	cA, err := home.LoadConfig(dirA)
	if err != nil {
		t.Fatal(err)
	}
	cA.P2P.PersistentPeers = peerB
	if err := home.WriteConfig(cA); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*types.GenesisDoc{doc} {
		if err := home.WriteGenesis(cA, c); err != nil {
			t.Fatal(err)
		}
		if err := home.WriteGenesis(cB, c); err != nil {
			t.Fatal(err)
		}
	}

	logA, logB := &syncBuffer{}, &syncBuffer{}
	a := startNodeLogged(t, dirA, logA)
	b := startNodeLogged(t, dirB, logB)
	idB := p2p.ID(nfB.NodeID)
	idA := p2p.ID(resA.NodeID)

	c, kr := homeClient(t, dirA, a)
	cb, err := client.New(b.RPCURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, cb, 2) // B follows the chain through A
	waitFor(t, 20*time.Second, "A connected to B", func() bool { return a.Comet().Switch().Peers().Has(idB) })

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	issuer, _ := kr.Get(home.DevIssuer)
	partner, _ := kr.Get("partner")
	id, _, err := c.Propose(ctx, issuer.PrivKey(), "remove partner", client.RemoveMemberAction(partner.Address()))
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	if p, err := c.Proposal(ctx, id); err != nil || p.Status != consortium.StatusVoting {
		t.Fatalf("1 of 2 votes must not pass: %+v %v", p, err)
	}
	if !a.Comet().Switch().Peers().Has(idB) {
		t.Fatal("B was disconnected while partner is a member")
	}
	if _, err := c.Vote(ctx, partner.PrivKey(), id, true); err != nil {
		t.Fatalf("vote: %v", err)
	}
	p, err := c.WaitProposal(ctx, id, nil)
	if err != nil || p.Status != consortium.StatusExecuted {
		t.Fatalf("proposal: %+v %v", p, err)
	}
	removedAt := p.DecidedHeight

	waitFor(t, 20*time.Second, "A disconnected B", func() bool { return !a.Comet().Switch().Peers().Has(idB) })
	m := regexp.MustCompile(`Disconnecting peer: its node is no longer a consortium member's.*peer=` + string(idB) + `.*height=(\d+)`).FindStringSubmatch(logA.String())
	if m == nil {
		t.Fatalf("no eviction logged by A:\n%s", tail(logA.String(), 40))
	}
	if h, _ := strconv.ParseInt(m[1], 10, 64); h < removedAt+node.EvictAfterBlocks {
		t.Fatalf("B evicted at height %d, removal executed at %d: the grace of %d blocks was not kept", h, removedAt, node.EvictAfterBlocks)
	}

	// B redials A (A is its persistent peer); A must refuse it every time,
	// and must not dial B itself, although B is A's persistent peer.
	mark, markB := len(logA.String()), len(logB.String())
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		if a.Comet().Switch().Peers().Has(idB) {
			t.Fatal("A accepted B again after its member was removed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	after := logA.String()[mark:]
	var aboutB []string
	for _, line := range strings.Split(after, "\n") {
		if strings.Contains(line, string(idB)) {
			aboutB = append(aboutB, line)
		}
	}
	afterB := logB.String()[markB:]
	// Each connection B makes to A and A drops is a peer error on B's side.
	churn := strings.Count(afterB, "Stopping peer for error")
	t.Logf("in 8s after the eviction: A logged %d lines about B; B's connection to A dropped %d times", len(aboutB), churn)
	if os.Getenv("AMP_TEST_LOG") != "" {
		t.Logf("A after the eviction:\n%s\nB:\n%s", after, afterB)
	}
	if len(aboutB) > 5 {
		t.Fatalf("A logs too much about the refused node (%d lines in 8s):\n%s", len(aboutB), strings.Join(aboutB, "\n"))
	}
	if churn > 8 {
		t.Fatalf("B reconnects to A in a loop (%d dropped connections in 8s):\n%s", churn, tail(afterB, 40))
	}
	if strings.Contains(after, "Dialing peer") && strings.Contains(after, string(idB)) && strings.Contains(after, "Reconnecting to peer") {
		t.Fatalf("A redials B:\n%s", tail(after, 40))
	}
	if b.Comet().Switch().Peers().Has(idA) && a.Comet().Switch().Peers().Size() != 0 {
		t.Logf("B still lists A as a peer (its own view), A has %d peers", a.Comet().Switch().Peers().Size())
	}
	// A's chain goes on.
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, c, st.LatestBlockHeight+2)
}

func startNodeLogged(t *testing.T, dir string, w *syncBuffer) *node.Node {
	t.Helper()
	logger, err := node.NewLogger(w, "plain", "info")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Start(ctx, dir, node.Options{Logger: logger})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	return n
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
