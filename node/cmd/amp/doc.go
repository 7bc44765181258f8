// Command amp is the AMP ledger's command-line client: keys in a local
// keyring, txs (signed, broadcast and waited for), queries and node status,
// in text or JSON (-o json). It is a thin layer over package node/client;
// docs/cli.md is its reference (flags, JSON shapes, exit codes).
package main
