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
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/node/keyring"
)

// DefaultValidatorPower is the voting power of a genesis validator.
const DefaultValidatorPower = 10

// Account is a named account created at genesis: its key goes into the
// home's keyring under Name (an existing key of that name is reused if it
// has the wanted type).
type Account struct {
	Name string
	// KeyType of the account's key; zero means ed25519. Agents' and
	// devices' keys are typically p256.
	KeyType chain.KeyType
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
	// Identity, if set, builds the identity module's genesis once the
	// accounts' keys exist; it gets them by account name, and the genesis
	// time (see DevIdentity).
	Identity IdentityBuilder
	// Delegation, if set, builds the delegation module's genesis (mandates
	// granted at the first block) the same way (see DevDelegation).
	Delegation DelegationBuilder
}

// IdentityBuilder makes the identity genesis of a home from its accounts'
// keys, by name, and the chain's genesis time.
type IdentityBuilder func(keys map[string]*keyring.Key, genesisTime time.Time) (*identity.Genesis, error)

// DelegationBuilder makes the delegation genesis of a home from its
// accounts' keys, by name, and the chain's genesis time.
type DelegationBuilder func(keys map[string]*keyring.Key, genesisTime time.Time) (*delegation.Genesis, error)

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
	if err := checkExistingKeys(dir, o.Accounts); err != nil {
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
	genesisTime := o.GenesisTime
	if genesisTime.IsZero() {
		genesisTime = time.Now()
	}
	genesisTime = genesisTime.UTC().Round(0) // as NewGenesis stores it
	state := AppState{Bank: bank.Genesis{Assets: assets, Balances: []bank.GenesisBalance{}}}
	res = &Initialized{Config: c, NodeID: nf.NodeID}
	byName := map[string]*keyring.Key{}
	for _, a := range o.Accounts {
		k, err := accountKey(kr, a)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", a.Name, err)
		}
		res.Keys = append(res.Keys, k)
		byName[a.Name] = k
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
	if o.Identity != nil {
		if state.Identity, err = o.Identity(byName, genesisTime); err != nil {
			return nil, fmt.Errorf("identity genesis: %w", err)
		}
	}
	if o.Delegation != nil {
		if state.Delegation, err = o.Delegation(byName, genesisTime); err != nil {
			return nil, fmt.Errorf("delegation genesis: %w", err)
		}
	}
	doc, err := NewGenesis(o.ChainID, genesisTime, state)
	if err != nil {
		return nil, err
	}
	if err := WriteGenesis(c, doc); err != nil {
		return nil, err
	}
	res.Genesis = doc
	return res, nil
}

// accountKey returns the key of an account from the keyring, creating it
// if there is none by that name.
func accountKey(kr *keyring.Keyring, a Account) (*keyring.Key, error) {
	want := accountKeyType(a)
	k, err := kr.Get(a.Name)
	if errors.Is(err, keyring.ErrNotFound) {
		return kr.Add(a.Name, want)
	}
	if err != nil {
		return nil, err
	}
	if k.Type != want {
		return nil, fmt.Errorf("the keyring already holds a %s key of that name, want %s", k.Type, want)
	}
	return k, nil
}

// checkExistingKeys fails, before anything is written, if the home's
// keyring holds a key under an account's name that accountKey would refuse.
func checkExistingKeys(dir string, accts []Account) error {
	if _, err := os.Stat(keyring.Dir(dir)); err != nil {
		return nil // no keyring yet (or it will fail to open later)
	}
	kr, err := keyring.OpenHome(dir)
	if err != nil {
		return err
	}
	for _, a := range accts {
		if !kr.Has(a.Name) {
			continue
		}
		k, err := kr.Get(a.Name)
		if err != nil {
			return fmt.Errorf("account %s: %w", a.Name, err)
		}
		if want := accountKeyType(a); k.Type != want {
			return fmt.Errorf("account %s: the keyring already holds a %s key of that name, want %s", a.Name, k.Type, want)
		}
	}
	return nil
}

func accountKeyType(a Account) chain.KeyType {
	if a.KeyType == 0 {
		return chain.KeyEd25519
	}
	return a.KeyType
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
		if t := accountKeyType(a); t != chain.KeyEd25519 && t != chain.KeyP256 {
			return fmt.Errorf("account %q: unknown key type %s", a.Name, t)
		}
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
