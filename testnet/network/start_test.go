package network_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/amp-ledger/amp/node/client"
	"github.com/amp-ledger/amp/testnet/harness"
	"github.com/amp-ledger/amp/testnet/network"

	"github.com/amp-ledger/amp/testnet/nodeproc"
)

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

// TestStartCommand runs `ampd testnet start` as `make testnet` does: it
// creates the network, starts the nodes as separate processes, waits for
// blocks and prints their RPC addresses; SIGINT (Ctrl-C) stops every node
// cleanly; a second start resumes the chain.
func TestStartCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ampd processes")
	}
	ampd := harness.Ampd(t)
	base := harness.ReservePorts(t, 2*network.PortStride)
	dir := filepath.Join(t.TempDir(), "tn")
	args := []string{"testnet", "start", "--dir", dir, "--validators", "2", "--base-port", fmt.Sprint(base), "--block-time", "200ms"}

	run := func(wantFresh bool) int64 {
		t.Helper()
		var out, errOut syncBuffer
		cmd := exec.Command(ampd, args...)
		cmd.Stdout, cmd.Stderr = &out, &errOut
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		var waitErr error
		go func() { waitErr = cmd.Wait(); close(exited) }()
		defer func() {
			select {
			case <-exited:
			default:
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
		}()
		deadline := time.After(90 * time.Second)
		for !strings.Contains(out.String(), "is running") {
			select {
			case <-exited:
				t.Fatalf("ampd testnet start exited: %v\n%s\n%s", waitErr, out.String(), errOut.String())
			case <-deadline:
				t.Fatalf("not running after 90s:\n%s\n%s", out.String(), errOut.String())
			case <-time.After(100 * time.Millisecond):
			}
		}
		m, err := network.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fresh := strings.Contains(out.String(), "Created a network of 2 validators"); fresh != wantFresh {
			t.Fatalf("created a network: %v, want %v:\n%s", fresh, wantFresh, out.String())
		}
		var height int64
		for _, n := range m.Nodes {
			if !strings.Contains(out.String(), n.RPC) {
				t.Fatalf("summary lacks %s's RPC %s:\n%s", n.Name, n.RPC, out.String())
			}
			c, err := client.New(n.RPC, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := c.Status(ctx)
			cancel()
			if err != nil || st.LatestBlockHeight < network.ReadyHeight {
				t.Fatalf("%s: %+v %v", n.Name, st, err)
			}
			height = st.LatestBlockHeight
		}
		// Ctrl-C reaches the whole foreground process group: here, the
		// supervisor's (the nodes run in groups of their own).
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case <-exited:
			if waitErr != nil {
				t.Fatalf("exit after SIGINT: %v\n%s\n%s", waitErr, out.String(), errOut.String())
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("still running 60s after SIGINT:\n%s", out.String())
		}
		if got := strings.Count(out.String(), "stopped cleanly"); got != 2 {
			t.Fatalf("%d nodes stopped cleanly, want 2:\n%s", got, out.String())
		}
		if err := network.CheckPorts(m); err != nil {
			t.Fatalf("a node still runs after the stop: %v", err)
		}
		for _, n := range m.Nodes {
			if tail := nodeproc.TailFile(n.Log, 3); !strings.Contains(tail, "AMP node stopped cleanly") {
				t.Fatalf("%s's log does not end with a clean stop:\n%s", n.Name, tail)
			}
		}
		return height
	}
	h1 := run(true)
	h2 := run(false)
	if h2 <= h1 {
		t.Fatalf("second start at height %d, first reached %d: the chain did not resume", h2, h1)
	}

}
