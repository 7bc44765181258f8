// Package node runs an AMP node in-process: CometBFT (consensus, p2p,
// mempool, RPC) with the ledger's ABCI application, from a home folder made
// by package home. `ampd start` and `ampd dev` are thin wrappers around
// Start and Run, and tests start nodes the same way.
//
// CometBFT keeps its own stores (blocks, state, tx index) in its default
// pebbledb under DIR/data; the ledger's state is a badger database in
// DIR/data/app. Stop stops CometBFT first, then closes the ledger's
// database, so a node stopped by SIGINT or SIGTERM restarts cleanly.
//
// With filter_peers on (home.NodeConfig.FilterPeers), CometBFT asks the
// ledger about every new peer; the node adds what CometBFT lacks for a
// membership that changes by vote: after each block it disconnects peers
// whose node is no longer a member's (peerGuard), and it stops the redial
// loop a refused node would otherwise run (peerFilterApp). See
// docs/governance.md.
package node
