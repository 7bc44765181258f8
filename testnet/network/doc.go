// Package network generates and runs local multi-validator AMP networks on
// 127.0.0.1: what `ampd testnet init` and `ampd testnet start` (and so
// `make testnet`) do, and what the test harness in testnet/harness builds
// on.
//
// Init writes, into one folder DIR, N ordinary node homes for
// `ampd start --home`, one shared genesis and a manifest:
//
//	DIR/testnet.json      the manifest: chain id, and for each node its name,
//	                      home, rpc URL, p2p address (ID@127.0.0.1:port),
//	                      node id, member account address and log file
//	DIR/keyring/          every member's account key (so `amp --home DIR`
//	                      can act for any member)
//	DIR/node0 … DIR/nodeN-1   the homes (config, node key, consensus key,
//	                      genesis, data, and a keyring with that member's key)
//	DIR/node0.log …       each node's log once started by Run
//
// Every node K is a consortium member named "nodeK" holding every role
// (validator, kya_issuer, acquirer, asset_issuer, arbiter), the node's consensus key
// with power 10 and its node ID, funded at genesis with 1,000,000 USD. Each
// home has filter_peers on (only members' nodes are accepted as peers),
// allow_duplicate_ip, all the other nodes as persistent peers, pprof off,
// and listens on 127.0.0.1 only: P2P on base+10·K and RPC on base+10·K+1
// (base 26600 by default).
//
// Run starts the nodes as child processes of one supervisor, waits until
// they make blocks, prints where they are, and stops them (SIGTERM, then
// SIGKILL after a timeout) when its context ends. Process runs one child in
// its own process group, so that a terminal's Ctrl-C reaches only the
// supervisor, which then stops the nodes in order; a child is killed if the
// supervisor dies.
package network
