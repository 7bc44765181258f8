// Package crash holds the ledger's crash-safety test: a real ampd process
// is SIGKILLed while it commits a stream of transfers, restarted, and
// checked against a log of every transfer it reported committed; then a
// copy of its home without the app state replays every block into a fresh
// app, which must reach the same app hash. It runs under `go test` (skipped
// with -short) and takes well under a minute.
package crash
