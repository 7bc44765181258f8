package nodeproc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// Process is a node running as a child process, its output going to a log
// file.
type Process struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	logf    *os.File
	done    chan struct{}
	err     error
}

// Start runs bin with args, appending its stdout and stderr to logPath.
// The child is killed if this process dies.
func Start(name, logPath, bin string, args ...string) (*Process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, logf: f, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited, and its wait error.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
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

// Stop sends SIGTERM, waits up to timeout for a clean exit, then kills. It
// returns an error if the process had to be killed or exited with an error
// other than the signal's.
func (p *Process) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s did not stop within %s after SIGTERM; killed", p.Name, timeout)
	}
}

func (p *Process) exitErr() error {
	if p.err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	return fmt.Errorf("%s exited: %v (log %s)", p.Name, p.err, p.LogPath)
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

// Tail returns the last n bytes of the process's log, for error reports.
func (p *Process) Tail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
