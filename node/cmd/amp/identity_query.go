package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/node/client"
)

// identityQueryCmd is `amp query identity`.
func identityQueryCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "People, devices, agents, merchants and wallet bindings"}

	// byAddress makes a query of one address argument (key name or address).
	byAddress := func(use, short string, run func(cmd *cobra.Command, a chain.Address) error) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			a, err := c.Resolve(args[0])
			if err != nil {
				return err
			}
			return run(cmd, a)
		}}
	}

	person := byAddress("person ADDRESS|NAME", "A person with their devices and bound agents", func(cmd *cobra.Command, a chain.Address) error {
		return query(e, cmd, func(ctx context.Context, c *client.Client) (*identity.PersonView, error) {
			return c.Person(ctx, a)
		}, func(p *identity.PersonView) {
			fields(e.stdout, "person", p.Address.String(), "wallet", p.Wallet.String(), "registered", unixTime(p.RegisteredAt)+fmt.Sprintf(" (height %d)", p.Height))
			fmt.Fprintf(e.stdout, "devices (%d):\n", len(p.Devices))
			e.deviceTable(p.Devices)
			fmt.Fprintf(e.stdout, "bound agents (%d):\n", len(p.Bindings))
			bindingTable(e, p.Bindings)
		})
	})
	device := byAddress("device ADDRESS|NAME", "One device key, its person and scopes", func(cmd *cobra.Command, a chain.Address) error {
		return query(e, cmd, func(ctx context.Context, c *client.Client) (*identity.Device, error) {
			return c.Device(ctx, a)
		}, func(d *identity.Device) { e.deviceTable([]identity.Device{*d}) })
	})
	agent := &cobra.Command{
		Use:   "agent AGENT",
		Short: "An agent's KYA identity: key, owner, issuer, status, attestations (AGENT: Agent ID, key name or address)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*identity.AgentView, error) {
				return c.Agent(ctx, args[0])
			}, func(a *identity.AgentView) { printAgent(e, a) })
		},
	}
	agents := &cobra.Command{
		Use:   "agents [AFTER-AGENT-ID]",
		Short: "Agents in ID order, 100 at a time",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			after := ""
			if len(args) == 1 {
				after = args[0]
			}
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]identity.AgentView, error) {
				return c.Agents(ctx, after)
			}, func(as []identity.AgentView) {
				var rows [][]string
				for _, a := range as {
					rows = append(rows, []string{a.ID, a.Profile.Name, a.Status, fmt.Sprint(a.AttestationLevel), a.Owner.String(), a.Builder})
				}
				table(e.stdout, []string{"AGENT", "NAME", "STATUS", "LEVEL", "OWNER", "BUILDER"}, rows)
			})
		},
	}
	merchant := byAddress("merchant ADDRESS|NAME", "A merchant: name, category, country, settlement account, acquirer", func(cmd *cobra.Command, a chain.Address) error {
		return query(e, cmd, func(ctx context.Context, c *client.Client) (*identity.Merchant, error) {
			return c.Merchant(ctx, a)
		}, func(m *identity.Merchant) {
			kv := []string{"merchant", m.Address.String(), "name", m.Name, "mcc", m.MCC, "country", m.Country,
				"settlement", m.Settlement.String(), "acquirer", m.Acquirer.String(), "registered", unixTime(m.RegisteredAt)}
			if m.SellerAgentKey != nil {
				kv = append(kv, "seller agent key", m.SellerAgentKey.Type+":"+fmt.Sprintf("%x", m.SellerAgentKey.Key))
			}
			fields(e.stdout, kv...)
		})
	})
	binding := &cobra.Command{
		Use:   "binding BINDING-ID",
		Short: "One wallet binding",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*identity.Binding, error) {
				return c.Binding(ctx, args[0])
			}, func(b *identity.Binding) { bindingTable(e, []identity.Binding{*b}) })
		},
	}
	bindings := &cobra.Command{
		Use:   "bindings PERSON|AGENT",
		Short: "The bindings of a person, or of an agent",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]identity.Binding, error) {
				ref, err := c.AgentRef(args[0])
				if err != nil {
					return nil, err
				}
				return c.Bindings(ctx, ref)
			}, func(bs []identity.Binding) { bindingTable(e, bs) })
		},
	}
	whois := byAddress("whois ADDRESS|NAME", "What an address is registered as: person, device, agent, merchant …", func(cmd *cobra.Command, a chain.Address) error {
		return query(e, cmd, func(ctx context.Context, c *client.Client) (*identity.Whois, error) {
			return c.Whois(ctx, a)
		}, func(w *identity.Whois) {
			kv := []string{"address", w.Address.String(), "kind", w.Kind}
			if w.Of != "" {
				kv = append(kv, "of", w.Of)
			}
			fields(e.stdout, kv...)
		})
	})
	cmd.AddCommand(person, device, agent, agents, merchant, binding, bindings, whois)
	return cmd
}

