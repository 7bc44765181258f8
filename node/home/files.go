package home

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
)

// ErrExists is returned when a home is initialised twice.
var ErrExists = errors.New("home is already initialised")

// NodeFiles describes the identity of one node's home.
type NodeFiles struct {
	Config *cfg.Config
	// NodeID is the p2p identity, used in ID@host:port peer addresses.
	NodeID string
	// ValidatorPubKey is the node's consensus key (ed25519).
	ValidatorPubKey crypto.PubKey
}

// Initialised reports whether dir already holds a node's config or genesis.
func Initialised(dir string) bool {
	for _, p := range []string{ConfigFile(dir), GenesisFile(dir)} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// GenesisFile returns the path of dir's genesis.json.
func GenesisFile(dir string) string {
	return cfg.DefaultConfig().SetRoot(dir).GenesisFile()
}

// WriteNodeFiles creates a node home at c.RootDir: its folders, config.toml,
// a new node key and a new validator key with an empty sign state. It
// refuses to touch a home that already has a config or genesis.
func WriteNodeFiles(c *cfg.Config) (*NodeFiles, error) {
	dir := c.RootDir
	if dir == "" {
		return nil, fmt.Errorf("config has no home folder")
	}
	if Initialised(dir) {
		return nil, fmt.Errorf("%w: %s (pick another --home or remove it)", ErrExists, dir)
	}
	for _, p := range []string{c.NodeKeyFile(), c.PrivValidatorKeyFile(), c.PrivValidatorStateFile()} {
		if _, err := os.Stat(p); err == nil {
			return nil, fmt.Errorf("%w: %s exists", ErrExists, p)
		}
	}
	if err := WriteConfig(c); err != nil {
		return nil, err
	}
	nodeKey, err := p2p.LoadOrGenNodeKey(c.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	var pv *privval.FilePV
	if err := recovered(func() {
		pv, err = privval.GenFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile(), nil)
		if err == nil {
			pv.Save()
		}
	}); err != nil {
		return nil, fmt.Errorf("validator key: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("validator key: %w", err)
	}
	pub, err := pv.GetPubKey()
	if err != nil {
		return nil, fmt.Errorf("validator key: %w", err)
	}
	return &NodeFiles{Config: c, NodeID: string(nodeKey.ID()), ValidatorPubKey: pub}, nil
}

// LoadNodeKey loads the node's p2p key.
func LoadNodeKey(c *cfg.Config) (*p2p.NodeKey, error) {
	k, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	return k, nil
}

// LoadPrivValidator loads the validator key and its sign state. Unlike
// privval.LoadFilePV, which exits the process on a missing or bad file, it
// checks both files first and returns errors.
func LoadPrivValidator(c *cfg.Config) (*privval.FilePV, error) {
	keyFile, stateFile := c.PrivValidatorKeyFile(), c.PrivValidatorStateFile()
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("validator key: %w", err)
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(kb, &key); err != nil {
		return nil, fmt.Errorf("validator key %s: %w", keyFile, err)
	}
	if key.PrivKey == nil {
		return nil, fmt.Errorf("validator key %s: no private key", keyFile)
	}
	sb, err := os.ReadFile(stateFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// Starting from an empty sign state could make the validator
			// sign twice at a height it already signed: refuse.
			return nil, fmt.Errorf("validator sign state %s is missing; refusing to start a validator without it: %w", stateFile, err)
		}
		return nil, fmt.Errorf("validator state: %w", err)
	}
	var state privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(sb, &state); err != nil {
		return nil, fmt.Errorf("validator state %s: %w", stateFile, err)
	}
	var pv *privval.FilePV
	if err := recovered(func() { pv = privval.LoadFilePV(keyFile, stateFile) }); err != nil {
		return nil, fmt.Errorf("validator key: %w", err)
	}
	return pv, nil
}

// WriteGenesis writes doc as the genesis file of the home of c, after
// checking it.
func WriteGenesis(c *cfg.Config, doc *types.GenesisDoc) error {
	if err := doc.ValidateAndComplete(); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(c.RootDir, cfg.DefaultConfigDir), cfg.DefaultDirPerm); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	if err := doc.SaveAs(c.GenesisFile()); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	return nil
}

// PeerAddress returns the ID@host:port form of a node for persistent_peers,
// from its node id and P2P listen address (an unspecified host becomes
// 127.0.0.1).
func PeerAddress(nodeID, p2pListen string) (string, error) {
	addr, err := ListenAddr(p2pListen)
	if err != nil {
		return "", err
	}
	hostPort := addr[strings.Index(addr, "://")+3:]
	if strings.HasPrefix(hostPort, "0.0.0.0:") {
		hostPort = "127.0.0.1:" + strings.TrimPrefix(hostPort, "0.0.0.0:")
	}
	if nodeID == "" {
		return "", fmt.Errorf("empty node id")
	}
	return nodeID + "@" + hostPort, nil
}
