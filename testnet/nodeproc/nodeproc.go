package nodeproc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	cfg "github.com/cometbft/cometbft/config"

	"github.com/amp-ledger/amp/node/home"
)

// Package paths of the binaries this package builds.
const (
	AmpdPkg     = "github.com/amp-ledger/amp/node/cmd/ampd"
	CometBFTPkg = "github.com/cometbft/cometbft/cmd/cometbft"
)

// Build runs `go build -o dir/name pkg` and returns the binary's path. It
// must run from inside the module (tests and `go run` do).
func Build(dir, name, pkg string) (string, error) {
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = os.Environ()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Ports are a node's listen ports on 127.0.0.1.
type Ports struct {
	RPC, P2P int
	// Pprof is CometBFT's pprof server (rpc.pprof_laddr); 0 disables it.
	Pprof int
}

// NewPorts picks free RPC and P2P ports (and a pprof port if pprof).
func NewPorts(pprof bool) (Ports, error) {
	var p Ports
	var err error
	if p.RPC, err = FreePort(); err != nil {
		return p, err
	}
	if p.P2P, err = FreePort(); err != nil {
		return p, err
	}
	for p.P2P == p.RPC {
		if p.P2P, err = FreePort(); err != nil {
			return p, err
		}
	}
	if pprof {
		if p.Pprof, err = FreePort(); err != nil {
			return p, err
		}
	}
	return p, nil
}

// RPCURL is the node's RPC address for clients.
func (p Ports) RPCURL() string { return fmt.Sprintf("http://127.0.0.1:%d", p.RPC) }

// Apply sets the listen addresses of c to p, all on 127.0.0.1.
func (p Ports) Apply(c *cfg.Config) {
	c.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", p.RPC)
	c.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", p.P2P)
	c.RPC.PprofListenAddress = ""
	if p.Pprof != 0 {
		c.RPC.PprofListenAddress = fmt.Sprintf("127.0.0.1:%d", p.Pprof)
	}
}

// Run runs a command to completion and returns its combined output in the
// error if it fails.
func Run(bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, b)
	}
	return nil
}

// InitAmpd creates a one-validator AMP home with `ampd init`.
func InitAmpd(ampd, dir, chainID, moniker string) error {
	return Run(ampd, "init", "--home", dir, "--chain-id", chainID, "--moniker", moniker)
}

// InitCometBFT creates a plain CometBFT home with `cometbft init`.
func InitCometBFT(cometbft, dir string) error {
	return Run(cometbft, "init", "--home", dir)
}

// LoadConfig reads a home's config.toml the way ampd does.
func LoadConfig(dir string) (*cfg.Config, error) { return home.LoadConfig(dir) }

// WriteConfig writes c as the config.toml of the home dir, setting c's root
// to dir. Writing one config to several homes gives them the same settings.
func WriteConfig(dir string, c *cfg.Config) error {
	c.SetRoot(dir)
	return home.WriteConfig(c)
}

// EditConfig loads dir's config.toml, lets edit change it and writes it back.
func EditConfig(dir string, edit func(*cfg.Config)) error {
	c, err := LoadConfig(dir)
	if err != nil {
		return err
	}
	edit(c)
	if err := c.ValidateBasic(); err != nil {
		return err
	}
	return WriteConfig(dir, c)
}

// CPUTime returns the CPU time (user + system) the process has used so
// far, from /proc.
func (p *Process) CPUTime() (time.Duration, error) { return ProcCPUTime(p.Pid()) }

// ProcCPUTime returns the CPU time (user + system) process pid has used,
// from /proc/<pid>/stat (Linux, 100 ticks a second).
func ProcCPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("bad /proc stat")
	}
	var utime, stime int64
	if _, err := fmt.Sscan(f[11], &utime); err != nil {
		return 0, err
	}
	if _, err := fmt.Sscan(f[12], &stime); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// MachineCPU returns the busy and total CPU time of the whole machine so
// far (all cores, from /proc/stat): the difference of two readings over a
// window shows how many cores everything together used.
func MachineCPU() (busy, total time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("bad /proc/stat")
	}
	var ticks [10]int64
	for i := 1; i < len(f) && i <= 10; i++ {
		if _, err := fmt.Sscan(f[i], &ticks[i-1]); err != nil {
			return 0, 0, err
		}
	}
	// user nice system idle iowait irq softirq steal (guest is in user)
	idle := ticks[3] + ticks[4]
	var all int64
	for _, t := range ticks[:8] {
		all += t
	}
	return time.Duration(all-idle) * 10 * time.Millisecond, time.Duration(all) * 10 * time.Millisecond, nil
}

// Process is a node (or any program) running as a child process, its
// stdout and stderr appended to a log file.
type Process struct {
	Name    string
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// Start runs bin with args, appending its output to logPath after a
// line that marks the start. The child runs in its own process group, so
// that a terminal's Ctrl-C reaches only this process, which decides how to
// stop it; it is killed if this process dies.
func Start(name, logPath, bin string, args ...string) (*Process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: log: %w", name, err)
	}
	fmt.Fprintf(f, "=== %s starting %s %s\n", time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited, and how (nil for exit
// status 0 or death by SIGTERM).
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.exitErr()
	default:
		return false, nil
	}
}

// Kill sends SIGKILL and waits for the process to go.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to timeout for the process to exit, then
// kills it. It returns an error if the process had to be killed or exited
// with an error.
func (p *Process) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.exitErr()
	case <-t.C:
		p.Kill()
		return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed (log %s)", p.Name, timeout, p.LogPath)
	}
}

func (p *Process) exitErr() error {
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	return fmt.Errorf("%s exited: %w (log %s)", p.Name, err, p.LogPath)
}

// Tail returns about the last n lines of the process's log.
func (p *Process) Tail(n int) string { return TailFile(p.LogPath, n) }

// TailFile returns about the last n lines of a file (reading at most its
// last 64 KiB), or "" if it cannot be read.
func TailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const most = 64 << 10
	var off int64
	if fi, err := f.Stat(); err == nil && fi.Size() > most {
		off = fi.Size() - most
	}
	buf := make([]byte, most)
	k, _ := f.ReadAt(buf, off)
	lines := strings.Split(strings.TrimRight(string(buf[:k]), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
