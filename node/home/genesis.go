package home

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
)

// AppState is the genesis file's app_state: each module's genesis under its
// name.
type AppState struct {
	Consortium consortium.Genesis `json:"consortium"`
	Bank       bank.Genesis       `json:"bank"`
	// Identity holds the identities that exist from the first block (the
	// dev chain's demo people, devices, agent and shop); nil leaves it out.
	Identity *identity.Genesis `json:"identity,omitempty"`
	// Delegation holds the mandates granted at the first block (the dev
	// chain's demo mandate); nil leaves it out.
	Delegation *delegation.Genesis `json:"delegation,omitempty"`
}

// DefaultAssets are the assets of a new chain: USD with 18 decimals.
func DefaultAssets() []chain.Asset {
	return []chain.Asset{{Symbol: chain.DefaultAsset, Name: "US Dollar", Decimals: chain.DefaultDecimals}}
}

// ValidatorOf returns the consortium record of a consensus key.
func ValidatorOf(pub crypto.PubKey, power int64) (*consortium.Validator, error) {
	if pub == nil || pub.Type() != ed25519.KeyType {
		return nil, fmt.Errorf("validator key must be ed25519")
	}
	return &consortium.Validator{PubKey: base64.StdEncoding.EncodeToString(pub.Bytes()), Power: power}, nil
}

// NewGenesis builds a genesis doc whose validators are exactly the members
// of state that carry a consensus key, with their power, and whose
// app_state is state. It checks the members and balances the way the
// ledger will at InitChain, so a bad genesis fails here rather than at the
// first start.
func NewGenesis(chainID string, genesisTime time.Time, state AppState) (*types.GenesisDoc, error) {
	if chainID == "" || len(chainID) > chain.MaxChainIDLen {
		return nil, fmt.Errorf("chain id must have 1 to %d characters", chain.MaxChainIDLen)
	}
	if genesisTime.IsZero() {
		genesisTime = time.Now()
	}
	var vals []types.GenesisValidator
	names := map[string]bool{}
	for i := range state.Consortium.Members {
		m := &state.Consortium.Members[i]
		if err := consortium.ValidateMember(m); err != nil {
			return nil, fmt.Errorf("genesis member: %w", err)
		}
		if names[m.Name] {
			return nil, fmt.Errorf("genesis member %q appears twice", m.Name)
		}
		names[m.Name] = true
		if m.Validator == nil {
			continue
		}
		kb, err := base64.StdEncoding.DecodeString(m.Validator.PubKey)
		if err != nil || len(kb) != ed25519.PubKeySize {
			return nil, fmt.Errorf("member %s: consensus key must be base64 ed25519", m.Name)
		}
		pub := ed25519.PubKey(kb)
		vals = append(vals, types.GenesisValidator{
			Address: pub.Address(),
			PubKey:  pub,
			Power:   m.Validator.Power,
			Name:    m.Name,
		})
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("genesis needs at least one member with a consensus key")
	}
	assets := map[string]chain.Asset{}
	for _, a := range state.Bank.Assets {
		if err := chain.ValidateSymbol(a.Symbol); err != nil {
			return nil, fmt.Errorf("genesis asset: %w", err)
		}
		assets[a.Symbol] = a
	}
	lookup := func(s string) (chain.Asset, bool) { a, ok := assets[s]; return a, ok }
	for _, b := range state.Bank.Balances {
		for _, c := range b.Coins {
			if _, err := chain.ParseCoin(c, lookup); err != nil {
				return nil, fmt.Errorf("genesis balance of %s: %w", b.Address, err)
			}
		}
	}
	raw, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("encode app state: %w", err)
	}
	doc := &types.GenesisDoc{
		ChainID:         chainID,
		GenesisTime:     genesisTime.UTC().Round(0),
		InitialHeight:   1,
		ConsensusParams: types.DefaultConsensusParams(),
		Validators:      vals,
		AppState:        raw,
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	return doc, nil
}

// ReadAppState decodes the app_state of a genesis doc.
func ReadAppState(doc *types.GenesisDoc) (*AppState, error) {
	var s AppState
	if err := json.Unmarshal(doc.AppState, &s); err != nil {
		return nil, fmt.Errorf("genesis app_state: %w", err)
	}
	return &s, nil
}
