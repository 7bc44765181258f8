// Package bench measures a single-validator AMP node against CometBFT's
// built-in kvstore app on the same machine: it builds both binaries, creates
// each home with its own `init`, funds the load accounts in the AMP genesis,
// writes one config.toml (the AMP node's defaults plus Settings) to both
// homes, copies the consensus params across, and runs the load generator
// against each node in turn with txs of equal size. The table it prints
// holds committed tx/s, p50 and p99 submit-to-commit latency for both, and
// their ratio. It measures and prints; it asserts nothing about speed.
package bench
