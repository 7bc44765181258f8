package home

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/types"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/node/keyring"
)

// DefaultValidatorPower is the voting power of a genesis validator.
const DefaultValidatorPower = 10

// Account is a named account created at genesis: its key goes into the
// home's keyring under Name (an existing key of that name is reused).
type Account struct {
	Name string
	// Roles, if any, make the account a consortium member named Name.
	Roles []string
	// Validator makes the member hold this node's consensus key; it needs
	// the validator role.
	Validator bool
	// Coins fund the account at genesis, e.g. "1000USD".
	Coins []string
}

// InitOptions describe a single-validator home.
type InitOptions struct {
	Dir      string
	ChainID  string
	Node     NodeConfig
	Accounts []Account
	// Power is the validator's voting power; zero means DefaultValidatorPower.
	Power int64
	// GenesisTime defaults to now.
	GenesisTime time.Time
	// Assets default to DefaultAssets.
	Assets []chain.Asset
}

// Initialized is what Init made.
type Initialized struct {
	Config  *cfg.Config
	NodeID  string
	Genesis *types.GenesisDoc
	// Keys are the accounts' keys, in the order of InitOptions.Accounts.
	Keys []*keyring.Key
}

// Init creates a home for a one-validator chain: node files, the accounts'
// keys in the keyring, and a genesis in which the validator account is a
// consortium member holding the node's consensus key. It refuses a home
// that is already initialised; on failure it removes what it created in a
// home that did not exist before.
func Init(o InitOptions) (res *Initialized, err error) {
	if o.Dir == "" {
		return nil, fmt.Errorf("no home folder given")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	if Initialised(dir) {
		return nil, fmt.Errorf("%w: %s (pick another --home, or remove it)", ErrExists, dir)
	}
	if err := checkAccounts(o.Accounts); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(dir)
	existed := statErr == nil
	defer func() {
		if err != nil && !existed {
			os.RemoveAll(dir)
		}
	}()

	c, err := DefaultConfig(dir, o.Node)
	if err != nil {
		return nil, err
	}
	nf, err := WriteNodeFiles(c)
	if err != nil {
		return nil, err
	}
	power := o.Power
	if power == 0 {
		power = DefaultValidatorPower
	}
	val, err := ValidatorOf(nf.ValidatorPubKey, power)
	if err != nil {
		return nil, err
	}
	kr, err := keyring.OpenHome(dir)
	if err != nil {
		return nil, err
	}
	assets := o.Assets
	if len(assets) == 0 {
		assets = DefaultAssets()
	}
	state := AppState{Bank: bank.Genesis{Assets: assets, Balances: []bank.GenesisBalance{}}}
	res = &Initialized{Config: c, NodeID: nf.NodeID}
	for _, a := range o.Accounts {
		k, err := kr.Get(a.Name)
		if errors.Is(err, keyring.ErrNotFound) {
			k, err = kr.Add(a.Name, chain.KeyEd25519)
		}
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", a.Name, err)
		}
		res.Keys = append(res.Keys, k)
		if len(a.Roles) > 0 {
			m := consortium.Member{Name: a.Name, Address: k.Address(), Roles: append([]string(nil), a.Roles...)}
			if a.Validator {
				m.Validator = val
				m.NodeID = nf.NodeID // lets the peer filter accept this node
			}
			state.Consortium.Members = append(state.Consortium.Members, m)
		}
		if len(a.Coins) > 0 {
			state.Bank.Balances = append(state.Bank.Balances, bank.GenesisBalance{Address: k.Address(), Coins: append([]string(nil), a.Coins...)})
		}
	}
	doc, err := NewGenesis(o.ChainID, o.GenesisTime, state)
	if err != nil {
		return nil, err
	}
	if err := WriteGenesis(c, doc); err != nil {
		return nil, err
	}
	res.Genesis = doc
	return res, nil
}

func checkAccounts(accts []Account) error {
	names := map[string]bool{}
	validators := 0
	for _, a := range accts {
		if err := keyring.ValidateName(a.Name); err != nil {
			return fmt.Errorf("account: %w", err)
		}
		if names[a.Name] {
			return fmt.Errorf("account %q is listed twice", a.Name)
		}
		names[a.Name] = true
		if a.Validator {
			validators++
			hasRole := false
			for _, r := range a.Roles {
				hasRole = hasRole || r == consortium.RoleValidator
			}
			if !hasRole {
				return fmt.Errorf("account %q holds the consensus key but not the validator role", a.Name)
			}
		}
	}
	if validators != 1 {
		return fmt.Errorf("a one-validator home needs exactly one validator account, got %d", validators)
	}
	return nil
}

// OperatorAccounts are the accounts of `ampd init`: the operator's own
// member, named after the moniker, with every role, the consensus key and
// funds.
func OperatorAccounts(moniker string, coins []string) []Account {
	return []Account{{Name: moniker, Roles: append([]string(nil), consortium.AllRoles...), Validator: true, Coins: coins}}
}
