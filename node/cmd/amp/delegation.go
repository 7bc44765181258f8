package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/node/client"
)

// Default lifetimes of a mandate from now.
const (
	defaultMandateExpiry   = "720h" // AUTONOMOUS: 30 days
	defaultCheckoutExpiry  = "24h"  // IMMEDIATE: one checkout
	noLimit                = "none" // removes an optional limit in update
	personFromUsage        = "name (or address) of the person's key or of their device with the needed scope"
	personOrAgentFromUsage = "name (or address) of the agent's key, the person's, or their device's"
)

// msgBuild makes the one message of a tx from the arguments, once the
// client and the signer are known, with the keys that co-sign it.
type msgBuild func(ctx context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error)

// msgCmd makes cmd a tx command whose tx holds the one message build
// makes; read, if not nil, adds what the tx made to the output.
func (e *env) msgCmd(cmd *cobra.Command, fromUsage string, read readBack, build msgBuild) *cobra.Command {
	return e.newTxCmdReading(cmd, fromUsage, func(args []string) (builder, readBack, error) {
		return func(ctx context.Context, c *client.Client, signer chain.Address) ([]proto.Message, []chain.PrivKey, error) {
			m, co, err := build(ctx, c, signer, args)
			if err != nil {
				return nil, nil, err
			}
			return []proto.Message{m}, co, nil
		}, read, nil
	})
}

// mandateFlags are the flags every new mandate has: who it is for and
// how long it lasts.
type mandateFlags struct {
	agent, person, expires, description string
}

func (f *mandateFlags) add(cmd *cobra.Command, expires string, agentRequired bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.agent, "agent", "", "the agent: Agent ID (agent-1), key name or key address")
	fl.StringVar(&f.person, "person", "", "the person (default: --from, or --from's person when --from is a device)")
	fl.StringVar(&f.expires, "expires", expires, "when the mandate expires: a duration from now (720h, 30d) or an RFC 3339 time")
	fl.StringVar(&f.description, "description", "", "the person's intent, shown in their wallet (at most 256 bytes)")
	if agentRequired {
		_ = cmd.MarkFlagRequired("agent")
	}
}

// parties resolves the person and the agent of a new mandate. draft is
// true for MsgDraftMandate, which the agent may sign: then the agent
// defaults to the signer and --person is required.
func (f *mandateFlags) parties(ctx context.Context, c *client.Client, signer chain.Address, draft bool) (chain.Address, string, error) {
	if draft {
		w, err := c.Whois(ctx, signer)
		if err != nil {
			return chain.Address{}, "", err
		}
		if w.Kind == "agent" {
			if f.person == "" {
				return chain.Address{}, "", usagef("--person is required when the agent drafts: whose mandate is it?")
			}
			agent := f.agent
			if agent == "" {
				agent = signer.String()
			}
			id, err := c.AgentID(ctx, agent)
			if err != nil {
				return chain.Address{}, "", fmt.Errorf("--agent: %w", err)
			}
			p, err := personOf(ctx, c, signer, f.person)
			return p, id, err
		}
	}
	if f.agent == "" {
		return chain.Address{}, "", usagef("--agent is required: the agent the mandate is for")
	}
	id, err := c.AgentID(ctx, f.agent)
	if err != nil {
		return chain.Address{}, "", fmt.Errorf("--agent: %w", err)
	}
	p, err := personOf(ctx, c, signer, f.person)
	return p, id, err
}

// terms completes the terms with the expiry and the description.
func (f *mandateFlags) terms(t *pb.Terms) (*pb.Terms, error) {
	exp, err := parseExpiry(f.expires, time.Now())
	if err != nil {
		return nil, err
	}
	t.ExpiresAt, t.Description = exp.Unix(), f.description
	return t, nil
}

