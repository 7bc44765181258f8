package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/amp-ledger/amp/modules/trust"
	"github.com/amp-ledger/amp/node/client"
)

// trustQueryCmd is `amp query trust`: the Agent Trust Rating.
func trustQueryCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "trust", Short: "Agent Trust Ratings: scores, tiers and why"}
	score := &cobra.Command{
		Use:   "score AGENT",
		Short: "An agent's score, tier and caps, with every factor and gate that made them",
		Long: `Explain AGENT's trust rating (AGENT: Agent ID, key name or key address): the
score 0-1000, the autonomy tier and its caps, each factor with its input and
points, the gates that hold the tier down, and what the next tier needs.
See docs/trust.md for the factor table.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*trust.Explanation, error) {
				return c.TrustScore(ctx, args[0])
			}, func(x *trust.Explanation) { printExplanation(e, x) })
		},
	}
	tiers := &cobra.Command{
		Use:   "tiers",
		Short: "The autonomy tiers in force: thresholds, gates and caps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]trust.Tier, error) {
				return c.TrustTiers(ctx)
			}, func(ts []trust.Tier) {
				var rows [][]string
				for _, t := range ts {
					rows = append(rows, []string{t.Name, t.Label, fmt.Sprint(t.MinScore), fmt.Sprint(t.MinAttestationLevel),
						fmt.Sprint(t.MinAgeDays), fmt.Sprint(t.MinSettledPayments), yesNo(t.Autonomous), t.MaxPayment, t.MaxDaily, yesNo(t.Channels)})
				}
				table(e.stdout, []string{"TIER", "LABEL", "MIN SCORE", "MIN LEVEL", "MIN DAYS", "MIN PAYMENTS", "AUTONOMOUS", "MAX PAYMENT USD", "MAX DAILY USD", "CHANNELS"}, rows)
			})
		},
	}
	cmd.AddCommand(score, tiers)
	return cmd
}

func printExplanation(e *env, x *trust.Explanation) {
	fields(e.stdout,
		"agent", x.AgentID,
		"score", fmt.Sprintf("%d / %d", x.Score, trust.MaxScore),
		"tier", x.Tier+" ("+x.TierLabel+")",
		"caps", fmt.Sprintf("max payment %s USD, max daily %s USD, autonomous mandates %s, channels %s",
			x.Caps.MaxPayment, x.Caps.MaxDaily, yesNo(x.Caps.Autonomous), yesNo(x.Caps.Channels)),
		"as of", unixTime(x.AtTime))
	var rows [][]string
	for _, f := range x.Factors {
		rows = append(rows, []string{"  " + f.Name, f.Value, fmt.Sprintf("%+d", f.Points), f.Note})
	}
	fmt.Fprintln(e.stdout, "factors:")
	table(e.stdout, []string{"  FACTOR", "VALUE", "POINTS", "HOW"}, rows)
	rows = nil
	for _, g := range x.Gates {
		pass := "pass"
		if !g.Pass {
			pass = "FAIL"
		}
		rows = append(rows, []string{"  " + g.Name, g.Rule, g.Value, pass, g.Effect})
	}
	if len(rows) > 0 {
		fmt.Fprintln(e.stdout, "gates:")
		table(e.stdout, []string{"  GATE", "RULE", "VALUE", "", "EFFECT"}, rows)
	}
	if n := x.NextTier; n != nil {
		fmt.Fprintf(e.stdout, "next tier %s (%s) needs: %s\n", n.Tier, n.Label, strings.Join(n.Missing, "; "))
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
