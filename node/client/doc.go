// Package client talks to an AMP node over CometBFT's JSON-RPC: it resolves
// key names to addresses, fetches the chain id and a signer's next nonce,
// builds and signs txs, broadcasts them (failing fast on the CheckTx
// result) and waits for their commit, and decodes the ledger's JSON
// queries. Failures the ledger reports come back as *Error values that
// carry the chain's error code, reason and message, and unwrap to the
// registered *chain.Error, so errors.Is(err, bank.ErrInsufficientFunds)
// works.
//
// For governance it builds the consortium's proposal actions and votes,
// submits them, reads proposals, validators and parameters, and reads the
// public keys a new member's operator provides (priv_validator_key.json,
// node_key.json).
//
// The amp CLI is a thin layer over it; the gateway and the load generator
// use it too.
package client