// autonomousFlags are the constraints of an AUTONOMOUS mandate.
type autonomousFlags struct {
	budget, perPayment, minPayment, approvalAbove, perPeriod string
	merchants, blocked, mccs, countries, period              string
	perPeriodCount                                           uint32
}

func (f *autonomousFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.budget, "budget", "", "total the agent may spend over the mandate's life, e.g. 50USD (required)")
	fl.StringVar(&f.perPayment, "per-payment", "", "largest single payment")
	fl.StringVar(&f.minPayment, "min-payment", "", "smallest single payment")
	fl.StringVar(&f.approvalAbove, "approval-above", "", "above this a device of the person with the approve scope must co-sign the payment (0: every payment)")
	fl.StringVar(&f.merchants, "merchants", "", "comma-separated merchants (key names or addresses) the agent may pay; default any")
	fl.StringVar(&f.blocked, "block-merchants", "", "comma-separated merchants the agent may never pay")
	fl.StringVar(&f.mccs, "mccs", "", "comma-separated merchant categories (ISO 18245, e.g. 5411,5999); default any")
	fl.StringVar(&f.countries, "countries", "", "comma-separated merchant countries (ISO 3166-1 alpha-2, e.g. SG,US); default any")
	fl.StringVar(&f.period, "period", "", "length of the period --per-period and --per-period-count count in (24h, 7d, or seconds; default one day)")
	fl.StringVar(&f.perPeriod, "per-period", "", "most the agent may spend per period")
	fl.Uint32Var(&f.perPeriodCount, "per-period-count", 0, "most payments per period (0: no limit)")
	_ = cmd.MarkFlagRequired("budget")
}

func (f *autonomousFlags) terms(ctx context.Context, c *client.Client) (*pb.Terms, error) {
	budget, err := c.ParseCoin(ctx, f.budget)
	if err != nil {
		return nil, fmt.Errorf("--budget: %w", err)
	}
	cs := &pb.Constraints{Budget: bank.CoinProto(budget), PerPeriodCount: f.perPeriodCount, Mccs: splitList(f.mccs)}
	for _, cc := range splitList(f.countries) {
		cs.Countries = append(cs.Countries, strings.ToUpper(cc))
	}
	for _, o := range []struct {
		flag, value string
		to          *string
		zeroOK      bool
	}{
		{"per-payment", f.perPayment, &cs.MaxPayment, false},
		{"min-payment", f.minPayment, &cs.MinPayment, false},
		{"approval-above", f.approvalAbove, &cs.ApprovalAbove, true},
		{"per-period", f.perPeriod, &cs.PerPeriod, false},
	} {
		if o.value == "" {
			continue
		}
		a, err := limitAmount(ctx, c, o.flag, o.value, budget.Asset, o.zeroOK)
		if err != nil {
			return nil, err
		}
		*o.to = a.String()
	}
	if cs.Merchants, err = resolveAll(c, "merchants", f.merchants); err != nil {
		return nil, err
	}
	if cs.BlockedMerchants, err = resolveAll(c, "block-merchants", f.blocked); err != nil {
		return nil, err
	}
	if f.period != "" {
		if cs.PeriodSeconds, err = parseSeconds("--period", f.period); err != nil {
			return nil, err
		}
	}
	return &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_AUTONOMOUS, Constraints: cs}, nil
}

// checkoutFlags fix the one checkout of an IMMEDIATE mandate.
type checkoutFlags struct {
	merchant, amount, order string
}

func (f *checkoutFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.merchant, "merchant", "", "the merchant of the checkout (key name or address)")
	fl.StringVar(&f.amount, "amount", "", "the checkout's amount, e.g. 42.5USD")
	fl.StringVar(&f.order, "order", "", "the order reference (its SHA-256 is fixed in the mandate; the payment must use the same)")
	for _, n := range []string{"merchant", "amount", "order"} {
		_ = cmd.MarkFlagRequired(n)
	}
}

