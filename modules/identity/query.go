package identity

import (
	"strings"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/module"
)

// AgentView is how queries show an agent: the record plus what it means at
// the block time (status, attestation level, issuers behind it).
type AgentView struct {
	Agent
	Status           string `json:"status"`
	AttestationLevel uint32 `json:"attestation_level"`
	Issuers          int    `json:"issuers"`
}

// PersonView is a person with their devices and bound agents.
type PersonView struct {
	Person
	Devices  []Device  `json:"devices"`
	Bindings []Binding `json:"bindings"`
}

// Whois says what an address is registered as.
type Whois struct {
	Address chain.Address `json:"address"`
	Kind    string        `json:"kind"` // person, device, agent, merchant, seller_agent_key, none
	// Of is the person of a device, the Agent ID of an agent key, the
	// merchant of a seller agent key.
	Of string `json:"of,omitempty"`
}

// View returns the agent as shown at time now.
func (a *Agent) View(now int64) AgentView {
	l, n := a.Level(now)
	return AgentView{Agent: *a, Status: a.Status(now), AttestationLevel: l, Issuers: n}
}

// maxList bounds list answers; ask again with the last id for more.
const maxList = 100

// Query answers, under /identity/:
//
//	person/<address>            the person, their devices and bindings
//	device/<address>            one device
//	agent/<agent-id|key address>
//	agents[/<after agent-id>]   up to 100 agents in ID order
//	merchant/<address>
//	binding/<binding-id>
//	bindings/<person address|agent-id|agent key address>
//	whois/<address>             what an address is registered as
func (k *Keeper) Query(ctx *module.Context, path []string) (any, error) {
	if len(path) == 0 {
		return nil, chain.Wrapf(chain.ErrNotFound, "no identity query given")
	}
	now := ctx.Time.Unix()
	arg := func() (string, bool) {
		if len(path) != 2 {
			return "", false
		}
		return path[1], true
	}
	switch path[0] {
	case "person":
		if s, ok := arg(); ok {
			a, err := chain.ParseAddress(s)
			if err != nil {
				return nil, err
			}
			p, err := k.Person(ctx, a)
			if err != nil {
				return nil, err
			}
			v := PersonView{Person: *p}
			if v.Devices, err = k.Devices(ctx, a); err != nil {
				return nil, err
			}
			v.Bindings, err = k.PersonBindings(ctx, a)
			return v, err
		}
	case "device":
		if s, ok := arg(); ok {
			a, err := chain.ParseAddress(s)
			if err != nil {
				return nil, err
			}
			return k.Device(ctx, a)
		}
	case "agent":
		if s, ok := arg(); ok {
			id, err := k.ResolveAgent(ctx, s)
			if err != nil {
				return nil, err
			}
			a, err := k.Agent(ctx, id)
			if err != nil {
				return nil, err
			}
			return a.View(now), nil
		}
	case "agents":
		var after uint64
		if len(path) == 2 {
			n, ok := parseID(path[1], "agent-")
			if !ok {
				return nil, chain.Wrapf(ErrUnknownAgent, "%q is not an Agent ID", path[1])
			}
			after = n
		}
		if len(path) <= 2 {
			out := []AgentView{}
			var err error
			st(ctx).Iterate([]byte("a/"), func(key, _ []byte) bool {
				if string(key) <= string(agentKey(after)) {
					return true
				}
				var a *Agent
				if a, err = get[Agent](ctx, key, chain.ErrInternal); err != nil {
					return false
				}
				out = append(out, a.View(now))
				return len(out) < maxList
			})
			return out, err
		}
	case "merchant":
		if s, ok := arg(); ok {
			a, err := chain.ParseAddress(s)
			if err != nil {
				return nil, err
			}
			return k.Merchant(ctx, a)
		}
	case "binding":
		if s, ok := arg(); ok {
			return k.Binding(ctx, s)
		}
	case "bindings":
		if s, ok := arg(); ok {
			if strings.HasPrefix(s, "agent-") {
				return k.AgentBindings(ctx, s)
			}
			a, err := chain.ParseAddress(s)
			if err != nil {
				return nil, err
			}
			if ag, err := k.AgentByKey(ctx, a); err == nil {
				return k.AgentBindings(ctx, ag.ID)
			}
			if _, err := k.Person(ctx, a); err != nil {
				return nil, err
			}
			return k.PersonBindings(ctx, a)
		}
	case "whois":
		if s, ok := arg(); ok {
			a, err := chain.ParseAddress(s)
			if err != nil {
				return nil, err
			}
			return k.whois(ctx, a)
		}
	}
	return nil, chain.Wrapf(chain.ErrNotFound, "no identity query %q", strings.Join(path, "/"))
}

func (k *Keeper) whois(ctx *module.Context, a chain.Address) (Whois, error) {
	w := Whois{Address: a, Kind: "none"}
	kind, _, p, ok := lookupIndex(ctx, a)
	if !ok {
		return w, nil
	}
	var of chain.Address
	switch kind {
	case kindPerson:
		w.Kind = "person"
	case kindAgent:
		w.Kind, w.Of = "agent", agentID(agentNumber(p))
	case kindMerchant:
		w.Kind = "merchant"
	case kindDevice, kindSellerKey:
		w.Kind = map[byte]string{kindDevice: "device", kindSellerKey: "seller_agent_key"}[kind]
		copy(of[:], p)
		w.Of = of.String()
	}
	return w, nil
}