func printAgent(e *env, a *identity.AgentView) {
	kv := []string{
		"agent id", a.ID, "status", a.Status,
		"attestation level", fmt.Sprintf("%d (from %d issuer(s))", a.AttestationLevel, a.Issuers),
		"name", strings.TrimSpace(a.Profile.Name + " " + a.Profile.Model + " " + a.Profile.Version),
		"key", fmt.Sprintf("%s %s", a.Key.Type, a.KeyAddress),
		"owner", a.Owner.String(), "builder", a.Builder, "issuer", a.Issuer.String(),
		"onboarded", unixTime(a.OnboardedAt) + fmt.Sprintf(" (height %d)", a.Height),
	}
	if len(a.Profile.Capabilities) > 0 {
		kv = append(kv, "capabilities", strings.Join(a.Profile.Capabilities, ", "))
	}
	if a.KeyRotations > 0 {
		kv = append(kv, "key rotations", fmt.Sprint(a.KeyRotations))
	}
	fields(e.stdout, kv...)
	var rows [][]string
	for _, at := range a.Attestations {
		rows = append(rows, []string{"  " + at.Issuer.String(), fmt.Sprint(at.Level), unixTime(at.ExpiresAt), strings.Join(at.Items, ",")})
	}
	fmt.Fprintln(e.stdout, "attestations:")
	table(e.stdout, []string{"  ISSUER", "LEVEL", "EXPIRES", "ITEMS"}, rows)
	if len(a.Suspensions) > 0 {
		fmt.Fprintln(e.stdout, "suspended by:")
		rows = nil
		for _, s := range a.Suspensions {
			rows = append(rows, []string{"  " + s.Issuer.String(), unixTime(s.At), s.Reason})
		}
		table(e.stdout, []string{"  ISSUER", "SINCE", "REASON"}, rows)
	}
}

func (e *env) deviceTable(ds []identity.Device) {
	var rows [][]string
	for _, d := range ds {
		limit := ""
		if d.ApproveLimit != nil {
			limit = d.ApproveLimit.BaseUnits + " " + d.ApproveLimit.Asset + " base units"
		}
		rows = append(rows, []string{"  " + d.Address.String(), d.Kind, d.Label, d.Key.Type, strings.Join(d.Scopes, ","), limit})
	}
	table(e.stdout, []string{"  DEVICE", "KIND", "LABEL", "KEY", "SCOPES", "APPROVE LIMIT"}, rows)
}

func bindingTable(e *env, bs []identity.Binding) {
	var rows [][]string
	for _, b := range bs {
		rows = append(rows, []string{"  " + b.ID, b.AgentID, b.Person.String(), unixTime(b.CreatedAt)})
	}
	table(e.stdout, []string{"  BINDING", "AGENT", "PERSON", "SINCE"}, rows)
}

func unixTime(s int64) string { return time.Unix(s, 0).UTC().Format(time.RFC3339) }
