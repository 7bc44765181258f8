// Package keyring keeps named signing keys in a node or client home, one
// JSON file per key under DIR/keyring (directory mode 0700, files 0600):
// the key's name, type (ed25519 or p256), private key, public key and
// address.
//
// The files are NOT encrypted: anyone who can read them can spend from the
// accounts. That is acceptable for a dev chain and for tests; do not keep
// keys that hold real value in it (a later version may add encryption).
package keyring
