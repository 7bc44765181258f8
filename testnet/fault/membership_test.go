package fault

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/node/client"
	"github.com/amp-ledger/amp/node/keyring"
	"github.com/amp-ledger/amp/testnet/harness"
)

// Indices of the nodes of TestMembership.
const (
	joiner   = 4 // node4: joins by vote as the fifth validator
	outsider = 5 // never a member
	removed  = 3 // node3: removed by vote
)

// refusedWindow is how long a refused node is watched: more than one
// CometBFT redial interval (5 s) plus the node's reconnect window (3 s).
const refusedWindow = 9 * time.Second

// TestMembership checks that membership, changed by vote, decides who
// validates and who may connect (see the package comment).
func TestMembership(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a network of ampd processes")
	}
	start := time.Now()
	n := harness.New(t, harness.Options{Configure: fastRounds, SpareSlots: 2})
	if nd := n.AddNode("node4"); nd.Index != joiner {
		t.Fatalf("node4 has index %d", nd.Index)
	}
	if nd := n.AddNode("outsider"); nd.Index != outsider {
		t.Fatalf("outsider has index %d", nd.Index)
	}
	members := []int{0, 1, 2, 3}
	n.StartAll()
	n.WaitHeight(2, startTimeout, members...)

	step(t, n, "non_member_node_cannot_join", func(t *testing.T, n *harness.Network) {
		// node4 and the outsider dial every member (their persistent
		// peers); members refuse them at the handshake.
		watchRefused(t, n, members, []int{joiner, outsider}, refusedWindow)
		for _, i := range []int{joiner, outsider} {
			if h, err := n.Height(i); err != nil || h != 0 {
				t.Fatalf("%s synced to height %d (%v) although no member accepts it", n.Nodes[i].Name, h, err)
			}
		}
		// The refusals come from the peer filter, not from a dial that
		// never happened.
		id := n.Nodes[outsider].NodeID
		refused := false
		for _, i := range members {
			b, _ := os.ReadFile(n.Nodes[i].Log)
			for _, line := range strings.Split(string(b), "\n") {
				refused = refused || (strings.Contains(line, id) && strings.Contains(line, "peer_rejected"))
			}
		}
		if !refused {
			t.Fatalf("no member logged refusing the outsider %s with peer_rejected", id)
		}
	})

	step(t, n, "non_member_cannot_propose_or_vote", func(t *testing.T, n *harness.Network) {
		ctx, cancel := contextFor(time.Minute)
		defer cancel()
		out := key(t, n, outsider)
		c0 := n.Node(0).Client()
		_, _, err := c0.Propose(ctx, out.PrivKey(), "outsider's idea", client.SetParamAction(consortium.ParamVotingPeriod, "5"))
		if !errors.Is(err, consortium.ErrNotMember) {
			t.Fatalf("proposal by a non-member: got %v, want not_member", err)
		}
		id, _, err := c0.Propose(ctx, key(t, n, 0).PrivKey(), "longer votes", client.SetParamAction(consortium.ParamVotingPeriod, "900"))
		if err != nil {
			t.Fatalf("proposal by node0: %v", err)
		}
		if _, err := n.Node(1).Client().Vote(ctx, out.PrivKey(), id, true); !errors.Is(err, consortium.ErrNotMember) {
			t.Fatalf("vote by a non-member: got %v, want not_member", err)
		}
		p, err := c0.Proposal(ctx, id)
		if err != nil || len(p.Yes) != 1 || len(p.No) != 0 || p.Status != consortium.StatusVoting {
			t.Fatalf("the non-member's vote changed the proposal: %+v %v", p, err)
		}
		vote(t, n, id, 1, 2) // 3 of 4: passes, so no proposal stays open
	})

	step(t, n, "fifth_validator_added_by_vote_signs", func(t *testing.T, n *harness.Network) {
		ctx, cancel := contextFor(time.Minute)
		defer cancel()
		consKey, err := client.ReadConsensusKeyFile(n.ConsensusKeyFile(joiner))
		if err != nil {
			t.Fatal(err)
		}
		nodeID, err := client.ReadNodeIDFile(n.NodeKeyFile(joiner))
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := n.Node(0).Client().Propose(ctx, key(t, n, 0).PrivKey(), "node4 joins", client.AddMemberAction(client.NewMember{
			Name: "node4", Address: n.Nodes[joiner].Address, Roles: []string{consortium.RoleValidator, consortium.RoleAcquirer},
			ConsensusKey: consKey, Power: 10, NodeID: nodeID,
		}))
		if err != nil {
			t.Fatalf("propose node4: %v", err)
		}
		p := vote(t, n, id, 1, 2)
		t.Logf("node4 added at the end of block %d", p.DecidedHeight)
		n.WaitFor(progressWindow, "node4 in the validator set", func() (bool, error) { return n.HasValidator(0, joiner) })
		n.WaitFor(progressWindow, "a member to accept node4 as a peer", func() (bool, error) { return anyPeer(n, members, joiner) })
		n.WaitCaughtUp(joiner, catchUpTimeout)
		n.WaitFor(progressWindow, "node4 to sign a block", func() (bool, error) {
			h, err := n.Height(0)
			if err != nil {
				return false, err
			}
			return n.Signed(0, h, joiner)
		})
		st, err := n.Status(joiner)
		if err != nil || st.ValidatorInfo.VotingPower != 10 {
			t.Fatalf("node4's own status: %+v %v", st, err)
		}
		vs, err := n.Validators(0)
		if err != nil || len(vs) != 5 {
			t.Fatalf("validator set: %d validators, %v", len(vs), err)
		}
		// The outsider is still refused.
		watchRefused(t, n, []int{0, 1, 2, 3, joiner}, []int{outsider}, time.Second)
		n.CheckConsistent(0, 1, 2, 3, joiner)
	})

	step(t, n, "removed_member_stops_counting_and_is_cut_off", func(t *testing.T, n *harness.Network) {
		ctx, cancel := contextFor(time.Minute)
		defer cancel()
		id, _, err := n.Node(0).Client().Propose(ctx, key(t, n, 0).PrivKey(), "node3 leaves", client.RemoveMemberAction(n.Nodes[removed].Address))
		if err != nil {
			t.Fatalf("propose removing node3: %v", err)
		}
		p := vote(t, n, id, 1, 2, joiner) // 4 of 5
		t.Logf("node3 removed at the end of block %d", p.DecidedHeight)
		stay := []int{0, 1, 2, joiner}
		n.WaitFor(progressWindow, "node3 out of the validator set", func() (bool, error) {
			in, err := n.HasValidator(0, removed)
			return !in, err
		})
		n.WaitFor(progressWindow, "every member to disconnect node3", func() (bool, error) {
			in, err := anyPeer(n, stay, removed)
			return !in, err
		})
		watchRefused(t, n, stay, []int{removed}, refusedWindow)

		// Cut off, node3 makes no progress while the others do.
		h3 := height(t, n, removed)
		n.WaitHeight(h3+5, progressWindow, stay...)
		if got := height(t, n, removed); got > h3+1 {
			t.Fatalf("node3 went from height %d to %d after being cut off", h3, got)
		}

		// It no longer counts: with node2 down too, 30 of the remaining 40
		// power signs (were node3 still counted, 30 of 50 would halt).
		n.Kill(2)
		h := height(t, n, 0)
		n.WaitHeight(h+5, progressWindow, 0, 1, joiner)
		n.Start(2)
		n.WaitCaughtUp(2, catchUpTimeout)

		// Its key can no longer propose.
		_, _, err = n.Node(0).Client().Propose(ctx, key(t, n, removed).PrivKey(), "back", client.SetParamAction(consortium.ParamVotingPeriod, "5"))
		if !errors.Is(err, consortium.ErrNotMember) {
			t.Fatalf("proposal by the removed member: got %v, want not_member", err)
		}
		n.CheckConsistent(stay...)
	})
	t.Logf("TestMembership took %s", time.Since(start).Round(time.Second))
}

