package keyring

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/amp-ledger/amp/chain"
)

// DirName is the keyring's folder inside a home.
const DirName = "keyring"

// Warning is shown wherever keys are created: the keyring is plain files.
const Warning = "keys are stored UNENCRYPTED in the keyring folder; anyone who can read it can spend from these accounts — use it for dev and test chains only"

// Permissions of the keyring folder and of each key file.
const (
	DirPerm  fs.FileMode = 0o700
	FilePerm fs.FileMode = 0o600
)

// Errors callers may test for with errors.Is.
var (
	ErrNotFound    = errors.New("key not found")
	ErrExists      = errors.New("a key with that name already exists")
	ErrInvalidName = errors.New("invalid key name")
	ErrCorrupt     = errors.New("key file is corrupt")
)

const fileSuffix = ".json"

// MaxNameLen bounds a key name.
const MaxNameLen = 64

// Key is one named key.
type Key struct {
	Name    string
	Type    chain.KeyType
	priv    chain.PrivKey
	address chain.Address
}

// PrivKey returns the signing key.
func (k *Key) PrivKey() chain.PrivKey { return k.priv }

// PubKey returns the public key.
func (k *Key) PubKey() chain.PubKey { return k.priv.PubKey() }

// Address returns the account address of the key.
func (k *Key) Address() chain.Address { return k.address }

// Info is the public part of a key, as shown by `amp keys list`.
type Info struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Address string `json:"address"`
	PubKey  string `json:"pub_key"` // hex
}

// Info returns the public part of the key.
func (k *Key) Info() Info {
	return Info{Name: k.Name, Type: k.Type.String(), Address: k.address.String(), PubKey: hex.EncodeToString(k.PubKey().Bytes)}
}

