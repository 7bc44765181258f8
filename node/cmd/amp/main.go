package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/amp-ledger/amp/node/client"
	"github.com/amp-ledger/amp/node/home"
	"github.com/amp-ledger/amp/node/keyring"
)

// Exit codes (documented in docs/cli.md).
const (
	exitOK       = 0
	exitRejected = 1 // the ledger's rules rejected the request; the output has the code
	exitUsage    = 2 // bad command line, unknown key name
	exitNode     = 3 // the node could not be reached or answered badly
	exitTimeout  = 4 // a tx was accepted but not seen committed in time
	exitLocal    = 5 // a local failure (keyring files, …)
)

// env is what every command shares: the global flags and the output.
type env struct {
	homeDir string
	node    string
	output  string
	timeout time.Duration

	stdout, stderr io.Writer
	ran            bool // a command's RunE started: later errors are not usage errors
}

func (e *env) json() bool { return e.output == "json" }

// usageError marks a mistake in the command line.
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// keyringFor opens the home's keyring. Reading commands do not create it.
func (e *env) keyringFor(create bool) (*keyring.Keyring, error) {
	dir := keyring.Dir(e.homeDir)
	if !create {
		if _, err := os.Stat(dir); err != nil {
			return nil, nil
		}
	}
	return keyring.Open(dir)
}

// client connects to --node with the home's keyring (if any) for names.
func (e *env) client() (*client.Client, error) {
	kr, err := e.keyringFor(false)
	if err != nil {
		return nil, err
	}
	c, err := client.New(e.node, kr)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

func (e *env) ctx(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), e.timeout)
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "amp",
		Short: "Client of the AMP ledger: keys, txs and queries",
		Long: `amp talks to an AMP node over its RPC (--node) and signs with keys from the
keyring of a home folder (--home). Key names from the keyring are accepted
wherever an address is. -o json prints machine-readable output; failures
then print {"code","reason","message"} and exit non-zero (see docs/cli.md).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if e.output != "text" && e.output != "json" {
				return usagef("-o must be text or json, not %q", e.output)
			}
			if e.timeout <= 0 {
				return usagef("--timeout must be positive")
			}
			// Cobra checks required flags only after this hook; check them
			// here so that a missing one is a usage error.
			if err := cmd.ValidateRequiredFlags(); err != nil {
				return usageError{err}
			}
			e.ran = true
			return nil
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&e.homeDir, "home", home.DefaultHome(), "home folder whose keyring holds your keys (env "+home.HomeEnv+")")
	pf.StringVar(&e.node, "node", defaultNode(), "RPC address of the node (env AMP_NODE)")
	pf.StringVarP(&e.output, "output", "o", "text", "output format: text or json")
	pf.DurationVar(&e.timeout, "timeout", 30*time.Second, "how long to wait for the node, and for a tx to be committed")
	root.AddCommand(keysCmd(e), txCmd(e), queryCmd(e), rulesCmd(e), statusCmd(e), errorsCmd(e))
	return root
}

func defaultNode() string {
	if n := os.Getenv("AMP_NODE"); n != "" {
		return n
	}
	return client.DefaultNode
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, output: "text"}
	root := newRoot(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var se silentExit
	if errors.As(err, &se) {
		return se.code
	}
	return e.fail(err)
}

// silentExit ends a command that already printed its verdict (amp rules
// check) with an exit code and nothing more.
type silentExit struct{ code int }

func (s silentExit) Error() string { return fmt.Sprintf("exit %d", s.code) }

// failure is the JSON shape of an error.
type failure struct {
	Code    int64  `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	TxHash  string `json:"txhash,omitempty"`
	Height  int64  `json:"height,omitempty"`
}

// fail prints err and returns the exit code for it. A ledger rejection
// keeps its chain code; other failures have code -1 and a reason naming
// what went wrong.
func (e *env) fail(err error) int {
	f, exit := classify(err, e.ran)
	if e.json() {
		printJSON(e.stdout, f)
	} else {
		if f.Code > 0 {
			// The ledger's messages start with the reason; do not say it twice.
			msg := strings.TrimPrefix(f.Message, f.Reason+": ")
			fmt.Fprintf(e.stderr, "Error: %s (code %d): %s\n", f.Reason, f.Code, msg)
		} else {
			fmt.Fprintf(e.stderr, "Error: %s\n", f.Message)
		}
		if f.TxHash != "" {
			fmt.Fprintf(e.stderr, "  txhash: %s\n", f.TxHash)
		}
		if f.Height != 0 {
			fmt.Fprintf(e.stderr, "  height: %d\n", f.Height)
		}
		if exit == exitUsage && !e.ran {
			fmt.Fprintln(e.stderr, "Run 'amp --help' for usage.")
		}
	}
	return exit
}

func classify(err error, ran bool) (failure, int) {
	var ue usageError
	var te *client.TimeoutError
	switch {
	case errors.As(err, &te):
		return failure{Code: -1, Reason: "timeout", Message: err.Error(), TxHash: te.TxHash}, exitTimeout
	case errors.As(err, &ue) || !ran:
		return failure{Code: -1, Reason: "usage", Message: err.Error()}, exitUsage
	case errors.Is(err, keyring.ErrNotFound):
		return failure{Code: -1, Reason: "key_not_found", Message: err.Error()}, exitUsage
	case errors.Is(err, keyring.ErrInvalidName) || errors.Is(err, keyring.ErrExists):
		return failure{Code: -1, Reason: "usage", Message: err.Error()}, exitUsage
	case errors.Is(err, client.ErrTxInCache):
		return failure{Code: -1, Reason: "tx_in_cache", Message: err.Error()}, exitNode
	case errors.Is(err, client.ErrMempoolFull):
		return failure{Code: -1, Reason: "mempool_full", Message: err.Error()}, exitNode
	case errors.Is(err, client.ErrNode):
		return failure{Code: -1, Reason: "node_error", Message: err.Error()}, exitNode
	}
	if ce := client.AsError(err); ce != nil {
		return failure{Code: int64(ce.Code), Reason: ce.Reason, Message: ce.Message, TxHash: ce.TxHash, Height: ce.Height}, exitRejected
	}
	return failure{Code: -1, Reason: "error", Message: err.Error()}, exitLocal
}