func (f *checkoutFlags) terms(ctx context.Context, c *client.Client) (*pb.Terms, error) {
	m, err := c.Resolve(f.merchant)
	if err != nil {
		return nil, fmt.Errorf("--merchant: %w", err)
	}
	coin, err := c.ParseCoin(ctx, f.amount)
	if err != nil {
		return nil, fmt.Errorf("--amount: %w", err)
	}
	return &pb.Terms{Type: pb.MandateType_MANDATE_TYPE_IMMEDIATE,
		Checkout: &pb.Checkout{Merchant: m[:], Amount: bank.CoinProto(coin), OrderHash: client.OrderHash(f.order)}}, nil
}

// limitAmount parses an amount of a mandate whose asset is asset: "20USD",
// or a plain number meaning that asset.
func limitAmount(ctx context.Context, c *client.Client, flag, s, asset string, zeroOK bool) (chain.Amount, error) {
	num, sym := chain.SplitCoin(s)
	if strings.IndexFunc(s, unicode.IsLetter) < 0 {
		sym = asset
	}
	if sym != asset {
		return chain.Amount{}, chain.Wrapf(delegation.ErrAssetMismatch, "--%s %s: the mandate is in %s", flag, s, asset)
	}
	as, err := c.Asset(ctx, sym)
	if err != nil {
		return chain.Amount{}, fmt.Errorf("--%s: %w", flag, err)
	}
	if strings.HasPrefix(num, "-") {
		return chain.Amount{}, chain.Wrapf(chain.ErrInvalidAmount, "--%s %s is negative", flag, s)
	}
	a, err := chain.ParseDecimal(num, as.Decimals)
	if err != nil {
		return chain.Amount{}, fmt.Errorf("--%s: %w", flag, err)
	}
	if a.IsZero() && !zeroOK {
		return chain.Amount{}, chain.Wrapf(chain.ErrInvalidAmount, "--%s must be positive", flag)
	}
	return a, nil
}

// resolveAll resolves a comma-separated list of key names or addresses.
func resolveAll(c *client.Client, flag, list string) ([][]byte, error) {
	var out [][]byte
	for _, s := range splitList(list) {
		a, err := c.Resolve(s)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		out = append(out, a[:])
	}
	return out, nil
}

