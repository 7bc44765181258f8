package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/amp-ledger/amp/node/client"

	"github.com/amp-ledger/amp/testnet/nodeproc"
)

// Defaults of Run.
const (
	DefaultReadyTimeout = 60 * time.Second
	DefaultStopTimeout  = 20 * time.Second
	// ReadyHeight is the height every node must reach before Run reports
	// the network ready: the first block needs every validator online, the
	// second shows consensus goes on.
	ReadyHeight = 2
)

// RunOptions adjust Run.
type RunOptions struct {
	// Bin is the ampd binary that runs the nodes (`Bin start --home H`).
	Bin string
	// LogLevel, if set, is passed to each node as --log-level.
	LogLevel string
	// Amp is how the printed example commands call the client; empty
	// means "amp".
	Amp string
	// Out receives the summary and progress lines; nil discards them.
	Out io.Writer
	// ReadyTimeout bounds the wait for the first blocks; zero means
	// DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// StopTimeout is how long a node may take to stop after SIGTERM before
	// it is killed; zero means DefaultStopTimeout.
	StopTimeout time.Duration
	// Ready, if set, is called once every node has reached ReadyHeight.
	Ready func()
}

// Run starts every node of m as a child process (`ampd start`), its output
// appended to the node's log file; waits until every node has reached
// ReadyHeight and committed a block since it started; prints the nodes' addresses and example commands to o.Out;
// then waits for ctx to end and stops the nodes: SIGTERM, then SIGKILL for
// a node still running after o.StopTimeout. A node that exits on its own is
// reported and the others keep running; Run returns when ctx ends or every
// node has exited. It returns an error if the network did not start, a node
// exited with an error, or a node had to be killed.
func Run(ctx context.Context, m *Manifest, o RunOptions) error {
	if o.Bin == "" {
		return fmt.Errorf("run: no ampd binary given")
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	if err := CheckPorts(m); err != nil {
		return err
	}

	procs := make([]*nodeproc.Process, 0, len(m.Nodes))
	var stopOnce sync.Once
	var stopErr error
	stopAll := func() error {
		stopOnce.Do(func() {
			fmt.Fprintf(out, "\nStopping %d nodes (SIGTERM; killed after %s)...\n", len(procs), o.StopTimeout)
			errs := make([]error, len(procs))
			var wg sync.WaitGroup
			for i, p := range procs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					already, _ := p.Exited()
					errs[i] = p.Stop(o.StopTimeout)
					switch {
					case already:
					case errs[i] != nil:
						fmt.Fprintf(out, "  %s: %v\n", p.Name, errs[i])
					default:
						fmt.Fprintf(out, "  %s stopped cleanly\n", p.Name)
					}
				}()
			}
			wg.Wait()
			stopErr = errors.Join(errs...)
		})
		return stopErr
	}
	for _, n := range m.Nodes {
		args := []string{"start", "--home", n.Home}
		if o.LogLevel != "" {
			args = append(args, "--log-level", o.LogLevel)
		}
		p, err := nodeproc.Start(n.Name, n.Log, o.Bin, args...)
		if err != nil {
			_ = stopAll()
			return err
		}
		procs = append(procs, p)
	}
	fmt.Fprintf(out, "Started %d nodes of %s from %s; waiting for blocks...\n", len(procs), m.ChainID, displayPath(m.Dir))

	height, err := waitReady(ctx, m, procs, o.ReadyTimeout)
	if err != nil {
		if ctx.Err() != nil { // interrupted while starting: a normal stop
			return stopAll()
		}
		_ = stopAll()
		return err
	}
	printSummary(out, m, height, o.Amp)
	if o.Ready != nil {
		o.Ready()
	}

	// Report nodes that exit on their own; run until ctx ends or all exit.
	exited := make(chan *nodeproc.Process, len(procs))
	for _, p := range procs {
		go func() {
			select {
			case <-p.Done():
				exited <- p
			case <-ctx.Done():
			}
		}()
	}
	running := len(procs)
	for running > 0 {
		select {
		case <-ctx.Done():
			return stopAll()
		case p := <-exited:
			running--
			how := "cleanly"
			if _, err := p.Exited(); err != nil {
				how = err.Error()
			}
			fmt.Fprintf(out, "%s exited on its own (%s); %d nodes still run. Last lines of %s:\n%s\n",
				p.Name, how, running, displayPath(p.LogPath), p.Tail(15))
		}
	}
	err = stopAll()
	return errors.Join(fmt.Errorf("every node has exited"), err)
}

