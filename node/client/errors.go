package client

import (
	"errors"
	"fmt"

	"github.com/amp-ledger/amp/chain"
	// The modules register their error codes with chain; importing them
	// lets ErrorByCode name every code the ledger returns.
	_ "github.com/amp-ledger/amp/modules/bank"
	_ "github.com/amp-ledger/amp/modules/consortium"
)

// Error is a rejection by the ledger's rules: by the node (CheckTx, block
// execution, a query) or by this client applying the same rules before
// sending (an unknown asset, too many decimals, a malformed address).
type Error struct {
	Code    uint32 `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// TxHash and Height are set when the error is a tx's result.
	TxHash string `json:"txhash,omitempty"`
	Height int64  `json:"height,omitempty"`
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Reason
	}
	return fmt.Sprintf("code %d (%s): %s", e.Code, e.Reason, msg)
}

// Unwrap returns the registered chain error of the code, if this client
// knows it.
func (e *Error) Unwrap() error {
	if ce, ok := chain.ErrorByCode(e.Code); ok {
		return ce
	}
	return nil
}

// newError makes an Error from a code and the node's info and log.
func newError(code uint32, info, log string) *Error {
	reason := info
	if ce, ok := chain.ErrorByCode(code); ok && reason == "" {
		reason = ce.Reason
	}
	if reason == "" {
		reason = fmt.Sprintf("code_%d", code)
	}
	return &Error{Code: code, Reason: reason, Message: log}
}

// AsError returns err as a ledger rejection if it is one: an *Error, or an
// error of the chain package that carries a registered code (such as
// chain.ParseCoin's). It returns nil for other errors (network, timeout).
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ce *chain.Error
	if errors.As(err, &ce) {
		return &Error{Code: ce.Code, Reason: ce.Reason, Message: err.Error()}
	}
	return nil
}

// Errors of the client itself, not of the ledger.
var (
	// ErrNode wraps a failed request to the node (unreachable, bad answer).
	ErrNode = errors.New("node request failed")
	// ErrTimeout is returned when a broadcast tx was not seen in a block in time.
	ErrTimeout = errors.New("timed out waiting for the tx to be committed")
	// ErrTxInCache is returned when the node has already seen the exact tx bytes.
	ErrTxInCache = errors.New("the node has already received this exact tx")
	// ErrMempoolFull is returned when the node's mempool has no room.
	ErrMempoolFull = errors.New("the node's mempool is full; try again shortly")
	// ErrNoTxIndex is returned for a lookup by hash on a node that keeps no
	// tx index (tx_index = "null", as validators run).
	ErrNoTxIndex = errors.New("the node keeps no tx index")
)

// TimeoutError says a tx was accepted by the node but not seen committed
// before the deadline; it may still be committed later.
type TimeoutError struct {
	TxHash string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("tx %s was accepted but not committed in time (query it later with `amp query tx %s`)", e.TxHash, e.TxHash)
}

// Unwrap makes errors.Is(err, ErrTimeout) hold.
func (e *TimeoutError) Unwrap() error { return ErrTimeout }