// parseSeconds reads a length of time: "7d", a Go duration ("24h") or a
// whole number of seconds.
func parseSeconds(flag, s string) (uint64, error) {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseUint(d, 10, 32); err == nil {
			return n * 86400, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 && d%time.Second == 0 {
		return uint64(d / time.Second), nil
	}
	return 0, usagef("%s %q: want whole seconds (3600), days (7d) or a duration (24h)", flag, s)
}

// delegationTxCmd is `amp tx delegation`: mandates (docs/mandates.md).
func delegationTxCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "delegation", Short: "Mandates: grant, draft, activate, update, revoke and close what an agent may pay for"}

	var gm mandateFlags
	var ga autonomousFlags
	grant := e.msgCmd(&cobra.Command{
		Use:   "grant --from PERSON|DEVICE --agent AGENT --budget AMOUNT [constraints] [--expires 720h]",
		Short: "Grant an agent an AUTONOMOUS mandate (drafted and activated at once); prints its id",
		Long: `Grant the agent --agent an activated AUTONOMOUS mandate: it may pay, within the
constraints below, without the person present. --from is the person, or their
device with the activate scope. Amounts are like 20USD; in the limits a plain
number is in the budget's asset. The mandate id is printed as "id".`,
		Args: cobra.NoArgs,
	}, personFromUsage, nil, func(ctx context.Context, c *client.Client, signer chain.Address, _ []string) (proto.Message, []chain.PrivKey, error) {
		person, agent, err := gm.parties(ctx, c, signer, false)
		if err != nil {
			return nil, nil, err
		}
		t, err := ga.terms(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		if t, err = gm.terms(t); err != nil {
			return nil, nil, err
		}
		return &pb.MsgGrantMandate{Person: person[:], AgentId: agent, Terms: t}, nil, nil
	})
	gm.add(grant, defaultMandateExpiry, true)
	ga.add(grant)

	var dm mandateFlags
	var da autonomousFlags
	draft := e.msgCmd(&cobra.Command{
		Use:   "draft --from AGENT|PERSON|DEVICE [--agent AGENT] [--person PERSON] --budget AMOUNT [constraints]",
		Short: "Draft an inactive AUTONOMOUS mandate for the person to activate; prints its id",
		Long: `Record an inactive AUTONOMOUS mandate from the person's intent. The agent drafts
it (--from its key, --person required, --agent defaults to --from) or the person
does (--from the person or a device, --agent required). The person activates it
with "amp tx delegation activate". Flags as for grant.`,
		Args: cobra.NoArgs,
	}, personOrAgentFromUsage, nil, func(ctx context.Context, c *client.Client, signer chain.Address, _ []string) (proto.Message, []chain.PrivKey, error) {
		person, agent, err := dm.parties(ctx, c, signer, true)
		if err != nil {
			return nil, nil, err
		}
		t, err := da.terms(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		if t, err = dm.terms(t); err != nil {
			return nil, nil, err
		}
		return &pb.MsgDraftMandate{Person: person[:], AgentId: agent, Terms: t}, nil, nil
	})
	dm.add(draft, defaultMandateExpiry, false)
	da.add(draft)

	var im mandateFlags
	var ic checkoutFlags
	grantImmediate := e.msgCmd(&cobra.Command{
		Use:   "grant-immediate --from PERSON|DEVICE --agent AGENT --merchant M --amount AMOUNT --order REF [--expires 24h]",
		Short: "Grant an agent an IMMEDIATE mandate for one checkout (merchant, amount, order); prints its id",
		Long: `Grant the agent --agent an activated IMMEDIATE mandate: the person is present and
fixes one checkout — the merchant, the amount and the order (its SHA-256). The
agent pays it once, with "amp tx payments pay" and the same --order.`,
		Args: cobra.NoArgs,
	}, personFromUsage, nil, func(ctx context.Context, c *client.Client, signer chain.Address, _ []string) (proto.Message, []chain.PrivKey, error) {
		person, agent, err := im.parties(ctx, c, signer, false)
		if err != nil {
			return nil, nil, err
		}
		t, err := ic.terms(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		if t, err = im.terms(t); err != nil {
			return nil, nil, err
		}
		return &pb.MsgGrantMandate{Person: person[:], AgentId: agent, Terms: t}, nil, nil
	})
	im.add(grantImmediate, defaultCheckoutExpiry, true)
	ic.add(grantImmediate)

	var dim mandateFlags
	var dic checkoutFlags
	draftImmediate := e.msgCmd(&cobra.Command{
		Use:   "draft-immediate --from AGENT|PERSON|DEVICE [--agent AGENT] [--person PERSON] --merchant M --amount AMOUNT --order REF",
		Short: "Draft an inactive IMMEDIATE mandate (the agent's proposed checkout) for the person to activate; prints its id",
		Args:  cobra.NoArgs,
	}, personOrAgentFromUsage, nil, func(ctx context.Context, c *client.Client, signer chain.Address, _ []string) (proto.Message, []chain.PrivKey, error) {
		person, agent, err := dim.parties(ctx, c, signer, true)
		if err != nil {
			return nil, nil, err
		}
		t, err := dic.terms(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		if t, err = dim.terms(t); err != nil {
			return nil, nil, err
		}
		return &pb.MsgDraftMandate{Person: person[:], AgentId: agent, Terms: t}, nil, nil
	})
	dim.add(draftImmediate, defaultCheckoutExpiry, false)
	dic.add(draftImmediate)

	byID := func(use, short, fromUsage string, msg func(id string) proto.Message) *cobra.Command {
		return e.msgCmd(&cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1)}, fromUsage, nil,
			func(_ context.Context, _ *client.Client, _ chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
				return msg(args[0]), nil, nil
			})
	}
	activate := byID("activate --from PERSON|DEVICE MANDATE", "Activate a drafted mandate (the person, or a device with the activate scope)",
		personFromUsage, func(id string) proto.Message { return &pb.MsgActivateMandate{MandateId: id} })
	revoke := byID("revoke --from PERSON|DEVICE MANDATE", "Revoke a mandate for good (the person, or a device with the revoke scope); proposers put revocations first",
		personFromUsage, func(id string) proto.Message { return &pb.MsgRevokeMandate{MandateId: id} })
	closeCmd := byID("close --from AGENT|PERSON|DEVICE MANDATE", "Close a mandate whose task is done (status finished): its agent, the person, or a device with the revoke scope",
		personOrAgentFromUsage, func(id string) proto.Message { return &pb.MsgCloseMandate{MandateId: id} })

	var up struct {
		budget, perPayment, perPeriod, perPeriodCount, approvalAbove, expires string
	}
	var update *cobra.Command
	update = e.msgCmd(&cobra.Command{
		Use:   "update --from PERSON|DEVICE MANDATE [--budget A] [--per-payment A|none] [--per-period A|none] [--per-period-count N|none] [--approval-above A|none] [--expires T]",
		Short: "Raise or lower an AUTONOMOUS mandate's limits from the next block (the person, or a device with the update scope)",
		Long: `Change the limits of an inactive or activated AUTONOMOUS mandate. Only the flags
given change; "none" removes an optional limit. The budget cannot go below what
is already spent; a raise counts against the person's wallet limits. A plain
number is in the mandate's asset.`,
		Args: cobra.ExactArgs(1),
	}, personFromUsage, nil, func(ctx context.Context, c *client.Client, _ chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
		m := &pb.MsgUpdateMandate{MandateId: args[0]}
		changed := update.Flags().Changed
		asset := ""
		if changed("budget") || changed("per-payment") || changed("per-period") || changed("approval-above") {
			v, err := c.Mandate(ctx, args[0])
			if err != nil {
				return nil, nil, err
			}
			asset = v.Asset
		}
		for _, o := range []struct {
			flag, value string
			to          **string
			removable   bool
		}{
			{"budget", up.budget, &m.Budget, false},
			{"per-payment", up.perPayment, &m.MaxPayment, true},
			{"per-period", up.perPeriod, &m.PerPeriod, true},
			{"approval-above", up.approvalAbove, &m.ApprovalAbove, true},
		} {
			if !changed(o.flag) {
				continue
			}
			if o.removable && strings.EqualFold(o.value, noLimit) {
				*o.to = proto.String("")
				continue
			}
			a, err := limitAmount(ctx, c, o.flag, o.value, asset, o.flag == "approval-above")
			if err != nil {
				return nil, nil, err
			}
			*o.to = proto.String(a.String())
		}
		if changed("per-period-count") {
			n := uint64(0)
			if !strings.EqualFold(up.perPeriodCount, noLimit) {
				var err error
				if n, err = strconv.ParseUint(up.perPeriodCount, 10, 32); err != nil {
					return nil, nil, usagef("--per-period-count %q: want a whole number or none", up.perPeriodCount)
				}
			}
			m.PerPeriodCount = proto.Uint32(uint32(n))
		}
		if changed("expires") {
			exp, err := parseExpiry(up.expires, time.Now())
			if err != nil {
				return nil, nil, err
			}
			m.ExpiresAt = proto.Int64(exp.Unix())
		}
		if m.Budget == nil && m.MaxPayment == nil && m.PerPeriod == nil && m.PerPeriodCount == nil && m.ApprovalAbove == nil && m.ExpiresAt == nil {
			return nil, nil, usagef("nothing to update: give --budget, --per-payment, --per-period, --per-period-count, --approval-above or --expires")
		}
		return m, nil, nil
	})
	uf := update.Flags()
	uf.StringVar(&up.budget, "budget", "", "the new total budget")
	uf.StringVar(&up.perPayment, "per-payment", "", `largest single payment, or "none"`)
	uf.StringVar(&up.perPeriod, "per-period", "", `most spent per period, or "none"`)
	uf.StringVar(&up.perPeriodCount, "per-period-count", "", `most payments per period, or "none" (0)`)
	uf.StringVar(&up.approvalAbove, "approval-above", "", `the approval threshold, or "none"`)
	uf.StringVar(&up.expires, "expires", "", "the new expiry: a duration from now (720h, 30d) or an RFC 3339 time")

	var lim struct{ person, perMandate, daily string }
	limits := e.msgCmd(&cobra.Command{
		Use:   "limits --from PERSON|DEVICE --max-per-mandate AMOUNT --max-daily AMOUNT [--person P]",
		Short: "Set the person's wallet-level delegation limits for an asset: largest budget of one mandate, budgets activated per day",
		Args:  cobra.NoArgs,
	}, personFromUsage, nil, func(ctx context.Context, c *client.Client, signer chain.Address, _ []string) (proto.Message, []chain.PrivKey, error) {
		p, err := personOf(ctx, c, signer, lim.person)
		if err != nil {
			return nil, nil, err
		}
		per, err := c.ParseCoin(ctx, lim.perMandate)
		if err != nil {
			return nil, nil, fmt.Errorf("--max-per-mandate: %w", err)
		}
		daily, err := c.ParseCoin(ctx, lim.daily)
		if err != nil {
			return nil, nil, fmt.Errorf("--max-daily: %w", err)
		}
		return &pb.MsgSetWalletLimits{Person: p[:], MaxPerMandate: bank.CoinProto(per), MaxDaily: bank.CoinProto(daily)}, nil, nil
	})
	lf := limits.Flags()
	lf.StringVar(&lim.person, "person", "", "the person (default: --from, or --from's person when --from is a device)")
	lf.StringVar(&lim.perMandate, "max-per-mandate", "", "largest budget of any one mandate, e.g. 500USD")
	lf.StringVar(&lim.daily, "max-daily", "", "most budget activated per UTC day in total, e.g. 1000USD")
	_ = limits.MarkFlagRequired("max-per-mandate")
	_ = limits.MarkFlagRequired("max-daily")

	cmd.AddCommand(grant, draft, grantImmediate, draftImmediate, activate, update, revoke, closeCmd, limits)
	return cmd
}

// delegationQueryCmd is `amp query delegation`.
func delegationQueryCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "delegation", Short: "Mandates and wallet-level delegation limits"}
	mandate := &cobra.Command{
		Use:   "mandate MANDATE",
		Short: "A mandate: status, budget, consumed, available, constraints, current period",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*delegation.MandateView, error) {
				return c.Mandate(ctx, args[0])
			}, func(v *delegation.MandateView) { e.printMandate(v) })
		},
	}
	mandates := &cobra.Command{
		Use:   "mandates PERSON|AGENT",
		Short: "A person's or an agent's mandates, newest first (at most 100)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]delegation.MandateView, error) {
				return c.Mandates(ctx, args[0])
			}, func(vs []delegation.MandateView) {
				var rows [][]string
				for _, v := range vs {
					rows = append(rows, []string{v.ID, v.Type, v.Status, v.AgentID, e.names().of(v.Person),
						v.Budget + " " + v.Asset, v.Consumed + " " + v.Asset, v.Available + " " + v.Asset, unixTime(v.ExpiresAt), v.Description})
				}
				table(e.stdout, []string{"MANDATE", "TYPE", "STATUS", "AGENT", "PERSON", "BUDGET", "CONSUMED", "AVAILABLE", "EXPIRES", "DESCRIPTION"}, rows)
			})
		},
	}
	var asset string
	limits := &cobra.Command{
		Use:   "limits PERSON [--asset USD]",
		Short: "A person's wallet-level delegation limits for an asset, and the budgets activated today",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*delegation.LimitsView, error) {
				p, err := c.Resolve(args[0])
				if err != nil {
					return nil, err
				}
				return c.WalletLimits(ctx, p, asset)
			}, func(v *delegation.LimitsView) {
				source := "the chain's defaults"
				if v.Own {
					source = "set by the person"
				}
				fields(e.stdout, "person", e.names().of(v.Person), "asset", v.Asset,
					"max per mandate", v.MaxPerMandate+" "+v.Asset, "max daily", v.MaxDaily+" "+v.Asset,
					"delegated today", v.DelegatedToday+" "+v.Asset, "limits", source)
			})
		},
	}
	limits.Flags().StringVar(&asset, "asset", chain.DefaultAsset, "the asset")
	cmd.AddCommand(mandate, mandates, limits)
	return cmd
}

