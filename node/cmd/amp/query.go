package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/node/client"
)

// query is the body of a reading command: it connects to the node, fetches
// a value within --timeout and prints it, as JSON with -o json and
// otherwise with text.
func query[T any](e *env, cmd *cobra.Command, fetch func(context.Context, *client.Client) (T, error), text func(T)) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	ctx, cancel := e.ctx(cmd)
	defer cancel()
	v, err := fetch(ctx, c)
	if err != nil {
		return err
	}
	if e.json() {
		printJSON(e.stdout, v)
		return nil
	}
	text(v)
	return nil
}

// txShown is the JSON shape of `amp query tx`.
type txShown struct {
	*client.TxResult
	Tx *client.TxView `json:"tx,omitempty"`
}

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
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*bank.AccountBalances, error) {
				a, err := c.Resolve(args[0])
				if err != nil {
					return nil, err
				}
				return c.Balance(ctx, a, asset)
			}, func(b *bank.AccountBalances) {
				fmt.Fprintf(e.stdout, "address: %s\n", b.Address)
				var rows [][]string
				for _, v := range b.Balances {
					rows = append(rows, []string{"  " + v.Amount, v.Asset, "(" + v.BaseUnits + " base units)"})
				}
				table(e.stdout, nil, rows)
			})
		},
	}
	balance.Flags().StringVar(&asset, "asset", "", "show only this asset")

	// supplyTable prints amounts of assets in existence.
	supplyTable := func(views ...*bank.BalanceView) {
		var rows [][]string
		for _, v := range views {
			rows = append(rows, []string{v.Amount, v.Asset, "(" + v.BaseUnits + " base units)"})
		}
		table(e.stdout, nil, rows)
	}
	supply := &cobra.Command{
		Use:   "supply [ASSET]",
		Short: "The amount of an asset in existence (every asset without ASSET)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return query(e, cmd, func(ctx context.Context, c *client.Client) (*bank.BalanceView, error) {
					return c.Supply(ctx, args[0])
				}, func(v *bank.BalanceView) { supplyTable(v) })
			}
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]*bank.BalanceView, error) {
				as, err := c.Assets(ctx)
				if err != nil {
					return nil, err
				}
				views := []*bank.BalanceView{}
				for _, a := range as {
					v, err := c.Supply(ctx, a.Symbol)
					if err != nil {
						return nil, err
					}
					views = append(views, v)
				}
				return views, nil
			}, func(views []*bank.BalanceView) { supplyTable(views...) })
		},
	}
	assets := &cobra.Command{
		Use:   "assets",
		Short: "The registered assets and their decimals",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]chain.Asset, error) {
				return c.Assets(ctx)
			}, func(as []chain.Asset) {
				var rows [][]string
				for _, a := range as {
					rows = append(rows, []string{a.Symbol, a.Name, fmt.Sprint(a.Decimals)})
				}
				table(e.stdout, []string{"SYMBOL", "NAME", "DECIMALS"}, rows)
			})
		},
	}
	bankCmd.AddCommand(balance, supply, assets)

	consCmd := &cobra.Command{Use: "consortium", Short: "Members, validators and proposals of the consortium"}
	members := &cobra.Command{
		Use:   "members",
		Short: "Every member with roles and validator power",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]consortium.Member, error) {
				return c.Members(ctx)
			}, func(ms []consortium.Member) {
				var rows [][]string
				for _, m := range ms {
					power := "-"
					if m.Validator != nil {
						power = fmt.Sprint(m.Validator.Power)
					}
					rows = append(rows, []string{m.Name, m.Address.String(), strings.Join(m.Roles, ","), power})
				}
				table(e.stdout, []string{"NAME", "ADDRESS", "ROLES", "POWER"}, rows)
			})
		},
	}
	member := &cobra.Command{
		Use:   "member ADDRESS|NAME",
		Short: "One member",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*consortium.Member, error) {
				a, err := c.Resolve(args[0])
				if err != nil {
					return nil, err
				}
				return c.Member(ctx, a)
			}, func(m *consortium.Member) {
				kv := []string{"name", m.Name, "address", m.Address.String(), "roles", strings.Join(m.Roles, ",")}
				if m.Validator != nil {
					kv = append(kv, "consensus key", m.Validator.PubKey, "power", fmt.Sprint(m.Validator.Power))
				}
				if m.NodeID != "" {
					kv = append(kv, "node id", m.NodeID)
				}
				fields(e.stdout, kv...)
			})
		},
	}
	consCmd.AddCommand(members, member)
	consCmd.AddCommand(consortiumQueryCmds(e)...)

	tx := &cobra.Command{
		Use:   "tx HASH",
		Short: "A committed tx: its result, events and messages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// events describes the tx's events with the client and context
			// it was read with.
			var events func() []string
			return query(e, cmd, func(ctx context.Context, c *client.Client) (txShown, error) {
				res, err := c.Tx(ctx, args[0])
				if err != nil {
					return txShown{}, err
				}
				// A tx that cannot be decoded is shown without its messages.
				view, _ := c.DescribeTx(ctx, res.Tx)
				events = func() []string { return describeEvents(ctx, c, res.Events) }
				return txShown{res, view}, nil
			}, func(t txShown) {
				result := "ok (code 0)"
				if t.Code != 0 {
					result = fmt.Sprintf("failed: %s (code %d): %s", t.Reason, t.Code, t.Log)
				}
				fields(e.stdout, "txhash", t.Hash, "height", fmt.Sprint(t.Height), "result", result)
				if view := t.Tx; view != nil {
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
				for _, line := range events() {
					fmt.Fprintln(e.stdout, "  "+line)
				}
			})
		},
	}
	cmd.AddCommand(bankCmd, consCmd, identityQueryCmd(e), trustQueryCmd(e), rulesQueryCmd(e), delegationQueryCmd(e), paymentsQueryCmd(e), paramsQueryCmd(e), tx)
	return cmd
}

func statusCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "The node's chain id, height and sync state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*client.Status, error) {
				return c.Status(ctx)
			}, func(st *client.Status) {
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
			})
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
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]client.ErrorInfo, error) {
				list, err := c.ChainErrors(ctx)
				if err != nil {
					fmt.Fprintf(e.stderr, "note: node not reachable (%v); listing the codes this amp knows\n", err)
					list = client.LocalErrors()
				}
				return list, nil
			}, func(list []client.ErrorInfo) {
				var rows [][]string
				for _, x := range list {
					rows = append(rows, []string{fmt.Sprint(x.Code), x.Reason, x.Doc})
				}
				table(e.stdout, []string{"CODE", "REASON", "MEANING"}, rows)
			})
		},
	}
}
