package node

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
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

func TestRefusedPeerLinesAreLimited(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, "plain", "info")
	if err != nil {
		t.Fatal(err)
	}
	q := l.(quietShutdown)
	now := time.Unix(0, 0)
	q.refused.now = func() time.Time { return now }
	p2pLog := l.With("module", "p2p")
	refuse := func(id string) {
		p2pLog.Info("Ignoring inbound connection: error while adding peer",
			"err", errors.New(`filtered ID<`+id+`>: error querying abci app: code:22 info:"peer_rejected"`), "id", id)
	}
	for i := 0; i < 50; i++ {
		refuse("aaaa")
		now = now.Add(10 * time.Millisecond)
	}
	refuse("bbbb")
	now = now.Add(RefusedPeerLogInterval)
	refuse("aaaa")
	// Other reasons are not limited.
	p2pLog.Info("Ignoring inbound connection: error while adding peer", "err", errors.New("duplicate"), "id", "aaaa")
	p2pLog.Info("Ignoring inbound connection: error while adding peer", "err", errors.New("duplicate"), "id", "aaaa")
	out := buf.String()
	if n := strings.Count(out, "id=aaaa"); n != 4 {
		t.Fatalf("%d lines about aaaa, want 4:\n%s", n, out)
	}
	if strings.Count(out, "id=bbbb") != 1 || !strings.Contains(out, "refused_since_last_line=49") {
		t.Fatalf("log:\n%s", out)
	}
}
