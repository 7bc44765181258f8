// Package nodeproc runs ledger and CometBFT nodes as real child processes
// for benchmarks and crash tests: it builds the binaries, creates homes with
// their own `init` commands, writes one config to several homes, picks free
// loopback ports, and starts, stops and kills the processes.
package nodeproc