// printMandate shows a mandate for people.
func (e *env) printMandate(v *delegation.MandateView) {
	n := e.names()
	money := func(s string) string { return s + " " + v.Asset }
	kv := []string{"mandate", v.ID + " (" + v.Type + ")", "status", v.Status}
	if v.Description != "" {
		kv = append(kv, "description", v.Description)
	}
	kv = append(kv, "person", n.of(v.Person), "agent", v.AgentID,
		"budget", money(v.Budget),
		"consumed", fmt.Sprintf("%s (%s) in %d payment(s)", money(v.Consumed), percent(v.Utilisation), v.Payments),
		"reserved", money(v.Reserved), "available", money(v.Available))
	if ck := v.Checkout; ck != nil {
		kv = append(kv, "checkout", fmt.Sprintf("%s to %s, order %s", money(ck.Amount), n.of(ck.Merchant), ck.OrderHash))
	}
	if cs := v.Constraints; cs != nil {
		if cs.MaxPayment != "" || cs.MinPayment != "" {
			r := "at most " + money(cs.MaxPayment)
			switch {
			case cs.MaxPayment == "":
				r = "at least " + money(cs.MinPayment)
			case cs.MinPayment != "":
				r = "from " + money(cs.MinPayment) + " to " + money(cs.MaxPayment)
			}
			kv = append(kv, "per payment", r)
		}
		switch cs.ApprovalAbove {
		case "":
		case "0":
			kv = append(kv, "approval", "a device of the person approves every payment")
		default:
			kv = append(kv, "approval", "a device of the person approves payments above "+money(cs.ApprovalAbove))
		}
		list := func(name string, as []chain.Address) {
			if len(as) == 0 {
				return
			}
			var s []string
			for _, a := range as {
				s = append(s, n.of(a))
			}
			kv = append(kv, name, strings.Join(s, ", "))
		}
		list("merchants", cs.Merchants)
		list("blocked", cs.BlockedMerchants)
		if len(cs.MCCs) > 0 {
			kv = append(kv, "categories", strings.Join(cs.MCCs, ", "))
		}
		if len(cs.Countries) > 0 {
			kv = append(kv, "countries", strings.Join(cs.Countries, ", "))
		}
		var per []string
		if cs.PerPeriod != "" {
			per = append(per, "at most "+money(cs.PerPeriod))
		}
		if cs.PerPeriodCount > 0 {
			per = append(per, fmt.Sprintf("at most %d payment(s)", cs.PerPeriodCount))
		}
		p := "every " + periodText(cs.PeriodSeconds)
		if len(per) > 0 {
			p += ": " + strings.Join(per, ", ")
		}
		if pv := v.Period; pv != nil {
			p += fmt.Sprintf("; this period (since %s) %s in %d payment(s)", unixTime(pv.Start), money(pv.Spent), pv.Count)
		}
		kv = append(kv, "period", p)
	}
	kv = append(kv, "created", unixTime(v.CreatedAt)+" by "+n.of(v.DraftedBy))
	if v.ActivatedAt != 0 {
		kv = append(kv, "activated", unixTime(v.ActivatedAt))
	}
	kv = append(kv, "expires", unixTime(v.ExpiresAt))
	if v.ClosedAt != 0 {
		kv = append(kv, "ended", unixTime(v.ClosedAt))
	}
	fields(e.stdout, kv...)
}

