package chain_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/amp-ledger/amp/chain"
)

// The codes are public: once published, a number and its reason never
// change. This table pins them.
func TestErrorCodesPinned(t *testing.T) {
	pinned := []struct {
		err    *chain.Error
		code   uint32
		reason string
	}{
		{chain.ErrInternal, 1, "internal"},
		{chain.ErrTxDecode, 2, "tx_decode"},
		{chain.ErrWrongChainID, 3, "wrong_chain_id"},
		{chain.ErrNoSignature, 4, "missing_signature"},
		{chain.ErrInvalidSignature, 5, "invalid_signature"},
		{chain.ErrInvalidPubKey, 6, "invalid_pub_key"},
		{chain.ErrNonceTooLow, 7, "nonce_too_low"},
		{chain.ErrNonceTooHigh, 8, "nonce_too_high"},
		{chain.ErrTxTimeout, 9, "tx_timeout"},
		{chain.ErrUnknownMsg, 10, "unknown_message"},
		{chain.ErrMsgDecode, 11, "message_decode"},
		{chain.ErrNoMsgs, 12, "no_messages"},
		{chain.ErrTxTooLarge, 13, "tx_too_large"},
		{chain.ErrUnauthorized, 14, "unauthorized"},
		{chain.ErrInvalidAddress, 15, "invalid_address"},
		{chain.ErrInvalidAmount, 16, "invalid_amount"},
		{chain.ErrOverflow, 17, "overflow"},
		{chain.ErrNotFound, 18, "not_found"},
		{chain.ErrInvalidRequest, 19, "invalid_request"},
		{chain.ErrDuplicateSigner, 20, "duplicate_signature"},
		{chain.ErrSignerMismatch, 21, "signer_mismatch"},
		{chain.ErrUnknownAsset, 101, "unknown_asset"},
	}
	for _, p := range pinned {
		if p.err.Code != p.code || p.err.Reason != p.reason {
			t.Errorf("%s: code %d reason %q, pinned as %d %q", p.reason, p.err.Code, p.err.Reason, p.code, p.reason)
		}
		if got, ok := chain.ErrorByCode(p.code); !ok || got != p.err {
			t.Errorf("ErrorByCode(%d) = %v, %v; want the sentinel %s", p.code, got, ok, p.reason)
		}
		if p.err.Error() != p.reason {
			t.Errorf("Error() = %q, want %q", p.err.Error(), p.reason)
		}
	}
}

func TestErrorRegistryUnique(t *testing.T) {
	all := chain.Errors()
	if len(all) < 22 {
		t.Fatalf("Errors() has %d entries", len(all))
	}
	codes := map[uint32]bool{}
	reasons := map[string]bool{}
	for i, e := range all {
		if e.Code == 0 {
			t.Errorf("%s has code 0", e.Reason)
		}
		if codes[e.Code] {
			t.Errorf("code %d used twice", e.Code)
		}
		if reasons[e.Reason] {
			t.Errorf("reason %q used twice", e.Reason)
		}
		codes[e.Code], reasons[e.Reason] = true, true
		if i > 0 && all[i-1].Code >= e.Code {
			t.Errorf("Errors() not ordered by code at %d", i)
		}
		if e.Doc == "" {
			t.Errorf("%s has no doc line", e.Reason)
		}
		if e.Reason != strings.ToLower(e.Reason) || strings.ContainsAny(e.Reason, " -") {
			t.Errorf("reason %q is not snake_case", e.Reason)
		}
		if got, ok := chain.ErrorByCode(e.Code); !ok || got != e {
			t.Errorf("ErrorByCode(%d) does not return the listed error", e.Code)
		}
	}
	if _, ok := chain.ErrorByCode(0); ok {
		t.Error("ErrorByCode(0) found an error")
	}
}

func TestRegisterErrorPanics(t *testing.T) {
	const code, reason = 999_901, "chain_test_only"
	if _, ok := chain.ErrorByCode(code); !ok { // -count=N reruns share the registry
		e := chain.RegisterError(code, reason, "used by chain tests")
		if e.Code != code || e.Reason != reason {
			t.Fatalf("RegisterError returned %+v", e)
		}
	}
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	mustPanic("code 0", func() { chain.RegisterError(0, "chain_test_zero", "") })
	mustPanic("reused code", func() { chain.RegisterError(code, "chain_test_other", "") })
	mustPanic("reused reason", func() { chain.RegisterError(999_902, reason, "") })
	mustPanic("reused built-in code", func() { chain.RegisterError(chain.ErrTxDecode.Code, "chain_test_x", "") })
	mustPanic("reused built-in reason", func() { chain.RegisterError(999_903, chain.ErrTxDecode.Reason, "") })
	if _, ok := chain.ErrorByCode(999_902); ok {
		t.Error("a panicking registration left an entry behind")
	}
}

func TestWrapfAndCodeOf(t *testing.T) {
	err := chain.Wrapf(chain.ErrInvalidAmount, "amount %q has %d decimals", "1.234", 3)
	if !errors.Is(err, chain.ErrInvalidAmount) {
		t.Fatal("errors.Is(Wrapf(e), e) is false")
	}
	if errors.Is(err, chain.ErrOverflow) {
		t.Fatal("a wrapped error matches another code")
	}
	if got := err.Error(); got != `invalid_amount: amount "1.234" has 3 decimals` {
		t.Fatalf("message %q", got)
	}
	if chain.CodeOf(err) != chain.ErrInvalidAmount {
		t.Fatal("CodeOf(Wrapf)")
	}
	var e *chain.Error
	if !errors.As(err, &e) || e != chain.ErrInvalidAmount {
		t.Fatal("errors.As")
	}

	// Further wrapping by callers keeps the code.
	outer := fmt.Errorf("msg 3: %w", fmt.Errorf("transfer: %w", err))
	if !errors.Is(outer, chain.ErrInvalidAmount) || chain.CodeOf(outer) != chain.ErrInvalidAmount {
		t.Fatal("code lost through fmt.Errorf %w")
	}
	if chain.CodeOf(chain.ErrNotFound) != chain.ErrNotFound {
		t.Fatal("CodeOf(sentinel)")
	}
	// Errors that carry no code are internal.
	for _, plain := range []error{io.EOF, errors.New("boom"), fmt.Errorf("x: %v", chain.ErrNotFound)} {
		if chain.CodeOf(plain) != chain.ErrInternal {
			t.Errorf("CodeOf(%v) = %s, want internal", plain, chain.CodeOf(plain).Reason)
		}
	}
	// With several codes in a chain, the outermost wins.
	joined := chain.Wrapf(chain.ErrTxDecode, "body: %v", chain.Wrapf(chain.ErrOverflow, "x"))
	if chain.CodeOf(joined) != chain.ErrTxDecode || errors.Is(joined, chain.ErrOverflow) {
		t.Fatal("Wrapf formatting an inner error as text must not adopt its code")
	}
}