// key returns node i's account key.
func key(t *testing.T, n *harness.Network, i int) *keyring.Key {
	t.Helper()
	k, err := n.Nodes[i].Key()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// vote casts yes votes on proposal id by the members of nodes voters, each
// through its own node, and waits until the proposal has executed.
func vote(t *testing.T, n *harness.Network, id uint64, voters ...int) *client.ProposalInfo {
	t.Helper()
	ctx, cancel := contextFor(time.Minute)
	defer cancel()
	for _, v := range voters {
		if _, err := n.Node(v).Client().Vote(ctx, key(t, n, v).PrivKey(), id, true); err != nil {
			t.Fatalf("vote by %s on proposal %d: %v", n.Nodes[v].Name, id, err)
		}
	}
	p, err := n.Node(0).Client().WaitProposal(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != consortium.StatusExecuted {
		t.Fatalf("proposal %d (%s) is %s: %s", id, p.Summary, p.Status, p.Result)
	}
	return p
}

// anyPeer reports whether one of nodes is connected to node j.
func anyPeer(n *harness.Network, nodes []int, j int) (bool, error) {
	for _, i := range nodes {
		ok, err := n.HasPeer(i, j)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// watchRefused checks, for d, that none of nodes is ever connected to any
// of refused.
func watchRefused(t *testing.T, n *harness.Network, nodes, refused []int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, i := range nodes {
			for _, j := range refused {
				ok, err := n.HasPeer(i, j)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					t.Fatalf("%s accepted %s as a peer, although %s's node is not a member's", n.Nodes[i].Name, n.Nodes[j].Name, n.Nodes[j].Name)
				}
			}
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
