package identity

import (
	"encoding/json"
	"fmt"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/module"
)

// Genesis is the module's part of app_state: identities that exist from
// the first block (a dev chain's demo people, devices, agent and shop).
// Entries are checked like the messages that would create them, except for
// signatures. Agents get IDs agent-1, agent-2 … in list order.
type Genesis struct {
	Persons   []GenesisPerson   `json:"persons,omitempty"`
	Devices   []GenesisDevice   `json:"devices,omitempty"`
	Agents    []GenesisAgent    `json:"agents,omitempty"`
	Merchants []GenesisMerchant `json:"merchants,omitempty"`
	Bindings  []GenesisBinding  `json:"bindings,omitempty"`
}

// GenesisPerson registers a person vouched for by a member wallet.
type GenesisPerson struct {
	Address chain.Address `json:"address"`
	Wallet  chain.Address `json:"wallet"`
	IDVHash []byte        `json:"idv_hash"`
}

// GenesisDevice registers a device of a person.
type GenesisDevice struct {
	Person chain.Address `json:"person"`
	Key    Key           `json:"key"`
	Kind   string        `json:"kind"`
	Label  string        `json:"label"`
	Scopes []string      `json:"scopes"`
	// ApproveLimit is a human amount with its asset, e.g. "50USD".
	ApproveLimit string `json:"approve_limit,omitempty"`
}

// GenesisAgent onboards an agent.
type GenesisAgent struct {
	Issuer  chain.Address `json:"issuer"`
	Key     Key           `json:"key"`
	Owner   chain.Address `json:"owner"`
	Builder string        `json:"builder"`
	Profile Profile       `json:"profile"`
	Review  GenesisReview `json:"review"`
}

// GenesisReview is a KYA review; ExpiresAt is Unix seconds after the genesis time.
type GenesisReview struct {
	Items     []string `json:"items"`
	Level     uint32   `json:"level"`
	ExpiresAt int64    `json:"expires_at"`
}

// GenesisMerchant registers a merchant.
type GenesisMerchant struct {
	Acquirer       chain.Address `json:"acquirer"`
	Address        chain.Address `json:"address"`
	Name           string        `json:"name"`
	MCC            string        `json:"mcc"`
	Country        string        `json:"country"`
	Settlement     chain.Address `json:"settlement"`
	SellerAgentKey *Key          `json:"seller_agent_key,omitempty"`
}

// GenesisBinding binds an agent (by the address of its key) to a person.
type GenesisBinding struct {
	Person   chain.Address `json:"person"`
	AgentKey chain.Address `json:"agent_key"`
}

// InitGenesis creates the genesis identities in the order persons, devices,
// agents, merchants, bindings.
func (k *Keeper) InitGenesis(ctx *module.Context, raw json.RawMessage) error {
	var g Genesis
	if err := json.Unmarshal(raw, &g); err != nil {
		return fmt.Errorf("identity genesis: %w", err)
	}
	for i, p := range g.Persons {
		if err := k.genesisPerson(ctx, p); err != nil {
			return fmt.Errorf("identity genesis person %d (%s): %w", i, p.Address, err)
		}
	}
	for i, d := range g.Devices {
		if err := k.genesisDevice(ctx, d); err != nil {
			return fmt.Errorf("identity genesis device %d (%s): %w", i, d.Label, err)
		}
	}
	for i, a := range g.Agents {
		if err := k.genesisAgent(ctx, a); err != nil {
			return fmt.Errorf("identity genesis agent %d (%s): %w", i, a.Profile.Name, err)
		}
	}
	for i, m := range g.Merchants {
		if err := k.genesisMerchant(ctx, m); err != nil {
			return fmt.Errorf("identity genesis merchant %d (%s): %w", i, m.Name, err)
		}
	}
	for i, b := range g.Bindings {
		a, err := k.AgentByKey(ctx, b.AgentKey)
		if err == nil {
			if _, err = k.Person(ctx, b.Person); err == nil {
				_, err = k.bind(ctx, b.Person, a.ID)
			}
		}
		if err != nil {
			return fmt.Errorf("identity genesis binding %d: %w", i, err)
		}
	}
	return nil
}

func (k *Keeper) genesisPerson(ctx *module.Context, p GenesisPerson) error {
	if err := validateRegisterPerson(&pb.MsgRegisterPerson{Wallet: p.Wallet[:], Person: p.Address[:], IdvHash: p.IDVHash}); err != nil {
		return err
	}
	if _, err := k.members.Member(ctx, p.Wallet); err != nil {
		return err
	}
	return k.registerPerson(ctx, p.Wallet, p.Address, p.IDVHash)
}

func (k *Keeper) genesisDevice(ctx *module.Context, d GenesisDevice) error {
	key, err := d.Key.PubKey()
	if err != nil {
		return err
	}
	m := &pb.MsgAddDevice{Person: d.Person[:], PubKey: key.Proto(), Kind: d.Kind, Label: d.Label, Scopes: d.Scopes}
	var limit *chain.Coin
	if d.ApproveLimit != "" {
		c, err := chain.ParseCoin(d.ApproveLimit, func(sym string) (chain.Asset, bool) {
			a, err := k.bank.Asset(ctx, sym)
			return a, err == nil
		})
		if err != nil {
			return err
		}
		limit = &c
		m.ApproveLimit = bank.CoinProto(c)
	}
	if err := validateAddDevice(m); err != nil {
		return err
	}
	if _, err := k.Person(ctx, d.Person); err != nil {
		return err
	}
	return k.addDevice(ctx, d.Person, key, d.Kind, d.Label, d.Scopes, limit)
}

func (k *Keeper) genesisAgent(ctx *module.Context, a GenesisAgent) error {
	key, err := a.Key.PubKey()
	if err != nil {
		return err
	}
	p := &pb.Profile{Name: a.Profile.Name, Model: a.Profile.Model, Version: a.Profile.Version,
		Capabilities: a.Profile.Capabilities, MetadataUri: a.Profile.MetadataURI, MetadataHash: a.Profile.MetadataHash}
	r := &pb.Review{Items: a.Review.Items, Level: a.Review.Level, ExpiresAt: a.Review.ExpiresAt}
	if err := validateOnboardAgent(&pb.MsgOnboardAgent{Issuer: a.Issuer[:], PubKey: key.Proto(), Owner: a.Owner[:], Builder: a.Builder, Profile: p, Review: r}); err != nil {
		return err
	}
	if err := k.members.RequireRole(ctx, a.Issuer, consortium.RoleKYAIssuer); err != nil {
		return err
	}
	_, err = k.onboard(ctx, a.Issuer, key, a.Owner, a.Builder, p, r)
	return err
}

func (k *Keeper) genesisMerchant(ctx *module.Context, m GenesisMerchant) error {
	msg := &pb.MsgRegisterMerchant{Acquirer: m.Acquirer[:], Merchant: m.Address[:], Name: m.Name, Mcc: m.MCC, Country: m.Country, Settlement: m.Settlement[:]}
	var seller *chain.PubKey
	if m.SellerAgentKey != nil {
		s, err := m.SellerAgentKey.PubKey()
		if err != nil {
			return err
		}
		seller, msg.SellerAgentKey = &s, s.Proto()
	}
	if err := validateRegisterMerchant(msg); err != nil {
		return err
	}
	if err := k.members.RequireRole(ctx, m.Acquirer, consortium.RoleAcquirer); err != nil {
		return err
	}
	return k.registerMerchant(ctx, Merchant{Address: m.Address, Acquirer: m.Acquirer, Name: m.Name, MCC: m.MCC, Country: m.Country, Settlement: m.Settlement}, seller)
}
