// Command ampload drives load against a node on this machine and prints
// committed tx/s and submit-to-commit latency (see docs/benchmarks.md).
//
//	ampload genesis --genesis FILE [--mode transfer|pay] [--accounts N] [--seed S] [--coins 1000USD]
//	    fund the load accounts in a genesis file, before the chain starts; with
//	    --mode pay, create N agents instead, each with a funded person, a
//	    binding and an AUTONOMOUS mandate for --merchants merchants
//	ampload fund --home DIR --from NAME [--node ADDR] [--accounts N] [--seed S] [--amount 1]
//	    fund them on a running chain from a key of a home's keyring
//	ampload run [--node ADDR] [--mode transfer|pay|kvstore] [--accounts N] [--seed S] [--duration 20s] ...
//	    send transfers from the accounts (agent payments, kvstore txs) and measure;
//	    with --mode pay --revokes K, K persons revoke their mandates mid-run
//
// The load accounts (and agents) are derived from the seed, so the
// commands agree without sharing key files.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/node/keyring"
	"github.com/amp-ledger/amp/testnet/loadgen"
)

const usage = `usage:
  ampload genesis --genesis FILE [--mode transfer|pay] [--accounts N] [--seed S] [--coins 1000USD]
  ampload fund --home DIR --from NAME [--node ADDR] [--accounts N] [--seed S] [--amount 1]
  ampload run [--node ADDR] [--mode transfer|pay|kvstore] [--accounts N] [--seed S] [--duration 20s] [flags]
run "ampload CMD -h" for the flags of a command`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "genesis":
		err = genesisCmd(os.Args[2:])
	case "fund":
		err = fundCmd(ctx, os.Args[2:])
	case "run":
		err = runCmd(ctx, os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ampload:", err)
		os.Exit(1)
	}
}

type common struct {
	node     string
	accounts int
	seed     string
}

func (c *common) add(fs *flag.FlagSet) {
	fs.StringVar(&c.node, "node", "127.0.0.1:26657", "node RPC address (this machine only)")
	fs.IntVar(&c.accounts, "accounts", 2000, "number of load accounts")
	fs.StringVar(&c.seed, "seed", "ampload", "seed the load accounts' keys are derived from")
}

func genesisCmd(args []string) error {
	fs := flag.NewFlagSet("genesis", flag.ExitOnError)
	var c common
	c.add(fs)
	path := fs.String("genesis", "", "genesis file to edit (required)")
	coins := fs.String("coins", "1000USD", "balance of each load account (--mode pay: of each person)")
	mode := fs.String("mode", "transfer", "transfer (fund the accounts) or pay (agents, persons, bindings, mandates, merchants)")
	var p payFlags
	p.add(fs)
	budget := fs.String("budget", "100USD", "--mode pay: each mandate's budget")
	fs.Parse(args)
	if *path == "" {
		return errors.New("--genesis is required")
	}
	if *mode == "pay" {
		lanes, err := p.lanes(c)
		if err != nil {
			return err
		}
		if err := loadgen.PayGenesis(*path, lanes, loadgen.PayGenesisOptions{PersonCoins: *coins, Budget: *budget}); err != nil {
			return err
		}
		fmt.Printf("created %d agents (%s keys, seed %q) with their persons (%s each), bindings and mandates %s..%s for %d merchants in %s\n",
			c.accounts, p.key, c.seed, *coins, lanes.Lanes[0].Mandate, lanes.Lanes[len(lanes.Lanes)-1].Mandate, p.merchants, *path)
		return nil
	}
	if *mode != "transfer" {
		return fmt.Errorf("unknown --mode %q", *mode)
	}
	if err := loadgen.FundGenesis(*path, loadgen.DeriveAccounts(c.seed, c.accounts), *coins); err != nil {
		return err
	}
	fmt.Printf("funded %d load accounts (seed %q) with %s each in %s\n", c.accounts, c.seed, *coins, *path)
	return nil
}

// payFlags are the flags of the agent-payment lanes.
type payFlags struct {
	merchants int
	key       string
}

func (p *payFlags) add(fs *flag.FlagSet) {
	fs.IntVar(&p.merchants, "merchants", 4, "--mode pay: merchants the mandates allow")
	fs.StringVar(&p.key, "key", "ed25519", "--mode pay: the agents' key type, ed25519 or p256")
}

func (p *payFlags) lanes(c common) (*loadgen.PayLanes, error) {
	kt, err := chain.ParseKeyType(p.key)
	if err != nil {
		return nil, err
	}
	return loadgen.DerivePayLanes(c.seed, c.accounts, p.merchants, kt)
}

func fundCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fund", flag.ExitOnError)
	var c common
	c.add(fs)
	homeDir := fs.String("home", "", "home whose keyring holds the funding key (required)")
	from := fs.String("from", "", "name of the funding key (required)")
	amount := fs.String("amount", "1", "USD paid to each account, e.g. 1 or 0.5")
	fs.Parse(args)
	if *homeDir == "" || *from == "" {
		return errors.New("--home and --from are required")
	}
	kr, err := keyring.OpenHome(*homeDir)
	if err != nil {
		return err
	}
	key, err := kr.Get(*from)
	if err != nil {
		return err
	}
	amt, err := chain.ParseDecimal(*amount, chain.DefaultDecimals)
	if err != nil {
		return err
	}
	client, err := loadgen.NewClient(c.node)
	if err != nil {
		return err
	}
	defer client.Close()
	st, err := client.Status(ctx)
	if err != nil {
		return err
	}
	nonce, err := loadgen.NonceOf(ctx, client, key.Address())
	if err != nil {
		return err
	}
	src, err := loadgen.NewFundingSource(st.NodeInfo.Network, key.PrivKey(), nonce, loadgen.DeriveAccounts(c.seed, c.accounts), amt)
	if err != nil {
		return err
	}
	cfg := loadgen.DefaultConfig()
	cfg.Warmup, cfg.Duration, cfg.Drain, cfg.Workers = 0, 5*time.Minute, time.Minute, 1
	res, err := loadgen.Run(ctx, client, src, cfg)
	if err != nil {
		return err
	}
	if res.OK == 0 || len(res.Failed) > 0 || len(res.Rejected) > 0 || res.Lost > 0 {
		return fmt.Errorf("funding incomplete:\n%s", res.Summary())
	}
	fmt.Printf("funded %d load accounts (seed %q) with %s USD each from %s in %d txs\n", c.accounts, c.seed, *amount, *from, res.OK)
	return nil
}

func runCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var c common
	c.add(fs)
	cfg := loadgen.DefaultConfig()
	mode := fs.String("mode", "transfer", "transfer (signed bank transfers from the load accounts), pay (agent payments, one lane per agent) or kvstore (key=value txs)")
	var p payFlags
	p.add(fs)
	revokes := fs.Int("revokes", 0, "--mode pay: this many persons revoke their agents' mandates during the run (the lanes go on paying)")
	revokeAfter := fs.Duration("revoke-after", 5*time.Second, "--mode pay: when the revokes are sent, from the start of the run")
	size := fs.Int("size", 0, "kvstore tx size in bytes (default: the size of a signed transfer)")
	maxRate := fs.Int("max-rate", 8000, "transfers signed up front per second of run")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "warm-up before the measured window")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured window")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "wait for in-flight txs after the window")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "concurrent RPC connections")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "broadcast_tx_sync calls per JSON-RPC batch")
	fs.IntVar(&cfg.MaxInFlight, "inflight", cfg.MaxInFlight, "max txs admitted but not committed")
	fs.Float64Var(&cfg.Rate, "rate", 0, "cap submission at this many tx/s (0: as fast as --inflight allows)")
	fs.Parse(args)
	if cfg.Duration <= 0 || cfg.Duration > time.Hour {
		return errors.New("--duration must be positive and at most 1h")
	}
	client, err := loadgen.NewClient(c.node)
	if err != nil {
		return err
	}
	defer client.Close()
	st, err := client.Status(ctx)
	if err != nil {
		return err
	}
	var src loadgen.Source
	switch *mode {
	case "transfer":
		accts := loadgen.DeriveAccounts(c.seed, c.accounts)
		nonces, err := loadgen.Nonces(ctx, client, accts)
		if err != nil {
			return err
		}
		per := (*maxRate*int((cfg.Warmup+cfg.Duration)/time.Second+1) + c.accounts - 1) / c.accounts
		fmt.Fprintf(os.Stderr, "signing %d transfers from %d accounts on %s\n", per*c.accounts, c.accounts, st.NodeInfo.Network)
		if src, err = loadgen.NewTransferSource(loadgen.TransferOptions{ChainID: st.NodeInfo.Network, Accounts: accts, StartNonces: nonces, PerAccount: per}); err != nil {
			return err
		}
	case "pay":
		lanes, err := p.lanes(c)
		if err != nil {
			return err
		}
		missing, err := loadgen.FindMandates(ctx, client, lanes)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "%d agents have no activated mandate left (revoked or used up); running the other %d\n", len(missing), len(lanes.Lanes)-len(missing))
			if lanes = lanes.Without(missing); len(lanes.Lanes) == 0 {
				return errors.New("no agent has an activated mandate")
			}
		}
		c.accounts = len(lanes.Lanes)
		nonces, err := loadgen.Nonces(ctx, client, lanes.AgentKeys())
		if err != nil {
			return err
		}
		per := (*maxRate*int((cfg.Warmup+cfg.Duration)/time.Second+1) + c.accounts - 1) / c.accounts
		fmt.Fprintf(os.Stderr, "signing %d payments from %d agents on %s\n", per*c.accounts, c.accounts, st.NodeInfo.Network)
		ps, err := loadgen.NewPaySource(loadgen.PayOptions{ChainID: st.NodeInfo.Network, Lanes: lanes, StartNonces: nonces, PerLane: per})
		if err != nil {
			return err
		}
		if *revokes > 0 {
			if *revokes > c.accounts {
				return fmt.Errorf("--revokes %d: there are %d agents", *revokes, c.accounts)
			}
			var revoked []int
			for k := range *revokes {
				revoked = append(revoked, k*c.accounts / *revokes)
			}
			fmt.Fprintf(os.Stderr, "running %s load against %s: %s warm-up, %s window; %d mandates revoked %s in\n", ps.Name(), client.URL(), cfg.Warmup, cfg.Duration, len(revoked), *revokeAfter)
			rr, err := loadgen.RunRevoke(ctx, client, ps, lanes, cfg, loadgen.RevokeOptions{ChainID: st.NodeInfo.Network, Lanes: revoked, After: *revokeAfter})
			if err != nil {
				return err
			}
			fmt.Print(rr.Load.Summary())
			fmt.Print(rr.Summary())
			return nil
		}
		src = ps
	case "kvstore":
		if *size == 0 {
			if *size, err = loadgen.SampleTransferSize(st.NodeInfo.Network); err != nil {
				return err
			}
		}
		if src, err = loadgen.NewKVSource(c.accounts, *size, 0); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown --mode %q", *mode)
	}
	fmt.Fprintf(os.Stderr, "running %s load against %s: %s warm-up, %s window\n", src.Name(), client.URL(), cfg.Warmup, cfg.Duration)
	res, err := loadgen.Run(ctx, client, src, cfg)
	if err != nil {
		return err
	}
	fmt.Print(res.Summary())
	return nil
}
