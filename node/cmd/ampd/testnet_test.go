package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amp-ledger/amp/testnet/network"
)

func runAmpd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot(&out, &out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestTestnetInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tn")
	for _, bad := range [][]string{
		{"--validators", "0"},
		{"--validators", "1000"},
		{"--validators", "-3"},
		{"--validators", "four"},
		{"--validators", "4", "--base-port", "65530"},
		{"--validators", "4", "--base-port", "22"},
		{"--validators", "4", "--block-time", "-1s"},
	} {
		if _, err := runAmpd(t, append([]string{"testnet", "init", "--dir", dir}, bad...)...); err == nil {
			t.Errorf("testnet init %v accepted", bad)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("testnet init %v left %s", bad, dir)
		}
	}
	out, err := runAmpd(t, "testnet", "init", "--validators", "3", "--dir", dir, "--base-port", "27000", "--chain-id", "amp-x", "--block-time", "500ms")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m, err := network.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.ChainID != "amp-x" || len(m.Nodes) != 3 || m.Nodes[2].RPC != "http://127.0.0.1:27021" ||
		!strings.HasSuffix(m.Nodes[2].P2P, "@127.0.0.1:27020") {
		t.Fatalf("manifest: %+v", m)
	}
	for _, n := range m.Nodes {
		if !strings.Contains(out, n.RPC) || !strings.Contains(out, n.P2P) {
			t.Fatalf("output lacks %s:\n%s", n.Name, out)
		}
	}
	if _, err := runAmpd(t, "testnet", "init", "--dir", dir); err == nil || !strings.Contains(err.Error(), "already holds a network") {
		t.Fatalf("second init: %v", err)
	}
	if _, err := runAmpd(t, "testnet", "start", "--dir", dir, "--stop-timeout", "0s"); err == nil {
		t.Fatal("--stop-timeout 0s accepted")
	}
}
