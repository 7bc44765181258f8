package home

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/node/keyring"
)

// The dev chain: what `ampd dev` runs and what `amp` talks to by default.
const (
	DevChainID   = "amp-dev"
	DevMoniker   = "amp-dev"
	DevRPCListen = "tcp://127.0.0.1:26657"
	DevP2PListen = "tcp://127.0.0.1:26656"
	DevBlockTime = time.Second
	// DevIssuer is the demo consortium member: validator, KYA issuer,
	// acquirer and asset issuer.
	DevIssuer = "issuer"
	// HomeEnv overrides the default home of ampd dev and amp.
	HomeEnv = "AMP_HOME"
	// DevHomeName is the default home's folder name, in the user's home
	// folder.
	DevHomeName = ".amp-dev"
)

// DevPeople are the demo people of the dev chain, funded at genesis and
// registered as persons (the issuer as their wallet).
var DevPeople = []string{"alice", "bob"}

// The dev chain's demo identities, in its genesis: an agent that alice
// owns and is bound to, a merchant, and alice's two devices. Agent and
// device keys are p256, as on phones and in AMP's agents.
const (
	// DevAgent is the demo agent's key (Agent ID agent-1), onboarded by
	// the issuer at review level 2 for a year.
	DevAgent = "helper"
	// DevMerchant is the demo merchant "Demo Shop", acquired by the issuer.
	DevMerchant = "shop"
	// DevAgentOwner owns the demo agent, is bound to it and has the
	// demo devices.
	DevAgentOwner = "alice"
	// DevAgentReviewDays is how long the demo agent's attestation lasts
	// from the genesis time.
	DevAgentReviewDays = 365
)

// The dev chain's demo mandate: DevAgentOwner grants DevAgent an
// AUTONOMOUS mandate for everyday purchases at DevMerchant, in the genesis.
// It is the first mandate, so its id is DevMandateID.
const (
	DevMandateID            = "mandate-1"
	DevMandateBudget        = "100USD"
	DevMandateMaxPayment    = "25USD"
	DevMandateApprovalAbove = "20USD"
	DevMandateDays          = 30 // it expires this many days after genesis
	DevMandateDescription   = "Demo: everyday purchases at Demo Shop"
)

// DevDevice is a demo device key of DevAgentOwner.
type DevDevice struct {
	Name   string // key name
	Kind   string
	Label  string
	Scopes []string
}

// DevDevices are alice's demo devices: a phone that manages her devices
// and mandates, and a watch that approves payments.
var DevDevices = []DevDevice{
	{Name: "alice-phone", Kind: "phone", Label: "Alice's phone",
		Scopes: []string{identity.ScopeRevoke, identity.ScopeUpdate, identity.ScopeManageDevices}},
	{Name: "alice-watch", Kind: "watch", Label: "Alice's watch",
		Scopes: []string{identity.ScopeApprove, identity.ScopeRevoke}},
}

// Dev chain genesis balances.
const (
	DevIssuerCoins = "1000000USD"
	DevPersonCoins = "1000USD"
)

// DefaultHome returns the default home of `ampd dev` and `amp`: $AMP_HOME
// if set, else ~/.amp-dev, else ./.amp-dev when the user has no home folder.
func DefaultHome() string {
	if h := os.Getenv(HomeEnv); h != "" {
		return h
	}
	if u, err := os.UserHomeDir(); err == nil && u != "" {
		return filepath.Join(u, DevHomeName)
	}
	return DevHomeName
}

// DevOptions returns the InitOptions of a dev chain home at dir: chain id
// amp-dev, the issuer member (all roles, the consensus key, 1,000,000 USD),
// alice and bob (1000 USD each), and the unfunded keys of the demo
// identities DevIdentity puts in the genesis: the agent helper, the
// merchant shop and alice's devices, and the demo mandate DevDelegation
// grants (mandate-1, alice to helper). Empty listen addresses and a zero
// block time take the dev defaults.
func DevOptions(dir, rpcListen, p2pListen string, blockTime time.Duration) InitOptions {
	if rpcListen == "" {
		rpcListen = DevRPCListen
	}
	if p2pListen == "" {
		p2pListen = DevP2PListen
	}
	if blockTime <= 0 {
		blockTime = DevBlockTime
	}
	accts := []Account{{
		Name:      DevIssuer,
		Roles:     append([]string(nil), consortium.AllRoles...),
		Validator: true,
		Coins:     []string{DevIssuerCoins},
	}}
	for _, p := range DevPeople {
		accts = append(accts, Account{Name: p, Coins: []string{DevPersonCoins}})
	}
	accts = append(accts, Account{Name: DevAgent, KeyType: chain.KeyP256}, Account{Name: DevMerchant})
	for _, d := range DevDevices {
		accts = append(accts, Account{Name: d.Name, KeyType: chain.KeyP256})
	}
	return InitOptions{
		Dir:     dir,
		ChainID: DevChainID,
		Node: NodeConfig{
			Moniker:            DevMoniker,
			RPCListen:          rpcListen,
			P2PListen:          p2pListen,
			BlockTime:          blockTime,
			CORSAllowedOrigins: []string{"*"},
		},
		Accounts:   accts,
		Identity:   DevIdentity,
		Delegation: DevDelegation,
	}
}

