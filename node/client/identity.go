package client

import (
	"context"
	"strings"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/trust"
)

// AgentRef turns what a person types for an agent — an Agent ID
// ("agent-3"), the keyring name of the agent's key, or its address — into
// the form the node resolves (the Agent ID or the key's address).
func (c *Client) AgentRef(s string) (string, error) {
	if strings.HasPrefix(s, "agent-") {
		return s, nil
	}
	a, err := c.Resolve(s)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

// Agent returns an agent by Agent ID, key name or key address.
func (c *Client) Agent(ctx context.Context, ref string) (*identity.AgentView, error) {
	r, err := c.AgentRef(ref)
	if err != nil {
		return nil, err
	}
	var v identity.AgentView
	return &v, c.Query(ctx, "/identity/agent/"+r, &v)
}

// AgentID resolves an agent reference to its Agent ID.
func (c *Client) AgentID(ctx context.Context, ref string) (string, error) {
	if strings.HasPrefix(ref, "agent-") {
		return ref, nil
	}
	a, err := c.Agent(ctx, ref)
	if err != nil {
		return "", err
	}
	return a.ID, nil
}

// Agents lists up to 100 agents after the Agent ID after ("" from the start).
func (c *Client) Agents(ctx context.Context, after string) ([]identity.AgentView, error) {
	path := "/identity/agents"
	if after != "" {
		path += "/" + after
	}
	var v []identity.AgentView
	return v, c.Query(ctx, path, &v)
}

// Person returns a person with their devices and bindings.
func (c *Client) Person(ctx context.Context, a chain.Address) (*identity.PersonView, error) {
	var v identity.PersonView
	return &v, c.Query(ctx, "/identity/person/"+a.String(), &v)
}

// Device returns a device by its key's address.
func (c *Client) Device(ctx context.Context, a chain.Address) (*identity.Device, error) {
	var v identity.Device
	return &v, c.Query(ctx, "/identity/device/"+a.String(), &v)
}

// Merchant returns a merchant.
func (c *Client) Merchant(ctx context.Context, a chain.Address) (*identity.Merchant, error) {
	var v identity.Merchant
	return &v, c.Query(ctx, "/identity/merchant/"+a.String(), &v)
}

// Binding returns a wallet binding by id.
func (c *Client) Binding(ctx context.Context, id string) (*identity.Binding, error) {
	var v identity.Binding
	return &v, c.Query(ctx, "/identity/binding/"+id, &v)
}

// Bindings returns the bindings of a person (address) or an agent (Agent
// ID or key address).
func (c *Client) Bindings(ctx context.Context, ref string) ([]identity.Binding, error) {
	var v []identity.Binding
	return v, c.Query(ctx, "/identity/bindings/"+ref, &v)
}

// Whois says what an address is registered as.
func (c *Client) Whois(ctx context.Context, a chain.Address) (*identity.Whois, error) {
	var v identity.Whois
	return &v, c.Query(ctx, "/identity/whois/"+a.String(), &v)
}

// TrustScore explains an agent's trust rating: score, tier, caps, factors.
func (c *Client) TrustScore(ctx context.Context, ref string) (*trust.Explanation, error) {
	r, err := c.AgentRef(ref)
	if err != nil {
		return nil, err
	}
	var v trust.Explanation
	return &v, c.Query(ctx, "/trust/score/"+r, &v)
}

// TrustTiers returns the tier table in force.
func (c *Client) TrustTiers(ctx context.Context) ([]trust.Tier, error) {
	var v []trust.Tier
	return v, c.Query(ctx, "/trust/tiers", &v)
}
