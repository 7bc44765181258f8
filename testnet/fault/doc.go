// Package fault holds the end-to-end and fault-injection suites of the
// ledger: real ampd processes in local networks (package harness), driven
// over RPC while nodes are killed (SIGKILL), stopped, wiped, restarted,
// added and removed by vote.
//
// TestFaults shares one network of four validators between its scenarios,
// under a stream of transfers whose client keeps a log of every transfer it
// saw committed:
//
//   - transfers submitted to different nodes commit everywhere, with the
//     same block and app hash at every height;
//   - with one validator killed the chain goes on; with two of four killed
//     no node commits a block and none diverges; restarted, the chain
//     resumes and the lagging nodes catch up;
//   - a node whose data is wiped (its sign state reset, or kept as
//     docs/operating.md says) rejoins, block-syncs to the same state and
//     signs again;
//   - all four killed at once and restarted: the chain resumes;
//   - nothing committed is lost: every logged transfer is found by hash on
//     every node, and every balance equals genesis plus the logged
//     transfers.
//
// TestMembership runs another network of four validators with a fifth
// node waiting to join and an outsider that never does:
//
//   - a node whose ID no member registered is never accepted as a peer and
//     never syncs; a non-member key can neither propose nor vote
//     (not_member);
//   - a fifth member added by vote, with its node's consensus key and node
//     ID, joins the validator set and signs blocks;
//   - a member removed by vote leaves the validator set (the chain goes on
//     with a third of the remaining power down), its node is disconnected
//     and not accepted again, and its key can no longer vote.
//
// TestSoak (only with AMP_TESTNET_SOAK set to a duration, `make test-long`)
// kills and restarts random validators under load for that long, then
// checks the same invariants.
package fault