// DevIdentityCheck is the text whose SHA-256 stands for the identity
// verification of a demo person at genesis.
func DevIdentityCheck(person string) string { return "dev identity check of " + person }

// DevIdentity builds the dev chain's identity genesis from the keys of
// DevOptions' accounts: the DevPeople as persons with the issuer as their
// wallet, DevDevices for alice, the agent helper (agent-1: issuer-onboarded,
// owned by alice, review level 2 expiring DevAgentReviewDays after
// genesisTime), the merchant shop acquired by the issuer, and alice bound
// to helper.
func DevIdentity(keys map[string]*keyring.Key, genesisTime time.Time) (*identity.Genesis, error) {
	addr := map[string]chain.Address{}
	for _, n := range append([]string{DevIssuer, DevAgent, DevMerchant, DevAgentOwner}, DevPeople...) {
		k, ok := keys[n]
		if !ok {
			return nil, fmt.Errorf("no account %q", n)
		}
		addr[n] = k.Address()
	}
	issuer, owner := addr[DevIssuer], addr[DevAgentOwner]
	g := &identity.Genesis{}
	for _, p := range DevPeople {
		h := sha256.Sum256([]byte(DevIdentityCheck(p)))
		g.Persons = append(g.Persons, identity.GenesisPerson{Address: addr[p], Wallet: issuer, IDVHash: h[:]})
	}
	for _, d := range DevDevices {
		k, ok := keys[d.Name]
		if !ok {
			return nil, fmt.Errorf("no account %q", d.Name)
		}
		g.Devices = append(g.Devices, identity.GenesisDevice{Person: owner, Key: identity.KeyOf(k.PubKey()),
			Kind: d.Kind, Label: d.Label, Scopes: append([]string(nil), d.Scopes...)})
	}
	agent := keys[DevAgent]
	g.Agents = []identity.GenesisAgent{{
		Issuer: issuer, Key: identity.KeyOf(agent.PubKey()), Owner: owner, Builder: "AMP demo",
		Profile: identity.Profile{Name: DevAgent, Model: "amp-demo-assistant", Version: "1.0",
			Capabilities: []string{"shopping", "bills"}},
		Review: identity.GenesisReview{Items: []string{"profile", "kyc", "aml", "security", "privacy"}, Level: 2,
			ExpiresAt: genesisTime.Add(DevAgentReviewDays * 24 * time.Hour).Unix()},
	}}
	g.Merchants = []identity.GenesisMerchant{{Acquirer: issuer, Address: addr[DevMerchant], Name: "Demo Shop",
		MCC: "5999", Country: "SG", Settlement: addr[DevMerchant]}}
	g.Bindings = []identity.GenesisBinding{{Person: owner, AgentKey: agent.Address()}}
	return g, nil
}

// DevDelegation builds the dev chain's delegation genesis: the demo
// mandate (DevMandateID) by which alice lets helper spend up to
// DevMandateBudget at shop, at most DevMandateMaxPayment a payment, her
// watch approving payments above DevMandateApprovalAbove, for
// DevMandateDays from genesisTime.
func DevDelegation(keys map[string]*keyring.Key, genesisTime time.Time) (*delegation.Genesis, error) {
	addr := map[string]chain.Address{}
	for _, n := range []string{DevAgentOwner, DevAgent, DevMerchant} {
		k, ok := keys[n]
		if !ok {
			return nil, fmt.Errorf("no account %q", n)
		}
		addr[n] = k.Address()
	}
	return &delegation.Genesis{Mandates: []delegation.GenesisMandate{{
		Person: addr[DevAgentOwner], AgentKey: addr[DevAgent], Description: DevMandateDescription,
		Budget: DevMandateBudget, MaxPayment: DevMandateMaxPayment, ApprovalAbove: DevMandateApprovalAbove,
		Merchants: []chain.Address{addr[DevMerchant]},
		ExpiresAt: genesisTime.Add(DevMandateDays * 24 * time.Hour).Unix(),
	}}}, nil
}

// Reset removes a home so that a fresh chain can be made in it. To avoid
// wiping an unrelated folder by a typo it only removes a folder that does
// not exist, is empty, or looks like a node home (has config/config.toml or
// config/genesis.json).
func Reset(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	entries, err := os.ReadDir(abs)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reset %s: %w", abs, err)
	}
	if len(entries) > 0 && !Initialised(abs) {
		return fmt.Errorf("reset: %s is not a node home (no config/config.toml or config/genesis.json); refusing to delete it", abs)
	}
	if err := os.RemoveAll(abs); err != nil {
		return fmt.Errorf("reset %s: %w", abs, err)
	}
	return nil
}
