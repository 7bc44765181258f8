package node

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
)

func TestRPCURL(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://127.0.0.1:26657": "http://127.0.0.1:26657",
		"tcp://0.0.0.0:1":       "http://127.0.0.1:1",
		"tcp://[::]:2":          "http://127.0.0.1:2",
		":3":                    "http://127.0.0.1:3",
		"10.0.0.1:4":            "http://10.0.0.1:4",
	} {
		if got := RPCURL(in); got != want {
			t.Errorf("RPCURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, "plain", "consensus:debug,*:error")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.With("module", "consensus").Debug("shown-debug")
	l.Error("shown-error")
	// CometBFT's harmless shutdown errors are dropped.
	l.Error("Error serving server", "err", fmt.Errorf("accept: %w", net.ErrClosed))
	l.With("module", "p2p").Error("Stopped accept routine, as transport is closed")
	out := buf.String()
	if strings.Contains(out, "hidden") || !strings.Contains(out, "shown-debug") || !strings.Contains(out, "shown-error") ||
		strings.Contains(out, "serving") || strings.Contains(out, "accept routine") {
		t.Fatalf("log output:\n%s", out)
	}
	buf.Reset()
	l, _ = NewLogger(&buf, "json", "info")
	l.Info("as-json", "k", "v")
	if !strings.HasPrefix(strings.TrimSpace(buf.String()), "{") {
		t.Fatalf("json log: %s", buf.String())
	}
	if _, err := NewLogger(&buf, "plain", "loud"); err == nil {
		t.Fatal("bad level accepted")
	}
	if l, err := NewLogger(&buf, "plain", "none"); err != nil || l == nil {
		t.Fatal(err)
	}
}