// waitReady waits until every node reports at least ReadyHeight and a
// block made since it started, and returns the lowest height seen then.
func waitReady(ctx context.Context, m *Manifest, procs []*nodeproc.Process, timeout time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	clients := make([]*client.Client, len(m.Nodes))
	for i, n := range m.Nodes {
		c, err := client.New(n.RPC, nil)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", n.Name, err)
		}
		clients[i] = c
	}
	heights := make([]int64, len(m.Nodes))
	first := make([]int64, len(m.Nodes)) // the height a node first reported, +1
	lastErr := make([]error, len(m.Nodes))
	for {
		for i, p := range procs {
			if done, err := p.Exited(); done {
				return 0, fmt.Errorf("%s exited while starting (%v); last lines of %s:\n%s", p.Name, err, p.LogPath, p.Tail(20))
			}
			qctx, qcancel := context.WithTimeout(ctx, 2*time.Second)
			st, err := clients[i].Status(qctx)
			qcancel()
			lastErr[i] = err
			if err == nil {
				heights[i] = st.LatestBlockHeight
				if first[i] == 0 {
					first[i] = st.LatestBlockHeight + 1
				}
			}
		}
		ready := true
		low := heights[0]
		for i, h := range heights {
			low = min(low, h)
			// A restarted chain reports its stored height at once: wait
			// for a block made by this run.
			ready = ready && first[i] > 0 && h >= max(ReadyHeight, first[i])
		}
		if ready {
			return low, nil
		}
		select {
		case <-ctx.Done():
			var b strings.Builder
			for i, n := range m.Nodes {
				fmt.Fprintf(&b, "\n  %s: height %d", n.Name, heights[i])
				if lastErr[i] != nil {
					fmt.Fprintf(&b, " (%v)", lastErr[i])
				}
				fmt.Fprintf(&b, ", log %s", n.Log)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return 0, fmt.Errorf("the network made no blocks within %s:%s", timeout, b.String())
			}
			return 0, fmt.Errorf("interrupted while waiting for blocks: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// CheckPorts checks that every node's RPC and P2P ports are free on
// 127.0.0.1, to explain the usual reason a network does not start.
func CheckPorts(m *Manifest) error {
	for _, n := range m.Nodes {
		rpc, err := hostPort(n.RPC)
		if err != nil {
			return fmt.Errorf("%s rpc: %w", n.Name, err)
		}
		p2p := n.P2P
		if i := strings.IndexByte(p2p, '@'); i >= 0 {
			p2p = p2p[i+1:]
		}
		for _, a := range []struct{ what, addr string }{{"RPC", rpc}, {"P2P", p2p}} {
			l, err := net.Listen("tcp", a.addr)
			if err != nil {
				return fmt.Errorf("%s's %s address %s is in use (is this network, a dev chain or another program already running?): stop it, or make a network with another --base-port: %w",
					n.Name, a.what, a.addr, err)
			}
			l.Close()
		}
	}
	return nil
}

func hostPort(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", rawURL, err)
	}
	if u.Host == "" {
		return "", fmt.Errorf("address %q has no host", rawURL)
	}
	return u.Host, nil
}

func printSummary(w io.Writer, m *Manifest, height int64, amp string) {
	if amp == "" {
		amp = "amp"
	}
	dir := displayPath(m.Dir)
	fmt.Fprintf(w, "\nAMP testnet %q is running: %d validators, height %d\n\n", m.ChainID, len(m.Nodes), height)
	tw := func(cols ...string) { fmt.Fprintf(w, "  %-8s %-24s %-62s %s\n", cols[0], cols[1], cols[2], cols[3]) }
	tw("NODE", "RPC", "P2P", "LOG")
	for _, n := range m.Nodes {
		tw(n.Name, n.RPC, n.P2P, displayPath(n.Log))
	}
	fmt.Fprintf(w, "\n  homes     %s/node0 ... (each: `ampd start --home`, keyring with its member's key)\n", dir)
	fmt.Fprintf(w, "  keyring   %s/keyring (every member's key; UNENCRYPTED: test keys only)\n", dir)
	fmt.Fprintf(w, "  manifest  %s/%s\n", dir, ManifestName)
	fmt.Fprintf(w, "  members   node0 ... node%d: every role, power %d, %s each\n", len(m.Nodes)-1, MemberPower, MemberCoins)

	cmd := func(i int) string {
		return fmt.Sprintf("%s --home %s --node %s", amp, shellQuote(dir), m.Nodes[i%len(m.Nodes)].RPC)
	}
	other := m.Nodes[1%len(m.Nodes)].Name
	lines := []string{
		cmd(0) + " status",
		cmd(0) + " query consortium validators",
		cmd(1) + " tx bank send --from node0 " + other + " 12.5USD",
		cmd(2) + " query bank balance " + other,
		cmd(0) + " tx consortium propose --from node0 set-param consortium.voting_period_blocks 100",
	}
	if len(m.Nodes) > 1 {
		lines = append(lines, cmd(1)+" tx consortium vote --from "+other+" ID yes      # ID: what propose printed")
	}
	fmt.Fprintf(w, "\n  Try, in another terminal:\n")
	for _, line := range lines {
		fmt.Fprintf(w, "    %s\n", line)
	}
	fmt.Fprintf(w, "\n  Stop with Ctrl-C: the nodes stop cleanly and keep their state; starting again resumes the chain.\n\n")
}

// displayPath shows p relative to the working directory when it lies below
// it.
func displayPath(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