// periodText is a period for people: "1 day", "7 days", "12h0m0s".
func periodText(secs uint64) string {
	switch {
	case secs == 86400:
		return "1 day"
	case secs > 0 && secs%86400 == 0:
		return fmt.Sprintf("%d days", secs/86400)
	}
	return (time.Duration(secs) * time.Second).String()
}

// percent formats basis points: 5600 → "56%", 9633 → "96.33%".
func percent(bp int) string {
	s := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".") + "%"
}

// addressNames names addresses by the keys of the home's keyring.
type addressNames map[chain.Address]string

// names returns the keyring's names (none without a keyring).
func (e *env) names() addressNames {
	out := addressNames{}
	kr, err := e.keyringFor(false)
	if err != nil || kr == nil {
		return out
	}
	keys, _ := kr.List()
	for _, k := range keys {
		out[k.Address()] = k.Name
	}
	return out
}

// of is an address with its key name, if the keyring has it.
func (n addressNames) of(a chain.Address) string {
	if name, ok := n[a]; ok {
		return a.String() + " (" + name + ")"
	}
	return a.String()
}

// describeDelegationEvent renders the mandate and payment events of a tx
// for people.
func describeDelegationEvent(ctx context.Context, c *client.Client, typ string, attrs map[string]string) (string, bool) {
	coin := func(amountKey string) string {
		amt, err := chain.ParseBaseUnits(attrs[amountKey])
		if err != nil || attrs["asset"] == "" {
			return attrs[amountKey] + " base units"
		}
		return c.FormatCoin(ctx, chain.Coin{Asset: attrs["asset"], Amount: amt})
	}
	switch typ {
	case "mandate_drafted":
		return fmt.Sprintf("mandate %s drafted: %s, for %s of %s", attrs["mandate_id"], attrs["type"], attrs["agent_id"], attrs["person"]), true
	case "mandate_activated":
		return fmt.Sprintf("mandate %s activated by %s: budget %s for %s", attrs["mandate_id"], attrs["by"], coin("budget"), attrs["agent_id"]), true
	case "mandate_updated":
		return fmt.Sprintf("mandate %s updated by %s", attrs["mandate_id"], attrs["by"]), true
	case "mandate_revoked", "mandate_expired", "mandate_finished":
		return fmt.Sprintf("mandate %s %s: %s", attrs["mandate_id"], strings.TrimPrefix(typ, "mandate_"), attrs["why"]), true
	case "wallet_limits_set":
		return fmt.Sprintf("wallet limits of %s: %s per mandate, %s per day", attrs["person"], coin("max_per_mandate"), coin("max_daily")), true
	case "payment_authorized":
		return fmt.Sprintf("token %s reserves %s under %s for merchant %s until height %s",
			attrs["token_id"], coin("amount"), attrs["mandate_id"], attrs["merchant"], attrs["expires_height"]), true
	case "payment_captured":
		release := attrs["release_at"]
		if at, err := strconv.ParseInt(release, 10, 64); err == nil {
			release = unixTime(at)
		}
		return fmt.Sprintf("payment %s of %s under %s to merchant %s, in escrow until %s",
			attrs["payment_id"], coin("amount"), attrs["mandate_id"], attrs["merchant"], release), true
	case "protection_window_set":
		return fmt.Sprintf("protection window of %s: %s seconds", attrs["merchant"], attrs["seconds"]), true
	}
	return "", false
}