// file is the on-disk form of a key.
type file struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`  // hex
	PrivKey string `json:"priv_key"` // hex: ed25519 seed or P-256 scalar
}

// Keyring is a folder of key files. It is safe to use from several
// processes: keys are created atomically and never overwritten.
type Keyring struct {
	dir string
}

// Dir returns the keyring folder of a home.
func Dir(home string) string { return filepath.Join(home, DirName) }

// Open opens (creating if needed) the keyring folder dir.
func Open(dir string) (*Keyring, error) {
	if dir == "" {
		return nil, fmt.Errorf("keyring: empty folder name")
	}
	if err := os.MkdirAll(dir, DirPerm); err != nil {
		return nil, fmt.Errorf("keyring: create %s: %w", dir, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("keyring: %s is not a folder", dir)
	}
	return &Keyring{dir: dir}, nil
}

// OpenHome opens the keyring of a home folder.
func OpenHome(home string) (*Keyring, error) { return Open(Dir(home)) }

// Path returns the keyring folder.
func (kr *Keyring) Path() string { return kr.dir }

// ValidateName checks a key name: 1 to 64 characters of letters, digits,
// '.', '_' and '-', starting with a letter or digit, and not itself a valid
// address (so that a name and an address can never be confused).
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w %q: want 1 to %d characters", ErrInvalidName, name, MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			(i > 0 && (c == '.' || c == '_' || c == '-'))
		if !ok {
			return fmt.Errorf("%w %q: only letters, digits, '.', '_' and '-', starting with a letter or digit", ErrInvalidName, name)
		}
	}
	if _, err := chain.ParseAddress(name); err == nil {
		return fmt.Errorf("%w %q: a name may not be an address", ErrInvalidName, name)
	}
	return nil
}

func (kr *Keyring) path(name string) string { return filepath.Join(kr.dir, name+fileSuffix) }

// Add generates a new key of type t under name.
func (kr *Keyring) Add(name string, t chain.KeyType) (*Key, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	priv, err := chain.GenerateKey(t)
	if err != nil {
		return nil, fmt.Errorf("keyring: generate %s key: %w", t, err)
	}
	return kr.Import(name, priv)
}

// Import stores an existing private key under name. It fails with ErrExists
// if the name is taken; it never overwrites a key.
func (kr *Keyring) Import(name string, priv chain.PrivKey) (*Key, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if priv == nil {
		return nil, fmt.Errorf("keyring: import %q: nil key", name)
	}
	k := &Key{Name: name, Type: priv.Type(), priv: priv, address: priv.PubKey().Address()}
	f := file{
		Name:    name,
		Type:    k.Type.String(),
		Address: k.address.String(),
		PubKey:  hex.EncodeToString(priv.PubKey().Bytes),
		PrivKey: hex.EncodeToString(priv.Bytes()),
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("keyring: encode %q: %w", name, err)
	}
	b = append(b, '\n')
	// Write a temporary file, then link it to its final name: the link fails
	// if the name exists, so a key is never half-written or overwritten.
	tmp, err := os.CreateTemp(kr.dir, ".tmp-"+name+"-*")
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(FilePerm); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("keyring: write %q: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("keyring: write %q: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("keyring: write %q: %w", name, err)
	}
	if err := os.Link(tmpName, kr.path(name)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%w: %q", ErrExists, name)
		}
		return nil, fmt.Errorf("keyring: store %q: %w", name, err)
	}
	return k, nil
}

// Get loads the key called name.
func (kr *Keyring) Get(name string) (*Key, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(kr.path(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %q in %s", ErrNotFound, name, kr.dir)
		}
		return nil, fmt.Errorf("keyring: read %q: %w", name, err)
	}
	return decode(name, b)
}

// Has reports whether a key called name exists.
func (kr *Keyring) Has(name string) bool {
	if ValidateName(name) != nil {
		return false
	}
	_, err := os.Stat(kr.path(name))
	return err == nil
}

func decode(name string, b []byte) (*Key, error) {
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrCorrupt, name, err)
	}
	if f.Name != name {
		return nil, fmt.Errorf("%w: file of %q holds the name %q", ErrCorrupt, name, f.Name)
	}
	t, err := chain.ParseKeyType(f.Type)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrCorrupt, name, err)
	}
	raw, err := hex.DecodeString(f.PrivKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: private key is not hex", ErrCorrupt, name)
	}
	priv, err := chain.PrivKeyFromBytes(t, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrCorrupt, name, err)
	}
	pub := priv.PubKey()
	if f.PubKey != "" && !strings.EqualFold(f.PubKey, hex.EncodeToString(pub.Bytes)) {
		return nil, fmt.Errorf("%w: %q: public key does not match the private key", ErrCorrupt, name)
	}
	addr := pub.Address()
	if f.Address != "" && f.Address != addr.String() {
		return nil, fmt.Errorf("%w: %q: address does not match the private key", ErrCorrupt, name)
	}
	return &Key{Name: name, Type: t, priv: priv, address: addr}, nil
}

// List returns every key, sorted by name. Files that are not key files are
// ignored; a corrupt key file is an error.
func (kr *Keyring) List() ([]*Key, error) {
	entries, err := os.ReadDir(kr.dir)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var out []*Key
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, fileSuffix) || strings.HasPrefix(n, ".") {
			continue
		}
		name := strings.TrimSuffix(n, fileSuffix)
		if ValidateName(name) != nil {
			continue
		}
		k, err := kr.Get(name)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ByAddress returns the key whose address is a.
func (kr *Keyring) ByAddress(a chain.Address) (*Key, error) {
	keys, err := kr.List()
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.address == a {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: no key with address %s in %s", ErrNotFound, a, kr.dir)
}

// Delete removes the key called name.
func (kr *Keyring) Delete(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if err := os.Remove(kr.path(name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		return fmt.Errorf("keyring: delete %q: %w", name, err)
	}
	return nil
}

// Resolve turns a key name or a bech32 address into an address: an address
// is parsed as such, anything else is looked up as a key name.
func (kr *Keyring) Resolve(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToLower(s), chain.AddressPrefix+"1") {
		if a, err := chain.ParseAddress(s); err == nil {
			return a, nil
		}
	}
	if kr != nil && ValidateName(s) == nil {
		k, err := kr.Get(s)
		if err == nil {
			return k.Address(), nil
		}
		if !errors.Is(err, ErrNotFound) {
			return chain.Address{}, err
		}
	}
	// Neither a known name nor an address: report it as a bad address with
	// the chain's code, naming both readings.
	_, perr := chain.ParseAddress(s)
	return chain.Address{}, fmt.Errorf("%q is neither a key in the keyring nor a valid address: %w", s, perr)
}
