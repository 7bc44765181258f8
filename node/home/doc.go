// Package home lays out and generates the home folder of an AMP node:
// CometBFT's config.toml with the ledger's defaults, the node key, the
// validator key, the genesis file with the ledger's app_state, and the
// keyring of named account keys.
//
// It is shared by `ampd init`, `ampd dev` and the generators of local
// multi-validator networks: DefaultConfig is the one place node defaults
// live, WriteNodeFiles makes one node's files with its own ports, NewGenesis
// builds a genesis doc for any set of validator members, and WriteGenesis
// copies it into each home.
//
// Layout of a home DIR:
//
//	DIR/config/config.toml             CometBFT configuration
//	DIR/config/genesis.json            genesis doc; app_state holds the modules' genesis
//	DIR/config/node_key.json           p2p identity
//	DIR/config/priv_validator_key.json consensus key
//	DIR/data/                          CometBFT's stores (pebbledb) and priv_validator_state.json
//	DIR/data/app/                      the ledger's state (badger)
//	DIR/keyring/                       named account keys (unencrypted, see package keyring)
package home
