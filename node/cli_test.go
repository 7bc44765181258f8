package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinaries compiles ampd and amp into dir.
func buildBinaries(t *testing.T, dir string) (ampd, amp string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	ampd, amp = filepath.Join(dir, "ampd"), filepath.Join(dir, "amp")
	for out, pkg := range map[string]string{ampd: "github.com/amp-ledger/amp/node/cmd/ampd", amp: "github.com/amp-ledger/amp/node/cmd/amp"} {
		cmd := exec.Command(goTool, "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return ampd, amp
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemon is an ampd process.
type daemon struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan error
}

func startDaemon(t *testing.T, bin string, args ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(bin, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

// waitOutput waits until the daemon's stdout contains s.
func (d *daemon) waitOutput(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(d.stdout.String(), s) {
		select {
		case err := <-d.done:
			t.Fatalf("ampd exited (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", err, s, d.stdout, d.stderr)
		case <-deadline:
			t.Fatalf("ampd did not print %q in %s\nstdout:\n%s\nstderr:\n%s", s, timeout, d.stdout, d.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends sig and checks that ampd exits cleanly.
func (d *daemon) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("ampd exited with %v after %v\nstderr:\n%s", err, sig, d.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("ampd did not stop after %v", sig)
	}
	if !strings.Contains(d.stderr.String()+d.stdout.String(), "stopped cleanly") {
		t.Fatalf("no clean stop logged:\n%s", d.stderr)
	}
}

// ampRun runs amp and returns stdout, stderr and the exit code.
func ampRun(t *testing.T, amp string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, amp, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("amp %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
}

func TestBinariesDevChain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	tmp := t.TempDir()
	ampd, amp := buildBinaries(t, tmp)
	homeDir := filepath.Join(tmp, "dev home")
	rpc := freeAddr(t)
	node := "http://" + rpc
	d := startDaemon(t, ampd, "dev", "--home", homeDir, "--rpc-laddr", rpc, "--p2p-laddr", freeAddr(t), "--block-time", "200ms")
	d.waitOutput(t, "AMP dev chain is running", 60*time.Second)
	// The summary is printed line by line (with RPC queries in between):
	// wait for its last line before reading it.
	d.waitOutput(t, "Wipe and restart", 30*time.Second)
	out := d.stdout.String()
	for _, want := range []string{"amp-dev", "alice", "bob", "issuer", "UNENCRYPTED", "--node " + node, "tx bank send --from alice bob 12.5USD"} {
		if !strings.Contains(out, want) {
			t.Errorf("dev summary lacks %q:\n%s", want, out)
		}
	}
	global := []string{"--home", homeDir, "--node", node, "-o", "json"}
	amp1 := func(args ...string) (string, string, int) {
		return ampRun(t, amp, append(append([]string{}, global...), args...)...)
	}

	type txOut struct {
		TxHash string `json:"txhash"`
		Height int64  `json:"height"`
		Code   *int64 `json:"code"`
	}
	for _, args := range [][]string{
		{"tx", "bank", "send", "--from", "alice", "bob", "12.5USD"},
		{"tx", "bank", "send", "--from", "bob", "alice", "0.000001USD"},
	} {
		stdout, stderr, code := amp1(args...)
		if code != 0 {
			t.Fatalf("amp %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		var r txOut
		decode(t, stdout, &r)
		if len(r.TxHash) != 64 || r.Height < 1 || r.Code == nil || *r.Code != 0 {
			t.Fatalf("amp %v: %s", args, stdout)
		}
	}

	type balOut struct {
		Address  string `json:"address"`
		Balances []struct {
			Asset, Amount string
			BaseUnits     string `json:"base_units"`
		} `json:"balances"`
	}
	stdout, stderr, code := amp1("query", "bank", "balance", "alice")
	if code != 0 {
		t.Fatalf("balance: exit %d %s", code, stderr)
	}
	var bal balOut
	decode(t, stdout, &bal)
	if len(bal.Balances) != 1 || bal.Balances[0].Asset != "USD" || bal.Balances[0].Amount != "987.500001" ||
		bal.Balances[0].BaseUnits != "987500001000000000000" || !strings.HasPrefix(bal.Address, "amp1") {
		t.Fatalf("alice's balance: %s", stdout)
	}

	// Failures: the chain's code in JSON and a non-zero exit.
	type failOut struct {
		Code    int64  `json:"code"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	for _, tc := range []struct {
		args   []string
		code   int64
		reason string
		exit   int
	}{
		{[]string{"tx", "bank", "send", "--from", "alice", "bob", "5000USD"}, 102, "insufficient_funds", 1},
		{[]string{"tx", "bank", "send", "--from", "alice", "bob", "1EUR"}, 101, "unknown_asset", 1},
		{[]string{"tx", "bank", "send", "--from", "alice", "amp1nope", "1"}, 15, "invalid_address", 1},
		{[]string{"tx", "bank", "mint", "--from", "alice", "bob", "1USD"}, 202, "not_member", 1},
		{[]string{"tx", "bank", "send", "--from", "nobody", "bob", "1"}, -1, "key_not_found", 2},
		{[]string{"tx", "bank", "send", "--from", "alice", "bob"}, -1, "usage", 2},
	} {
		stdout, stderr, code := amp1(tc.args...)
		if code != tc.exit {
			t.Fatalf("amp %v: exit %d, want %d\n%s%s", tc.args, code, tc.exit, stdout, stderr)
		}
		var f failOut
		decode(t, stdout, &f)
		if f.Code != tc.code || f.Reason != tc.reason || f.Message == "" {
			t.Fatalf("amp %v: %s", tc.args, stdout)
		}
	}
	// Text mode says the same on stderr.
	_, stderr, code = ampRun(t, amp, "--home", homeDir, "--node", node, "tx", "bank", "send", "--from", "alice", "bob", "5000")
	if code != 1 || !strings.Contains(stderr, "insufficient_funds (code 102)") {
		t.Fatalf("text failure: exit %d\n%s", code, stderr)
	}
	// Balances are unchanged by the failures.
	stdout, _, _ = amp1("query", "bank", "balance", "alice")
	decode(t, stdout, &bal)
	if bal.Balances[0].Amount != "987.500001" {
		t.Fatalf("failed txs changed alice's balance: %s", stdout)
	}
	// A node that is not there: exit 3.
	_, _, code = ampRun(t, amp, "--home", homeDir, "--node", "http://"+freeAddr(t), "-o", "json", "status")
	if code != 3 {
		t.Fatalf("unreachable node: exit %d", code)
	}

	checkPaymentsCLI(t, amp1, out)
	checkRulesCLI(t, amp1)
	checkIdentityCLI(t, amp1)
	checkGuaranteeCLI(t, amp1)

	// SIGINT stops cleanly; `ampd start` restarts the same chain.
	stdout, _, _ = amp1("query", "bank", "balance", "alice")
	decode(t, stdout, &bal)
	aliceBeforeStop := bal.Balances[0].Amount
	d.stop(t, os.Interrupt)
	d2 := startDaemon(t, ampd, "start", "--home", homeDir)
	deadline := time.Now().Add(60 * time.Second)
	for {
		stdout, _, code = amp1("query", "bank", "balance", "alice")
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted node does not answer\n%s", d2.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	decode(t, stdout, &bal)
	if bal.Balances[0].Amount != aliceBeforeStop {
		t.Fatalf("after restart: %s, before the stop %s", stdout, aliceBeforeStop)
	}
	d2.stop(t, syscall.SIGTERM)
}
