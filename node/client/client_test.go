package client

import (
	"errors"
	"testing"

	"github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/rpc/client/local"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/bank"
)

// Both CometBFT clients serve this package: HTTP for the CLI, the
// in-process one for an embedded gateway.
var (
	_ RPC = (*http.HTTP)(nil)
	_ RPC = (*local.Local)(nil)
)

func TestParseInvalidTx(t *testing.T) {
	msg := `error in json rpc client, with http response metadata: (Status: 200 OK, Protocol HTTP/1.1). RPC error -32603 - Internal error: broadcast error on transaction validation: tx B60F2E33 is invalid: code=102, data=, log='insufficient_funds: it's "quoted", and has 'quotes'', codespace='amp'`
	e := parseInvalidTx(msg)
	if e == nil {
		t.Fatal("not parsed")
	}
	if e.Code != 102 || e.Reason != "insufficient_funds" || e.Message != `insufficient_funds: it's "quoted", and has 'quotes'` {
		t.Fatalf("%+v", e)
	}
	if !errors.Is(e, bank.ErrInsufficientFunds) {
		t.Fatal("does not unwrap to the registered error")
	}
	for _, bad := range []string{"", "tx already exists in cache", "tx AB is invalid: code=0, data=, log='', codespace=''", "tx AB is invalid: code=99999999999, data=, log='x', codespace=''"} {
		if e := parseInvalidTx(bad); e != nil {
			t.Errorf("%q parsed as %+v", bad, e)
		}
	}
	unknown := parseInvalidTx("tx AB is invalid: code=9999, data=, log='new', codespace='amp'")
	if unknown == nil || unknown.Reason != "code_9999" || unknown.Unwrap() != nil {
		t.Fatalf("unknown code: %+v", unknown)
	}
}

func TestNormalizeNodeURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:26657":        "http://127.0.0.1:26657",
		"http://localhost:1":     "http://localhost:1",
		"tcp://127.0.0.1:26657":  "tcp://127.0.0.1:26657",
		" https://node.example ": "https://node.example",
	} {
		got, err := NormalizeNodeURL(in)
		if err != nil || got != want {
			t.Errorf("%q -> %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ftp://x:1", "http://", "http://%zz"} {
		if _, err := NormalizeNodeURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := New("ftp://x", nil); err == nil {
		t.Fatal("New accepted a bad URL")
	}
}

func TestAsError(t *testing.T) {
	if AsError(nil) != nil || AsError(errors.New("x")) != nil || AsError(ErrNode) != nil {
		t.Fatal("plain errors are not ledger rejections")
	}
	_, err := chain.ParseDecimal("1.5.5", 18)
	e := AsError(err)
	if e == nil || e.Code != chain.ErrInvalidAmount.Code || e.Reason != "invalid_amount" {
		t.Fatalf("%+v", e)
	}
	wrapped := AsError(errors.Join(errors.New("context"), &Error{Code: 7, Reason: "nonce_too_low"}))
	if wrapped == nil || wrapped.Code != 7 {
		t.Fatalf("%+v", wrapped)
	}
	r := &TxResult{Hash: "AB", Height: 3, Code: 102, Log: "insufficient_funds: x"}
	if err := r.Err(); !errors.Is(err, bank.ErrInsufficientFunds) || AsError(err).Height != 3 || AsError(err).Reason != "insufficient_funds" {
		t.Fatalf("tx result error: %v", err)
	}
	if (&TxResult{}).Err() != nil {
		t.Fatal("code 0 is not an error")
	}
	te := &TimeoutError{TxHash: "AB"}
	if !IsTimeout(te) || AsError(te) != nil {
		t.Fatal("timeout classification")
	}
}

func TestParseHash(t *testing.T) {
	h := HashString([]byte("tx"))
	if len(h) != 64 {
		t.Fatal(h)
	}
	for _, s := range []string{h, "0x" + h} {
		if b, err := ParseHash(s); err != nil || len(b) != 32 {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for _, bad := range []string{"", "zz", h[:62]} {
		if _, err := ParseHash(bad); !errors.Is(err, chain.ErrInvalidRequest) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}
