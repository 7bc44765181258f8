// Package app is the replicated state machine: an ABCI 2.0 application
// over a badger/v4 store. It decodes and verifies txs (all signatures of a
// block in parallel, through a cache shared with CheckTx), routes messages
// to modules, applies each tx atomically, runs end-of-block work, computes
// the app hash and commits a block's writes, height and hash in one badger
// transaction, so a crash leaves either the old state or the new one.
//
// Modules reach it only through package module; only this package and
// node/ import CometBFT.
package app
