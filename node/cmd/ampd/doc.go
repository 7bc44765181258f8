// Command ampd runs an AMP ledger node: CometBFT in-process with the
// ledger's state machine. `ampd dev` starts a one-validator dev chain with
// funded demo accounts; `ampd init` and `ampd start` make and run a node
// home. It is a thin layer over packages node and node/home; docs/cli.md is
// its reference.
package main
