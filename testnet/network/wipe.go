package network

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"

	"github.com/amp-ledger/amp/node/home"
)

// WipeData deletes a stopped node's data — CometBFT's block store, state,
// tx index, evidence and consensus WAL, and the ledger's state — keeping
// its config, genesis, node key, consensus key and keyring, so that it
// rejoins under the same identity and block-syncs the chain from its peers.
//
// With keepSignState the validator's sign state
// (data/priv_validator_state.json) is kept: the node will not sign at or
// below the height it last signed, whatever happens — what an operator
// should do. Without it the sign state is replaced by an empty one
// (height 0), as CometBFT's unsafe-reset-all does (the node refuses to
// start without one). WipeData returns the height the old state had last
// signed at. Resetting it is safe only while the node cannot sign at that
// height again: it must rejoin a network that has already committed beyond
// that height, so that it block-syncs past it before it takes part in
// consensus. A node that might be restarted into the height it last signed
// (e.g. in a halted network) must keep its sign state.
func WipeData(homeDir string, keepSignState bool) (lastSigned int64, err error) {
	c, err := home.LoadConfig(homeDir)
	if err != nil {
		return 0, fmt.Errorf("wipe: %w", err)
	}
	stateFile := c.PrivValidatorStateFile()
	b, err := os.ReadFile(stateFile)
	if err == nil {
		var st privval.FilePVLastSignState
		if err := cmtjson.Unmarshal(b, &st); err != nil {
			return 0, fmt.Errorf("wipe: sign state %s: %w", stateFile, err)
		}
		lastSigned = st.Height
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("wipe: %w", err)
	}
	dataDir := c.DBDir()
	entries, err := os.ReadDir(dataDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("wipe: %w", err)
	}
	for _, e := range entries {
		p := filepath.Join(dataDir, e.Name())
		if keepSignState && b != nil && p == stateFile {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return 0, fmt.Errorf("wipe: %w", err)
		}
	}
	if keepSignState && b != nil {
		return lastSigned, nil
	}
	if err := WriteEmptySignState(stateFile); err != nil {
		return 0, fmt.Errorf("wipe: %w", err)
	}
	return lastSigned, nil
}

// WriteEmptySignState writes a validator sign state that has signed
// nothing (height 0), as a new validator's.
func WriteEmptySignState(path string) error {
	b, err := cmtjson.MarshalIndent(&privval.FilePVLastSignState{}, "", "  ")
	if err != nil {
		return fmt.Errorf("sign state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("sign state: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("sign state: %w", err)
	}
	return nil
}
