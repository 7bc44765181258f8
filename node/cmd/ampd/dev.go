package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/node"
	"github.com/amp-ledger/amp/node/client"
	"github.com/amp-ledger/amp/node/home"
	"github.com/amp-ledger/amp/node/keyring"
)

// devLogLevel keeps a dev chain's terminal readable: CometBFT logs several
// lines per block at info.
const devLogLevel = "error"

func devCmd(homeDir *string, stdout, stderr io.Writer) *cobra.Command {
	var f runFlags
	var reset bool
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a one-validator dev chain with funded demo accounts",
		Long: `dev runs a fresh one-validator chain "amp-dev" in the home folder (default
$AMP_HOME, else ~/.amp-dev). It creates the demo consortium member "issuer"
(validator, kya_issuer, acquirer, asset_issuer; 1,000,000 USD) and the demo
people "alice" and "bob" (1000 USD each), with their keys in the home's
keyring (UNENCRYPTED: dev keys only). RPC listens on 127.0.0.1:26657, P2P on
127.0.0.1:26656, and a block is made about every second.

If the home already holds a chain, dev restarts it (so does
"ampd start --home DIR"); --reset wipes it and starts a fresh chain.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := filepath.Abs(*homeDir)
			if err != nil {
				return err
			}
			if reset {
				if err := home.Reset(dir); err != nil {
					return err
				}
			}
			fresh := !home.Initialised(dir)
			opts := f.options(stderr)
			if fresh {
				if _, err := home.Init(home.DevOptions(dir, f.rpcListen, f.p2pListen, f.blockTime)); err != nil {
					return err
				}
			}
			if !cmd.Flags().Changed("log-level") {
				opts.LogLevel = devLogLevel
			}
			err = runNode(cmd.Context(), dir, opts, func(ctx context.Context, n *node.Node) {
				printDevSummary(ctx, stdout, n, dir, fresh, opts.LogLevel)
			})
			if err == nil {
				fmt.Fprintf(stdout, "AMP dev chain stopped cleanly; its state is kept in %s\n", dir)
			}
			return err
		},
	}
	f.add(cmd, true)
	cmd.Flags().BoolVar(&reset, "reset", false, "wipe the home and start a fresh chain")
	cmd.Flags().Lookup("rpc-laddr").Usage = "RPC listen address (default 127.0.0.1:26657)"
	cmd.Flags().Lookup("p2p-laddr").Usage = "P2P listen address (default 127.0.0.1:26656)"
	cmd.Flags().Lookup("block-time").Usage = "pause after each block, timeout_commit (default 1s)"
	cmd.Flags().Lookup("log-level").Usage = `log level: debug, info, error, none, or "module:level,*:level" (default "error", so the summary stays readable)`
	_ = cmd.Flags().Set("check-invariants", "true")
	cmd.Flags().Lookup("check-invariants").DefValue = "true"
	return cmd
}

// printDevSummary waits for the first block, then prints what runs and the
// exact commands to try.
func printDevSummary(ctx context.Context, w io.Writer, n *node.Node, dir string, fresh bool, logLevel string) {
	rpcURL := n.RPCURL()
	kr, _ := keyring.OpenHome(dir)
	c, err := client.New(rpcURL, kr)
	if err != nil {
		fmt.Fprintf(w, "node started, but its RPC address %s is unusable: %v\n", rpcURL, err)
		return
	}
	c.PollInterval = 50 * time.Millisecond
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var st *client.Status
	for {
		st, err = c.Status(wctx)
		// /status reports a block once stored, before it is executed: wait
		// for the next one so that the balances below are the committed ones.
		if err == nil && st.LatestBlockHeight >= 2 {
			break
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return // stopping already
			}
			fmt.Fprintf(w, "node started but made no block within 30s (last error: %v)\n", err)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}

	// Flags the printed amp commands need to reach this chain.
	var extra []string
	if abs, _ := filepath.Abs(home.DefaultHome()); abs != dir {
		extra = append(extra, "--home "+shellQuote(dir))
	}
	if rpcURL != client.DefaultNode {
		extra = append(extra, "--node "+rpcURL)
	}
	amp := siblingCommand("amp")
	if len(extra) > 0 {
		amp += " " + strings.Join(extra, " ")
	}

	state := "restarted the existing chain"
	if fresh {
		state = "started a fresh chain"
	}
	fmt.Fprintf(w, "\nAMP dev chain is running (%s)\n\n", state)
	fmt.Fprintf(w, "  chain id     %s (height %d)\n", st.ChainID, st.LatestBlockHeight)
	fmt.Fprintf(w, "  home         %s\n", dir)
	fmt.Fprintf(w, "  RPC          %s\n", rpcURL)
	fmt.Fprintf(w, "  P2P          %s (node id %s)\n", n.Config().P2P.ListenAddress, st.NodeID)
	fmt.Fprintf(w, "  block time   %s\n", n.Config().Consensus.TimeoutCommit)
	fmt.Fprintf(w, "  keyring      %s (UNENCRYPTED: dev keys only)\n", keyring.Dir(dir))
	fmt.Fprintf(w, "  logs         stderr, level %q (change with --log-level)\n\n", logLevel)

	members := map[string]consortium.Member{}
	if ms, err := c.Members(wctx); err == nil {
		for _, m := range ms {
			members[m.Address.String()] = m
		}
	}
	fmt.Fprintln(w, "  Accounts (keys in the keyring):")
	var keys []*keyring.Key
	if kr != nil {
		keys, _ = kr.List()
	}
	for _, k := range keys {
		bal := "?"
		if b, err := c.Balance(wctx, k.Address(), ""); err == nil {
			var parts []string
			for _, v := range b.Balances {
				parts = append(parts, v.Amount+" "+v.Asset)
			}
			bal = strings.Join(parts, ", ")
		}
		role := ""
		if m, ok := members[k.Address().String()]; ok {
			role = "  member: " + strings.Join(m.Roles, ", ")
		}
		fmt.Fprintf(w, "    %-8s %s  %s%s\n", k.Name, k.Address(), bal, role)
	}
	from, to := "alice", "bob"
	if kr == nil || !kr.Has(from) || !kr.Has(to) {
		from, to = "NAME", "ADDRESS"
	}
	fmt.Fprintf(w, "\n  Try, in another terminal:\n")
	for _, line := range []string{
		amp + " status",
		amp + " query bank balance " + from,
		amp + " tx bank send --from " + from + " " + to + " 12.5USD",
		amp + " query bank balance " + to + " -o json",
		amp + " tx bank send --from " + from + " " + to + " 0.000001USD",
		amp + " tx bank mint --from " + home.DevIssuer + " " + from + " 100USD",
		amp + " query consortium members",
		amp + " keys add carol",
		amp + " errors",
	} {
		fmt.Fprintf(w, "    %s\n", line)
	}
	ampdBin := siblingCommand("ampd")
	ampd := ampdBin
	if abs, _ := filepath.Abs(home.DefaultHome()); abs != dir {
		ampd += " --home " + shellQuote(dir)
	}
	fmt.Fprintf(w, "\n  Stop with Ctrl-C; the chain keeps its state.\n")
	fmt.Fprintf(w, "  Restart it:        %s dev   (or: %s start --home %s)\n", ampd, ampdBin, shellQuote(dir))
	fmt.Fprintf(w, "  Wipe and restart:  %s dev --reset\n\n", ampd)
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// siblingCommand is how the printed next steps should call a program: its
// bare name when it is on PATH, else the one built next to this ampd
// (bin/amp after `make build`), relative to the working directory when it
// lies below it.
func siblingCommand(name string) string {
	if _, err := exec.LookPath(name); err == nil {
		return name
	}
	self, err := os.Executable()
	if err != nil {
		return name
	}
	p := filepath.Join(filepath.Dir(self), name)
	if _, err := os.Stat(p); err != nil {
		return name
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}
