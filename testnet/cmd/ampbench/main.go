// Command ampbench prints the ledger's load figures next to CometBFT's
// kvstore baseline, measured on this machine (see docs/benchmarks.md): bank
// transfers, agent payments (MsgPay under AUTONOMOUS mandates, one
// validator) with a revoke-under-load phase, the same payments through a
// WebAssembly rule bound to every merchant's payment hook (pay-rule), and
// kvstore.
//
//	go run ./testnet/cmd/ampbench [-systems amp,pay,pay-rule,kvstore] [-rule FILE.wasm] [-validators 1,4] [-duration 20s] [-warmup 5s] [-accounts 2000] [-profile DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/amp-ledger/amp/testnet/bench"
	"github.com/amp-ledger/amp/testnet/loadgen"
)

func main() {
	o := bench.DefaultOptions()
	flag.DurationVar(&o.Load.Duration, "duration", o.Load.Duration, "measured window")
	flag.DurationVar(&o.Load.Warmup, "warmup", o.Load.Warmup, "warm-up before the window")
	flag.DurationVar(&o.Load.Drain, "drain", o.Load.Drain, "wait for in-flight txs after the window")
	flag.IntVar(&o.Load.Workers, "workers", o.Load.Workers, "concurrent RPC connections")
	flag.IntVar(&o.Load.Batch, "batch", o.Load.Batch, "broadcast_tx_sync calls per JSON-RPC batch")
	flag.IntVar(&o.Load.MaxInFlight, "inflight", o.Load.MaxInFlight, "max txs admitted but not committed")
	flag.Float64Var(&o.Load.Rate, "rate", 0, "cap submission at this many tx/s (0: as fast as -inflight allows)")
	flag.IntVar(&o.Accounts, "accounts", o.Accounts, "sending accounts (kvstore lanes)")
	flag.IntVar(&o.MaxRate, "max-rate", o.MaxRate, "transfers signed up front per second of run")
	flag.DurationVar(&o.Settings.TimeoutCommit, "timeout-commit", o.Settings.TimeoutCommit, "consensus.timeout_commit of both nodes")
	flag.StringVar(&o.Settings.TxIndex, "tx-index", "", "tx_index.indexer of every node: kv (the node default) or null (the validator profile, docs/operating.md)")
	flag.StringVar(&o.Settings.LogLevel, "log-level", o.Settings.LogLevel, "log_level of both nodes")
	flag.StringVar(&o.Dir, "dir", "", "folder for homes and logs (default: temporary, removed)")
	flag.BoolVar(&o.Keep, "keep", false, "keep the temporary folder")
	flag.StringVar(&o.BinDir, "bin", o.BinDir, "where ampd and cometbft are built")
	flag.StringVar(&o.ProfileDir, "profile", "", "write CPU profiles of both nodes here")
	flag.DurationVar(&o.IdleWait, "idle-wait", o.IdleWait, "before each run, wait up to this long for other processes to leave the CPU (0: don't)")
	flag.IntVar(&o.Runs, "runs", o.Runs, "repeat both systems this many times (alternating, on fresh homes) and report the median")
	flag.DurationVar(&o.MultiDuration, "multi-duration", o.MultiDuration, "measured window of the runs with more than one validator")
	flag.DurationVar(&o.MultiWarmup, "multi-warmup", o.MultiWarmup, "warm-up of the runs with more than one validator")
	validators := flag.String("validators", "1,4", "network sizes to measure, e.g. 1,4 (each on 127.0.0.1, load spread across the nodes)")
	systems := flag.String("systems", strings.Join(o.Systems, ","), "what to run, of amp (bank transfers), pay (agent payments, ed25519 agents), pay-rule (the same through a rule on every merchant's payment hook), pay-p256 (P-256 agents) and kvstore; pay systems run on one validator only")
	flag.StringVar(&o.RuleFile, "rule", "", "the rule pay-rule binds to its merchants' payment hook (default "+loadgen.ExampleRulePath+")")
	flag.IntVar(&o.PayLanes, "agents", 0, "agents of the pay systems, each with its own person and mandate (0: as many as -accounts)")
	flag.IntVar(&o.PayMerchants, "merchants", o.PayMerchants, "merchants the load mandates allow")
	flag.IntVar(&o.Revokes, "revokes", o.Revokes, "after the pay run, mandates revoked under load (0: no revoke phase)")
	flag.DurationVar(&o.RevokeWindow, "revoke-window", o.RevokeWindow, "length of the revoke phase's payment stream")
	flag.DurationVar(&o.RevokeAfter, "revoke-after", o.RevokeAfter, "when the revokes are sent, from the start of the revoke phase")
	flag.Parse()
	if t := o.Settings.TxIndex; t != "" && t != "kv" && t != "null" {
		fmt.Fprintf(os.Stderr, "ampbench: -tx-index: %q is neither kv nor null\n", t)
		os.Exit(2)
	}
	o.Systems = strings.Split(*systems, ",")
	o.Validators = nil
	for _, v := range strings.Split(*validators, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			fmt.Fprintf(os.Stderr, "ampbench: -validators: %q is not a number\n", v)
			os.Exit(2)
		}
		o.Validators = append(o.Validators, n)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ampbench:", err)
		os.Exit(1)
	}
	fmt.Println()
	fmt.Print(rep.Table())
}
