// Package chain is the protocol's language, shared by the node and its
// clients: amounts and assets, addresses, account and device keys, the tx
// envelope with its sign bytes and hash, and the registry of error codes.
//
// It does no I/O and never imports CometBFT, so wallets, gateways and agents
// can build and check txs with exactly the code the validators run.
package chain
