package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/amp-ledger/amp/testnet/network"
)

// testnetFlags are the flags that describe a new local network.
type testnetFlags struct {
	dir        string
	validators int
	basePort   int
	chainID    string
	blockTime  time.Duration
}

func (f *testnetFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.dir, "dir", network.DefaultDir, "folder of the network (DIR)")
	fs.IntVar(&f.validators, "validators", network.DefaultValidators, fmt.Sprintf("number of validators, 1 to %d", network.MaxValidators))
	fs.IntVar(&f.basePort, "base-port", network.DefaultBasePort,
		fmt.Sprintf("first port: node K listens for P2P on base+%d·K and for RPC on base+%d·K+1, on 127.0.0.1", network.PortStride, network.PortStride))
	fs.StringVar(&f.chainID, "chain-id", network.DefaultChainID, "chain id")
	fs.DurationVar(&f.blockTime, "block-time", network.DefaultBlockTime, "pause after each block (timeout_commit), e.g. 250ms")
}

func (f *testnetFlags) options() network.Options {
	return network.Options{Dir: f.dir, Validators: f.validators, BasePort: f.basePort, ChainID: f.chainID, BlockTime: f.blockTime}
}

func testnetCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Create and run a local multi-validator network on 127.0.0.1",
		Long: `testnet creates and runs a local consortium of N validators, each a separate
ampd process with its own home, on 127.0.0.1:

  ampd testnet init  --validators N --dir DIR [--base-port P]   write the homes
  ampd testnet start [--dir DIR]                                 run them (init first if needed)

DIR/node0 ... DIR/node{N-1} are ordinary homes for "ampd start --home"; each
node K is consortium member "nodeK" with every role, a validator of power 10,
funded with 1,000,000 USD, its key in its home's keyring and in DIR/keyring.
DIR/testnet.json lists each node's name, home, rpc URL and p2p address.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(testnetInitCmd(stdout), testnetStartCmd(stdout, stderr))
	return cmd
}

func testnetInitCmd(stdout io.Writer) *cobra.Command {
	var f testnetFlags
	cmd := &cobra.Command{
		Use:   "init --validators N --dir DIR [--base-port P]",
		Short: "Write the homes, shared genesis, keys and manifest of a local network",
		Long: `init writes N validator homes into DIR (DIR/node0 ... DIR/node{N-1}), with one
shared genesis in which node K is member "nodeK" (every role, power 10,
1,000,000 USD, its node ID registered), each node's key in its home's keyring
and all of them in DIR/keyring (UNENCRYPTED: test keys only), filter_peers on
and every other node as a persistent peer. Node K listens on 127.0.0.1 only:
P2P on base+10·K, RPC on base+10·K+1. DIR/testnet.json lists each node's name,
home, rpc URL and p2p address. DIR must be new or empty.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := network.Init(f.options())
			if err != nil {
				return err
			}
			printInit(stdout, m)
			fmt.Fprintf(stdout, "Start it with: ampd testnet start --dir %s\n", shellQuote(f.dir))
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func printInit(w io.Writer, m *network.Manifest) {
	fmt.Fprintf(w, "Created a network of %d validators (chain id %s) in %s\n", len(m.Nodes), m.ChainID, m.Dir)
	for _, n := range m.Nodes {
		fmt.Fprintf(w, "  %-7s rpc %-24s p2p %s\n", n.Name, n.RPC, n.P2P)
	}
	fmt.Fprintf(w, "  manifest %s/%s; every member's key in %s (UNENCRYPTED: test keys only)\n", m.Dir, network.ManifestName, m.Keyring)
}

func testnetStartCmd(stdout, stderr io.Writer) *cobra.Command {
	var f testnetFlags
	var logLevel string
	var reset bool
	var stopTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "start [--dir DIR]",
		Short: "Run every node of a local network as a child process until Ctrl-C",
		Long: `start runs every node of the network in DIR as a separate "ampd start" process,
with its output in DIR/nodeK.log. If DIR holds no network yet it creates one
first, as "ampd testnet init" with the same flags would (so --validators,
--base-port, --chain-id and --block-time matter only then). It waits until
the nodes make blocks, prints each node's RPC address and commands to try,
and on Ctrl-C or SIGTERM stops the nodes cleanly (SIGTERM, then SIGKILL after
--stop-timeout); their state is kept, and starting again resumes the chain.
A second Ctrl-C kills everything at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if stopTimeout <= 0 {
				return fmt.Errorf("--stop-timeout must be positive, got %s", stopTimeout)
			}
			if reset {
				if err := network.Reset(f.dir); err != nil {
					return err
				}
			}
			var m *network.Manifest
			var err error
			if network.Exists(f.dir) {
				if m, err = network.Load(f.dir); err != nil {
					return err
				}
				for _, name := range []string{"validators", "base-port", "chain-id", "block-time"} {
					if cmd.Flags().Changed(name) {
						fmt.Fprintf(stderr, "note: %s already holds a network; --%s applies only to a new one (use --reset to replace it)\n", f.dir, name)
					}
				}
			} else {
				if m, err = network.Init(f.options()); err != nil {
					return err
				}
				printInit(stdout, m)
			}
			bin, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the ampd binary to run the nodes with: %w", err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				stop() // a second Ctrl-C kills this process, and with it the nodes
			}()
			err = network.Run(ctx, m, network.RunOptions{
				Bin:         bin,
				LogLevel:    logLevel,
				Amp:         siblingCommand("amp"),
				Out:         stdout,
				StopTimeout: stopTimeout,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Testnet stopped; its state is kept in %s\n", m.Dir)
			return nil
		},
	}
	f.add(cmd)
	fs := cmd.Flags()
	fs.StringVar(&logLevel, "log-level", "", `nodes' log level: debug, info, error, none, or "module:level,*:level" (default: each config.toml's, "info")`)
	fs.BoolVar(&reset, "reset", false, "remove the network in DIR first and create a new one")
	fs.DurationVar(&stopTimeout, "stop-timeout", network.DefaultStopTimeout, "how long each node may take to stop after SIGTERM before it is killed")
	return cmd
}
