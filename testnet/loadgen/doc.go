// Package loadgen is the ledger's load generator: it submits txs to one
// node over CometBFT's JSON-RPC and measures what the node commits.
//
// A Source makes the txs in lanes (one lane per sending account, whose
// nonces must arrive in order): TransferSource signs bank transfers from
// accounts derived from a seed (DeriveAccounts; FundGenesis funds them in a
// genesis file), PaySource signs agent payments (amp.payments.v1.MsgPay,
// one lane per agent, each under its own AUTONOMOUS mandate; PayGenesis
// creates the persons, agents, bindings, mandates and merchants in a
// genesis file), KVSource makes CometBFT kvstore "key=value" txs of the same
// size, for a baseline with the same consensus engine and a trivial app.
// RunRevoke runs payments while some persons revoke their mandates and
// reports where each revoke landed and whether any payment under a revoked
// mandate committed after it.
//
// Run submits with broadcast_tx_sync in JSON-RPC batches over HTTP
// keep-alive connections, at most one tx per lane per batch, keeping at most
// MaxInFlight txs admitted but uncommitted. A watcher polls /block_results
// and /block height by height, matches tx hashes (SHA-256 of the tx bytes)
// to submit times, and counts only results with code 0 as committed.
// Throughput is measured over a steady window after a warm-up, from the
// blocks seen inside it; latency is submit (batch sent) to commit (block
// results visible over RPC) for txs submitted inside the window. Rejections
// and failed results are reported by reason.
//
// The package only talks to loopback addresses.
package loadgen
