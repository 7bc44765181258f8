package keyring

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/amp-ledger/amp/chain"
)

func TestAddGetListDelete(t *testing.T) {
	home := t.TempDir()
	kr, err := OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		typ  chain.KeyType
	}{{"alice", chain.KeyEd25519}, {"phone-1", chain.KeyP256}, {"Bob_2", chain.KeyEd25519}} {
		k, err := kr.Add(tc.name, tc.typ)
		if err != nil {
			t.Fatalf("add %s: %v", tc.name, err)
		}
		if k.Type != tc.typ || k.PrivKey().Type() != tc.typ {
			t.Fatalf("%s: type %v", tc.name, k.Type)
		}
		if k.Address() != k.PubKey().Address() {
			t.Fatalf("%s: address mismatch", tc.name)
		}
		got, err := kr.Get(tc.name)
		if err != nil {
			t.Fatalf("get %s: %v", tc.name, err)
		}
		if got.Address() != k.Address() || !got.PubKey().Equal(k.PubKey()) {
			t.Fatalf("%s: reloaded key differs", tc.name)
		}
		// The reloaded key signs for the same public key.
		msg := []byte("hello")
		sig, err := got.PrivKey().Sign(msg)
		if err != nil || !k.PubKey().Verify(msg, sig) {
			t.Fatalf("%s: reloaded key does not sign: %v", tc.name, err)
		}
		a, err := kr.Resolve(tc.name)
		if err != nil || a != k.Address() {
			t.Fatalf("resolve %s: %v %v", tc.name, a, err)
		}
		a, err = kr.Resolve(k.Address().String())
		if err != nil || a != k.Address() {
			t.Fatalf("resolve address of %s: %v", tc.name, err)
		}
		byAddr, err := kr.ByAddress(k.Address())
		if err != nil || byAddr.Name != tc.name {
			t.Fatalf("by address %s: %v", tc.name, err)
		}
	}
	keys, err := kr.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range keys {
		names = append(names, k.Name)
	}
	if len(names) != 3 || names[0] != "Bob_2" || names[1] != "alice" || names[2] != "phone-1" {
		t.Fatalf("list = %v", names)
	}
	if err := kr.Delete("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Get("alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := kr.Delete("alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	home := t.TempDir()
	kr, err := OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Add("k", chain.KeyEd25519); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(Dir(home))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != DirPerm {
		t.Fatalf("dir mode %v", st.Mode().Perm())
	}
	st, err = os.Stat(filepath.Join(Dir(home), "k.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != FilePerm {
		t.Fatalf("file mode %v", st.Mode().Perm())
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(Dir(home))
	if len(entries) != 1 {
		t.Fatalf("keyring holds %d entries, want 1", len(entries))
	}
}

func TestNoOverwrite(t *testing.T) {
	kr, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	first, err := kr.Add("dup", chain.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Add("dup", chain.KeyP256); !errors.Is(err, ErrExists) {
		t.Fatalf("second add: %v", err)
	}
	got, err := kr.Get("dup")
	if err != nil || got.Address() != first.Address() {
		t.Fatalf("key was overwritten: %v", err)
	}
	// Concurrent adds of one name: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := kr.Add("race", chain.KeyEd25519); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent adds won", wins)
	}
}

func TestBadNames(t *testing.T) {
	kr, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addr := chain.Address{1, 2, 3}
	for _, n := range []string{"", "../x", "a/b", ".hidden", "-x", "with space", "ü", addr.String(),
		"0123456789012345678901234567890123456789012345678901234567890123456789"} {
		if _, err := kr.Add(n, chain.KeyEd25519); !errors.Is(err, ErrInvalidName) {
			t.Errorf("add %q: %v, want ErrInvalidName", n, err)
		}
		if _, err := kr.Get(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("get %q: %v, want ErrInvalidName", n, err)
		}
	}
	if _, err := kr.Get("nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get nobody: %v", err)
	}
	if _, err := kr.Resolve("nobody"); !errors.Is(err, chain.ErrInvalidAddress) {
		t.Fatalf("resolve nobody: %v", err)
	}
	if _, err := kr.Resolve("amp1qqqqqqqq"); !errors.Is(err, chain.ErrInvalidAddress) {
		t.Fatalf("resolve bad address: %v", err)
	}
	var nilKR *Keyring
	if a, err := nilKR.Resolve(addr.String()); err != nil || a != addr {
		t.Fatalf("nil keyring resolves addresses: %v", err)
	}
}

func TestCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	kr, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	good, err := kr.Add("good", chain.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	other, err := chain.GenerateKey(chain.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"notjson":  "{",
		"badtype":  `{"name":"badtype","type":"rsa","priv_key":"00"}`,
		"badhex":   `{"name":"badhex","type":"ed25519","priv_key":"zz"}`,
		"short":    `{"name":"short","type":"ed25519","priv_key":"0102"}`,
		"wrongnm":  `{"name":"other","type":"ed25519","priv_key":"` + hexOf(other.Bytes()) + `"}`,
		"mismatch": `{"name":"mismatch","type":"ed25519","address":"` + good.Address().String() + `","priv_key":"` + hexOf(other.Bytes()) + `"}`,
		"badpub":   `{"name":"badpub","type":"ed25519","pub_key":"00","priv_key":"` + hexOf(other.Bytes()) + `"}`,
	}
	for name, body := range cases {
		if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := kr.Get(name); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := kr.List(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("list with corrupt files: %v", err)
	}
	// A file without derived fields is accepted (they are recomputed).
	if err := os.WriteFile(filepath.Join(dir, "minimal.json"), []byte(`{"name":"minimal","type":"ed25519","priv_key":"`+hexOf(other.Bytes())+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := kr.Get("minimal")
	if err != nil || k.Address() != other.PubKey().Address() {
		t.Fatalf("minimal: %v", err)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
