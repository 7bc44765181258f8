package chain

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Error is a rejection with a stable number and snake_case reason name.
// Codes are part of the public interface (docs/errors.md): once published a
// code keeps its number and reason forever.
type Error struct {
	Code   uint32
	Reason string
	Doc    string // one line for docs/errors.md and `amp errors`
}

func (e *Error) Error() string { return e.Reason }

var (
	registryMu sync.Mutex
	registry   = map[uint32]*Error{}
	byReason   = map[string]*Error{}
)

// RegisterError adds a code to the registry. It panics on a reused number or
// reason: that is a programming error caught by any test run.
func RegisterError(code uint32, reason, doc string) *Error {
	registryMu.Lock()
	defer registryMu.Unlock()
	if code == 0 {
		panic("chain: error code 0 means success")
	}
	if prev, ok := registry[code]; ok {
		panic(fmt.Sprintf("chain: error code %d registered twice (%s, %s)", code, prev.Reason, reason))
	}
	if _, ok := byReason[reason]; ok {
		panic(fmt.Sprintf("chain: error reason %q registered twice", reason))
	}
	e := &Error{Code: code, Reason: reason, Doc: doc}
	registry[code] = e
	byReason[reason] = e
	return e
}

// ErrorByCode returns the registered error with that code, if any.
func ErrorByCode(code uint32) (*Error, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	e, ok := registry[code]
	return e, ok
}

// Errors returns every registered error, ordered by code.
func Errors() []*Error {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]*Error, 0, len(registry))
	for _, e := range registry {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// Wrapf returns an error that carries e's code with a message giving context.
// errors.Is(err, e) holds for the result.
func Wrapf(e *Error, format string, args ...any) error {
	return &coded{kind: e, msg: fmt.Sprintf(format, args...)}
}

type coded struct {
	kind *Error
	msg  string
}

func (c *coded) Error() string { return c.kind.Reason + ": " + c.msg }
func (c *coded) Unwrap() error { return c.kind }

// CodeOf returns the registered error an error chain carries, or ErrInternal
// when it carries none (a bug or an unexpected condition).
func CodeOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrInternal
}

// Codes 1-99 belong to the tx pipeline; each module has a range of 100
// (bank 100, consortium 200, identity 300, delegation 400, trust 500,
// payments 600, rules 700, channels 800).
var (
	ErrInternal         = RegisterError(1, "internal", "an unexpected condition in the node; report it")
	ErrTxDecode         = RegisterError(2, "tx_decode", "tx bytes are not a canonical Tx encoding")
	ErrWrongChainID     = RegisterError(3, "wrong_chain_id", "the tx was signed for another chain")
	ErrNoSignature      = RegisterError(4, "missing_signature", "the tx carries no signature")
	ErrInvalidSignature = RegisterError(5, "invalid_signature", "a signature does not verify against its key and the sign bytes")
	ErrInvalidPubKey    = RegisterError(6, "invalid_pub_key", "a public key is malformed or of an unknown type")
	ErrNonceTooLow      = RegisterError(7, "nonce_too_low", "the nonce was already used (a replay)")
	ErrNonceTooHigh     = RegisterError(8, "nonce_too_high", "the nonce skips ahead of the signer's next nonce")
	ErrTxTimeout        = RegisterError(9, "tx_timeout", "the block height is past the tx's timeout height")
	ErrUnknownMsg       = RegisterError(10, "unknown_message", "a message type is not known to this chain")
	ErrMsgDecode        = RegisterError(11, "message_decode", "a message's bytes are not a canonical encoding of its type")
	ErrNoMsgs           = RegisterError(12, "no_messages", "the tx carries no message")
	ErrTxTooLarge       = RegisterError(13, "tx_too_large", "the tx or one of its fields is over its size limit")
	ErrUnauthorized     = RegisterError(14, "unauthorized", "no signature of the tx authorises this account or role")
	ErrInvalidAddress   = RegisterError(15, "invalid_address", "an address is malformed")
	ErrInvalidAmount    = RegisterError(16, "invalid_amount", "an amount is malformed, zero where it must not be, or has too many decimals")
	ErrOverflow         = RegisterError(17, "overflow", "arithmetic would overflow 256 bits")
	ErrNotFound         = RegisterError(18, "not_found", "the queried object does not exist")
	ErrInvalidRequest   = RegisterError(19, "invalid_request", "a field of the message or query is invalid")
	ErrDuplicateSigner  = RegisterError(20, "duplicate_signature", "the same key signs the tx twice")
	ErrSignerMismatch   = RegisterError(21, "signer_mismatch", "the signatures are not by the signers the body names, in that order")
)
