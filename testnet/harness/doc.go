// Package harness runs local AMP networks for tests: real `ampd` processes,
// one per node, made by package network on 127.0.0.1.
//
// New builds ampd once per test binary (Ampd; call Main from TestMain to
// remove the binary afterwards), creates a network of N validators in a
// temporary folder with free ports and a short block time, and registers a
// cleanup that kills every process it started and, if the test failed,
// logs the end of each node's log. Set AMP_TESTNET_KEEP=1 to keep the
// network's folder (its path is logged).
//
// A Network starts (Start, StartAll), stops (Stop: SIGTERM and wait),
// kills (Kill: SIGKILL), wipes (Wipe: delete the data, keep config and
// keys; WipeKeepingSignState also keeps the validator's sign state) and
// restarts (Restart) nodes, and adds nodes that are not in the
// genesis (AddNode). It observes them over RPC: Height, Heights,
// WaitHeight, WaitCaughtUp, AppHash, Headers, Peers, Validators, Signed;
// CheckConsistent compares the block hash and app hash of every height up
// to the nodes' common tip. Methods that cannot fail in a correct run stop
// the test with a clear message (and the nodes' heights) when they do.
//
// Wipe resets the validator's sign state to height 0 (see
// network.WipeData): that is safe only because the wiped node rejoins a
// network that has committed beyond the last height it signed, and so
// block-syncs past it before it votes. Start of a wiped node therefore
// waits until another running node is past that height, and fails the
// test if none gets there.
//
// Ports are taken from 20000 to 26000: below the kernel's ephemeral range
// (which starts at 32768 on Linux), so that a killed node's port cannot be
// taken by the source port of another connection while it is down, and
// below the ports of `make testnet` and the dev chain. A lock file per port
// window keeps concurrent test binaries apart (ReservePorts).
package harness
