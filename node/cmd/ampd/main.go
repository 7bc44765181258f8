package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/amp-ledger/amp/node"
	"github.com/amp-ledger/amp/node/home"
	"github.com/amp-ledger/amp/node/keyring"
)

// runFlags are the flags that adjust a run without editing config.toml.
type runFlags struct {
	logLevel        string
	rpcListen       string
	p2pListen       string
	blockTime       time.Duration
	checkInvariants bool
}

func (f *runFlags) add(cmd *cobra.Command, forStart bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.logLevel, "log-level", "", `log level: debug, info, error, none, or "module:level,*:level" (default: config.toml's log_level, "info")`)
	if forStart {
		fs.StringVar(&f.rpcListen, "rpc-laddr", "", "RPC listen address for this run, e.g. 127.0.0.1:26657 (default: config.toml)")
		fs.StringVar(&f.p2pListen, "p2p-laddr", "", "P2P listen address for this run, e.g. 127.0.0.1:26656 (default: config.toml)")
		fs.DurationVar(&f.blockTime, "block-time", 0, "pause after each block (timeout_commit) for this run (default: config.toml)")
	}
	fs.BoolVar(&f.checkInvariants, "check-invariants", false, "check every module invariant after every block (slow on big states)")
}

func (f *runFlags) options(stderr io.Writer) node.Options {
	return node.Options{
		LogWriter:       stderr,
		LogLevel:        f.logLevel,
		RPCListen:       f.rpcListen,
		P2PListen:       f.p2pListen,
		BlockTime:       f.blockTime,
		CheckInvariants: f.checkInvariants,
	}
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	var homeDir string
	root := &cobra.Command{
		Use:   "ampd",
		Short: "AMP ledger node",
		Long: `ampd runs an AMP ledger node: CometBFT in-process with the ledger's state machine.

  ampd dev                      a one-validator dev chain with funded demo accounts
  ampd init --chain-id ID ...   make a validator home
  ampd start                    run the node of a home
  ampd testnet init|start       a local multi-validator network on 127.0.0.1`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&homeDir, "home", home.DefaultHome(), "node home folder (env "+home.HomeEnv+")")
	root.AddCommand(initCmd(&homeDir, stdout), startCmd(&homeDir, stderr), devCmd(&homeDir, stdout, stderr),
		testnetCmd(stdout, stderr))
	return root
}

func initCmd(homeDir *string, stdout io.Writer) *cobra.Command {
	var chainID, moniker, rpc, p2p, balance, txIndex string
	var blockTime time.Duration
	cmd := &cobra.Command{
		Use:   "init --chain-id ID --moniker NAME",
		Short: "Create a node home: config, node and validator keys, genesis, keyring",
		Long: `init creates a home for a one-validator chain. The operator's consortium member,
named after the moniker, holds every role (validator, kya_issuer, acquirer,
asset_issuer) and the node's consensus key, and is funded at genesis; its
account key is stored in the home's keyring under the moniker (UNENCRYPTED).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if chainID == "" {
				return errors.New("--chain-id is required")
			}
			if moniker == "" {
				return errors.New("--moniker is required")
			}
			if err := keyring.ValidateName(moniker); err != nil {
				return fmt.Errorf("--moniker also names the operator's key: %w", err)
			}
			res, err := home.Init(home.InitOptions{
				Dir:      *homeDir,
				ChainID:  chainID,
				Node:     home.NodeConfig{Moniker: moniker, RPCListen: rpc, P2PListen: p2p, BlockTime: blockTime, TxIndex: txIndex},
				Accounts: home.OperatorAccounts(moniker, []string{balance}),
			})
			if err != nil {
				return err
			}
			c := res.Config
			fmt.Fprintf(stdout, "Initialised %s\n", c.RootDir)
			fmt.Fprintf(stdout, "  chain id    %s\n", chainID)
			fmt.Fprintf(stdout, "  moniker     %s\n", moniker)
			fmt.Fprintf(stdout, "  node id     %s\n", res.NodeID)
			fmt.Fprintf(stdout, "  RPC         %s\n", c.RPC.ListenAddress)
			fmt.Fprintf(stdout, "  P2P         %s\n", c.P2P.ListenAddress)
			fmt.Fprintf(stdout, "  tx index    %s\n", c.TxIndex.Indexer)
			fmt.Fprintf(stdout, "  member      %s %s (all roles, %s)\n", moniker, res.Keys[0].Address(), balance)
			fmt.Fprintf(stdout, "  keyring     %s (UNENCRYPTED: keep this home private)\n", keyring.Dir(c.RootDir))
			fmt.Fprintf(stdout, "Start it with: ampd start --home %s\n", c.RootDir)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&chainID, "chain-id", "", "chain id (required)")
	fs.StringVar(&moniker, "moniker", "", "node name; also the name of the operator's member and key (required)")
	fs.StringVar(&rpc, "rpc-laddr", home.DefaultRPCListen, "RPC listen address")
	fs.StringVar(&p2p, "p2p-laddr", home.DefaultP2PListen, "P2P listen address")
	fs.DurationVar(&blockTime, "block-time", home.DefaultBlockTime, "pause after each block (timeout_commit)")
	fs.StringVar(&balance, "balance", "1000000USD", "genesis balance of the operator's account")
	fs.StringVar(&txIndex, "tx-index", home.TxIndexKV, `tx index: kv (look txs up by hash, tx_search) or null (validator profile: no index, shorter blocks under load)`)
	return cmd
}

func startCmd(homeDir *string, stderr io.Writer) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Run the node of a home until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNode(cmd.Context(), *homeDir, f.options(stderr), nil)
		},
	}
	f.add(cmd, true)
	return cmd
}

// runNode runs a node until the context ends. A second signal while it
// stops kills the process.
func runNode(ctx context.Context, dir string, o node.Options, started func(context.Context, *node.Node)) error {
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return node.Run(sigCtx, dir, o, func(n *node.Node) {
		go func() {
			<-sigCtx.Done()
			stop() // restore default signal handling: a second Ctrl-C kills
		}()
		if started != nil {
			started(sigCtx, n)
		}
	})
}

func main() {
	root := newRoot(os.Stdout, os.Stderr)
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}
