package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestParseSeconds(t *testing.T) {
	for in, want := range map[string]uint64{"3600": 3600, "7d": 7 * 86400, "24h": 86400, "90m": 5400, "0": 0} {
		if got, err := parseSeconds("--period", in); err != nil || got != want {
			t.Errorf("parseSeconds(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "-5", "1.5s", "-2h", "d"} {
		if _, err := parseSeconds("--period", in); err == nil {
			t.Errorf("parseSeconds(%q) succeeded", in)
		}
	}
}

func TestPercentAndPeriodText(t *testing.T) {
	for bp, want := range map[int]string{0: "0%", 5: "0.05%", 50: "0.5%", 5600: "56%", 9633: "96.33%", 10000: "100%"} {
		if got := percent(bp); got != want {
			t.Errorf("percent(%d) = %q, want %q", bp, got, want)
		}
	}
	for s, want := range map[uint64]string{86400: "1 day", 7 * 86400: "7 days", 3600: "1h0m0s"} {
		if got := periodText(s); got != want {
			t.Errorf("periodText(%d) = %q, want %q", s, got, want)
		}
	}
}

// Missing flags of the mandate and payment commands are usage errors,
// found before the keyring or the node is used.
func TestDelegationPaymentsUsage(t *testing.T) {
	home := t.TempDir()
	for _, args := range [][]string{
		{"tx", "delegation", "grant", "--from", "alice", "--agent", "helper"},
		{"tx", "delegation", "grant-immediate", "--from", "alice", "--agent", "helper", "--merchant", "shop", "--amount", "5"},
		{"tx", "delegation", "revoke", "--from", "alice"},
		{"tx", "delegation", "limits", "--from", "alice", "--max-daily", "5"},
		{"tx", "payments", "pay", "--from", "helper", "--merchant", "shop", "--order", "o", "5USD"},
		{"tx", "payments", "pay", "--from", "helper", "--mandate", "mandate-1", "--merchant", "shop", "--order", "o"},
		{"tx", "payments", "capture", "--from", "shop", "token-1", "5USD"},
		{"query", "delegation", "mandate"},
		{"query", "payments", "bills"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"--home", home, "--node", "127.0.0.1:1", "-o", "json"}, args...), &out, &errb)
		if code != exitUsage || !strings.Contains(out.String(), `"reason": "usage"`) {
			t.Errorf("amp %v: exit %d\n%s%s", args, code, out.String(), errb.String())
		}
	}
}
