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

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/delegation"
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
		Short: "Run a one-validator dev chain with funded demo accounts and identities",
		Long: `dev runs a fresh one-validator chain "amp-dev" in the home folder (default
$AMP_HOME, else ~/.amp-dev). It creates the demo consortium member "issuer"
(validator, kya_issuer, acquirer, asset_issuer, arbiter; 1,000,000 USD) and the demo
people "alice" and "bob" (1000 USD each), with their keys in the home's
keyring (UNENCRYPTED: dev keys only). RPC listens on 127.0.0.1:26657, P2P on
127.0.0.1:26656, and a block is made about every second.

The genesis also holds demo identities, so they exist from the first block
without any tx (their keys are in the keyring too, unfunded):
  - alice and bob are registered persons, with issuer as their wallet;
  - "alice-phone" (p256) is alice's phone, with the scopes revoke, update
    and manage_devices; "alice-watch" (p256) is her watch, with approve
    and revoke;
  - "helper" (p256) is the key of the demo agent agent-1, owned by alice
    and bound to her wallet, onboarded by issuer with a level 2 review
    (profile, kyc, aml, security, privacy) valid for 365 days from genesis;
  - "shop" is the merchant "Demo Shop" (MCC 5999, SG), acquired by issuer,
    settling to its own account;
  - mandate-1 is an activated AUTONOMOUS mandate by which alice lets helper
    pay shop up to 100 USD in total, at most 25 USD a payment, her watch
    approving payments above 20 USD, for 30 days from genesis.

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
	for _, line := range accountLines(wctx, c, keys, members) {
		fmt.Fprintf(w, "    %s\n", line)
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
	if kr != nil && kr.Has(home.DevAgent) && kr.Has(home.DevAgentOwner) {
		fmt.Fprintf(w, "\n  Demo identities (in the genesis):\n")
		for _, line := range []string{
			amp + " query identity person " + home.DevAgentOwner,
			amp + " query identity agent " + home.DevAgent,
			amp + " query trust score " + home.DevAgent + " -o json",
		} {
			fmt.Fprintf(w, "    %s\n", line)
		}
		if m, err := c.Mandate(wctx, home.DevMandateID); err == nil {
			fmt.Fprintf(w, "\n  Demo mandate %s (in the genesis): %s lets %s pay %s\n  (%s):\n",
				m.ID, home.DevAgentOwner, home.DevAgent, home.DevMerchant, mandateState(m))
			for _, line := range []string{
				amp + " tx payments pay --from " + home.DevAgent + " --mandate " + m.ID + " --merchant " + home.DevMerchant + " --order demo-1 5USD",
				amp + " tx payments pay --from " + home.DevAgent + " --mandate " + m.ID + " --merchant " + home.DevMerchant + " --order demo-2 22USD --approve-with alice-watch",
				amp + " query delegation mandate " + m.ID,
				amp + " query payments bills " + m.ID,
				amp + " tx delegation revoke --from alice-phone " + m.ID,
			} {
				fmt.Fprintf(w, "    %s\n", line)
			}
		}
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

// mandateState says how a mandate stands: "activated, 0 of 100 USD spent;
// at most 25 USD a payment; approval above 20 USD".
func mandateState(m *delegation.MandateView) string {
	s := fmt.Sprintf("%s, %s of %s %s spent", m.Status, m.Consumed, m.Budget, m.Asset)
	if cs := m.Constraints; cs != nil {
		if cs.MaxPayment != "" {
			s += "; at most " + cs.MaxPayment + " " + m.Asset + " a payment"
		}
		if cs.ApprovalAbove != "" {
			s += "; approval above " + cs.ApprovalAbove + " " + m.Asset
		}
	}
	return s
}

// accountLines formats one line per key: name, address, balance and what
// the account is on the chain (member roles, registered identity), in
// aligned columns.
func accountLines(ctx context.Context, c *client.Client, keys []*keyring.Key, members map[string]consortium.Member) []string {
	names := map[chain.Address]string{}
	for _, k := range keys {
		names[k.Address()] = k.Name
	}
	type row struct{ name, addr, bal, about string }
	var rows []row
	nameW, balW := 11, 0
	for _, k := range keys {
		r := row{name: k.Name, addr: k.Address().String(), bal: "?"}
		if b, err := c.Balance(ctx, k.Address(), ""); err == nil {
			var parts []string
			for _, v := range b.Balances {
				parts = append(parts, v.Amount+" "+v.Asset)
			}
			r.bal = strings.Join(parts, ", ")
			if r.bal == "" {
				r.bal = "0"
			}
		}
		var about []string
		if m, ok := members[r.addr]; ok {
			about = append(about, "member: "+strings.Join(m.Roles, ", "))
		}
		if id := identityOf(ctx, c, k.Address(), names); id != "" {
			about = append(about, id)
		}
		r.about = strings.Join(about, "; ")
		nameW, balW = max(nameW, len(r.name)), max(balW, len(r.bal))
		rows = append(rows, r)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.TrimRight(fmt.Sprintf("%-*s %s  %-*s  %s", nameW, r.name, r.addr, balW, r.bal, r.about), " ")
	}
	return out
}

// identityOf says what an address is registered as in the identity
// module ("" if nothing, or if the chain cannot tell), naming keyring keys
// by their names.
func identityOf(ctx context.Context, c *client.Client, a chain.Address, names map[chain.Address]string) string {
	w, err := c.Whois(ctx, a)
	if err != nil {
		return ""
	}
	of := w.Of
	if oa, err := chain.ParseAddress(of); err == nil {
		if n, ok := names[oa]; ok {
			of = n
		}
	}
	name := func(a chain.Address) string {
		if n, ok := names[a]; ok {
			return n
		}
		return a.String()
	}
	switch w.Kind {
	case "", "none":
		return ""
	case "agent":
		v, err := c.Agent(ctx, w.Of)
		if err != nil {
			return "agent " + of
		}
		return fmt.Sprintf("agent %s of %s (%s, level %d)", v.ID, name(v.Owner), v.Status, v.AttestationLevel)
	case "device":
		d, err := c.Device(ctx, a)
		if err != nil {
			return "device of " + of
		}
		return fmt.Sprintf("%s of %s (%s)", d.Kind, name(d.Person), strings.Join(d.Scopes, ", "))
	case "merchant":
		m, err := c.Merchant(ctx, a)
		if err != nil {
			return "merchant"
		}
		return fmt.Sprintf("merchant %q", m.Name)
	case "seller_agent_key":
		return "seller agent key of " + of
	}
	return w.Kind
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
