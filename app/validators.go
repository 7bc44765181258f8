package app

import (
	"encoding/base64"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/amp-ledger/amp/modules/consortium"
)

func validatorUpdate(v *consortium.Validator) (abci.ValidatorUpdate, error) {
	k, err := base64.StdEncoding.DecodeString(v.PubKey)
	if err != nil || len(k) != ed25519.PubKeySize {
		return abci.ValidatorUpdate{}, fmt.Errorf("consensus key is not base64 ed25519")
	}
	return abci.ValidatorUpdate{Power: v.Power, PubKeyType: ed25519.KeyType, PubKeyBytes: k}, nil
}

func sameValidators(a, b []abci.ValidatorUpdate) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d validators, want %d", len(a), len(b))
	}
	a = append([]abci.ValidatorUpdate(nil), a...)
	b = append([]abci.ValidatorUpdate(nil), b...)
	sortValidators(a)
	sortValidators(b)
	for i := range a {
		if a[i].PubKeyType != b[i].PubKeyType || string(a[i].PubKeyBytes) != string(b[i].PubKeyBytes) || a[i].Power != b[i].Power {
			return fmt.Errorf("validator %X (power %d) is not a validator member with that power", a[i].PubKeyBytes, a[i].Power)
		}
	}
	return nil
}
