package home

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/amp-ledger/amp/modules/consortium"
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

// DevPeople are the demo people of the dev chain, funded at genesis.
var DevPeople = []string{"alice", "bob"}

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
// amp-dev, the issuer member (all roles, the consensus key, 1,000,000 USD)
// and alice and bob (1000 USD each). Empty listen addresses and a zero
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
		Accounts: accts,
	}
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
