package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/node/client"
)

func queryCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "query",
		Aliases: []string{"q"},
		Short:   "Read the ledger's state",
	}
	bankCmd := &cobra.Command{Use: "bank", Short: "Balances, supply and assets"}
	var asset string
	balance := &cobra.Command{
		Use:   "balance ADDRESS|NAME",
		Short: "An account's balances, as exact decimals",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			a, err := c.Resolve(args[0])
			if err != nil {
				return err
			}
			ctx, cancel := e.ctx(cmd)
			defer cancel()
			b, err := c.Balance(ctx, a, asset)
			if err != nil {
				return err
			}
			if e.json() {
				printJSON(e.stdout, b)
				return nil
			}
			fmt.Fprintf(e.stdout, "address: %s\n", b.Address)
			var rows [][]string
			for _, v := range b.Balances {
				rows = append(rows, []string{"  " + v.Amount, v.Asset, "(" + v.BaseUnits + " base units)"})
			}
			table(e.stdout, nil, rows)
			return nil
		},
	}
	balance.Flags().StringVar(&asset, "asset", "", "show only this asset")

	supply := &cobra.Command{
		Use:   "supply [ASSET]",
		Short: "The amount of an asset in existence (every asset without ASSET)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx, cancel := e.ctx(cmd)
			defer cancel()
			var symbols []string
			if len(args) == 1 {
				symbols = []string{args[0]}
			} else {
				as, err := c.Assets(ctx)
				if err != nil {
					return err
				}
				for _, a := range as {
					symbols = append(symbols, a.Symbol)
				}
			}
			views := []*bank.BalanceView{}
			for _, s := range symbols {
				v, err := c.Supply(ctx, s)
				if err != nil {
					return err
				}
				views = append(views, v)
			}
			if e.json() {
				if len(args) == 1 {
					printJSON(e.stdout, views[0])
				} else {
					printJSON(e.stdout, views)
				}
				return nil
			}
			var rows [][]string
			for _, v := range views {
				rows = append(rows, []string{v.Amount, v.Asset, "(" + v.BaseUnits + " base units)"})
			}
			table(e.stdout, nil, rows)
			return nil
		},
	}

	assets := &cobra.Command{
		Use:   "assets",
		Short: "The registered assets and their decimals",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx, cancel := e.ctx(cmd)
			defer cancel()
			as, err := c.Assets(ctx)
			if err != nil {
				return err
			}
			if e.json() {
				printJSON(e.stdout, as)
				return nil
			}
			var rows [][]string
			for _, a := range as {
				rows = append(rows, []string{a.Symbol, a.Name, fmt.Sprint(a.Decimals)})
			}
			table(e.stdout, []string{"SYMBOL", "NAME", "DECIMALS"}, rows)
			return nil
		},
	}
	bankCmd.AddCommand(balance, supply, assets)

	consCmd := &cobra.Command{Use: "consortium", Short: "Members, validators and proposals of the consortium"}
	members := &cobra.Command{
		Use:   "members",
		Short: "Every member with roles and validator power",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx, cancel := e.ctx(cmd)
			defer cancel()
			ms, err := c.Members(ctx)
			if err != nil {
				return err
			}
			if e.json() {
				printJSON(e.stdout, ms)
				return nil
			}
			var rows [][]string
			for _, m := range ms {
				power := "-"
				if m.Validator != nil {
					power = fmt.Sprint(m.Validator.Power)
				}
				rows = append(rows, []string{m.Name, m.Address.String(), strings.Join(m.Roles, ","), power})
			}
			table(e.stdout, []string{"NAME", "ADDRESS", "ROLES", "POWER"}, rows)
			return nil
		},
	}
	member := &cobra.Command{
		Use:   "member ADDRESS|NAME",
		Short: "One member",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			a, err := c.Resolve(args[0])
			if err != nil {
				return err
			}
			ctx, cancel := e.ctx(cmd)
			defer cancel()
			m, err := c.Member(ctx, a)
			if err != nil {
				return err
			}
			if e.json() {
				printJSON(e.stdout, m)
				return nil
			}
			kv := []string{"name", m.Name, "address", m.Address.String(), "roles", strings.Join(m.Roles, ",")}
			if m.Validator != nil {
				kv = append(kv, "consensus key", m.Validator.PubKey, "power", fmt.Sprint(m.Validator.Power))
			}
			if m.NodeID != "" {
				kv = append(kv, "node id", m.NodeID)
			}
			fields(e.stdout, kv...)
			return nil
		},
	}
	consCmd.AddCommand(members, member)
	consCmd.AddCommand(consortiumQueryCmds(e)...)

	tx := &cobra.Command{
		Use:   "tx HASH",
		Short: "A committed tx: its result, events and messages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx, cancel := e.ctx(cmd)
			defer cancel()
			res, err := c.Tx(ctx, args[0])
			if err != nil {
				return err
			}
			view, verr := c.DescribeTx(ctx, res.Tx)
			if e.json() {
				printJSON(e.stdout, struct {
					*client.TxResult
					Tx *client.TxView `json:"tx,omitempty"`
				}{res, view})
				return nil
			}
			result := "ok (code 0)"
			if res.Code != 0 {
				result = fmt.Sprintf("failed: %s (code %d): %s", res.Reason, res.Code, res.Log)
			}
			fields(e.stdout, "txhash", res.Hash, "height", fmt.Sprint(res.Height), "result", result)
			if verr == nil {
				fields(e.stdout, "signer", view.Signer, "nonce", fmt.Sprint(view.Nonce))
				if view.Memo != "" {
					fields(e.stdout, "memo", view.Memo)
				}
				for _, m := range view.Msgs {
					var kv []string
					keys := make([]string, 0, len(m.Fields))
					for k := range m.Fields {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					for _, k := range keys {
						kv = append(kv, k+"="+m.Fields[k])
					}
					if m.Hex != "" {
						kv = append(kv, "hex="+m.Hex)
					}
					fmt.Fprintf(e.stdout, "  message %s %s\n", m.Type, strings.Join(kv, " "))
				}
			}
			for _, line := range describeEvents(ctx, c, res.Events) {
				fmt.Fprintln(e.stdout, "  "+line)
			}
			return nil
		},
	}
	cmd.AddCommand(bankCmd, consCmd, paramsQueryCmd(e), tx)
	return cmd
}

func statusCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "The node's chain id, height and sync state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx, cancel := e.ctx(cmd)
			defer cancel()
			st, err := c.Status(ctx)
			if err != nil {
				return err
			}
			if e.json() {
				printJSON(e.stdout, st)
				return nil
			}
			fields(e.stdout,
				"node", e.node,
				"chain id", st.ChainID,
				"moniker", st.Moniker,
				"node id", st.NodeID,
				"height", fmt.Sprint(st.LatestBlockHeight),
				"block time", st.LatestBlockTime.UTC().Format(time.RFC3339Nano),
				"app hash", st.LatestAppHash,
				"catching up", fmt.Sprint(st.CatchingUp),
				"voting power", fmt.Sprint(st.VotingPower),
				"version", st.Version)
			return nil
		},
	}
}

func errorsCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "errors",
		Short: "List the ledger's error codes and reasons",
		Long: `List every error code of the ledger, as the node reports it (/app/errors).
If the node cannot be reached, the codes compiled into this amp are listed
and a note says so on stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx, cancel := e.ctx(cmd)
			defer cancel()
			list, err := c.ChainErrors(ctx)
			if err != nil {
				fmt.Fprintf(e.stderr, "note: node not reachable (%v); listing the codes this amp knows\n", err)
				list = client.LocalErrors()
			}
			if e.json() {
				printJSON(e.stdout, list)
				return nil
			}
			var rows [][]string
			for _, x := range list {
				rows = append(rows, []string{fmt.Sprint(x.Code), x.Reason, x.Doc})
			}
			table(e.stdout, []string{"CODE", "REASON", "MEANING"}, rows)
			return nil
		},
	}
}
