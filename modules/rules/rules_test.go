package rules

import (
	"errors"
	"testing"
	"time"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/module"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{{"rule-1", true}, {"rule-18446744073709551615", true}, {"rule-0", false}, {"rule-01", false}, {"rule-", false}, {"1", false}, {"rule-x", false}} {
		if _, err := ParseRuleID(c.in); (err == nil) != c.ok {
			t.Errorf("ParseRuleID(%q): %v", c.in, err)
		}
	}
	for h, name := range hookNames {
		if got, err := ParseHook(name); err != nil || got != h {
			t.Errorf("ParseHook(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := ParseHook("refund"); err == nil {
		t.Error("unknown hook accepted")
	}
	if _, err := ParseHook(""); err == nil {
		t.Error("empty hook accepted")
	}
}

// TestBufferedHost: a rule reads its own writes at once, nothing reaches
// the store until apply, deletes shadow stored values, and a read-only
// evaluation cannot write.
func TestBufferedHost(t *testing.T) {
	ctx, m := hostTestContext(7)
	st(ctx).Set(append(statePrefix(m), "a"...), []byte("old"))
	h := newHost(ctx, m, false)
	if v, ok, _ := h.Get([]byte("a")); !ok || string(v) != "old" {
		t.Fatalf("stored value: %q %v", v, ok)
	}
	_ = h.Set([]byte("b"), []byte("new"))
	_ = h.Delete([]byte("a"))
	if v, ok, _ := h.Get([]byte("b")); !ok || string(v) != "new" {
		t.Fatalf("own write: %q %v", v, ok)
	}
	if _, ok, _ := h.Get([]byte("a")); ok {
		t.Fatal("a delete is not seen by the rule")
	}
	if st(ctx).Get(append(statePrefix(m), "b"...)) != nil {
		t.Fatal("a write reached the store before apply")
	}
	h.apply()
	if string(st(ctx).Get(append(statePrefix(m), "b"...))) != "new" || st(ctx).Get(append(statePrefix(m), "a"...)) != nil {
		t.Fatal("apply did not write the rule's state")
	}
	ro := newHost(ctx, m, true)
	if err := ro.Set([]byte("c"), []byte("x")); err == nil {
		t.Fatal("a read-only host accepted a write")
	}
}

func TestU128RoundTrip(t *testing.T) {
	for _, s := range []string{"0", "1", "5000000000000000000", "340282366920938463463374607431768211455"} {
		a, err := chain.ParseBaseUnits(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := amountOf(u128(a)); got.Cmp(a) != 0 {
			t.Errorf("%s → %s", s, got)
		}
	}
	big, _ := chain.ParseBaseUnits("340282366920938463463374607431768211456") // 2^128
	if u := u128(big); u.Lo != ^uint64(0) || u.Hi != ^uint64(0) {
		t.Error("an amount beyond 128 bits does not saturate")
	}
}

// TestBufferedHostManyKeys: past indexAfter distinct keys the writes get an
// index; reads, overwrites and deletes behave the same on both sides of it,
// and apply keeps the order of first writes with the last value of each key.
func TestBufferedHostManyKeys(t *testing.T) {
	ctx, m := hostTestContext(9)
	h := newHost(ctx, m, false)
	const n = 3 * indexAfter
	key := func(i int) []byte { return []byte{'k', byte(i)} }
	buf := []byte("v?")
	for i := range n {
		buf[1] = byte(i)
		_ = h.Set(key(i), buf) // buf is reused like guest memory: the host must copy
		if i == indexAfter-1 && h.pending != nil || i == indexAfter+1 && h.pending == nil {
			t.Fatalf("after %d keys: index %v", i+1, h.pending != nil)
		}
	}
	for i := 0; i < n; i += 3 {
		_ = h.Set(key(i), []byte("again"))
		_ = h.Delete(key(i + 1))
	}
	if len(h.writes) != n {
		t.Fatalf("%d writes buffered, want %d (one per key)", len(h.writes), n)
	}
	for i := range n {
		v, ok, _ := h.Get(key(i))
		want, wantOK := string([]byte{'v', byte(i)}), true
		switch i % 3 {
		case 0:
			want = "again"
		case 1:
			want, wantOK = "", false
		}
		if ok != wantOK || (ok && string(v) != want) {
			t.Fatalf("key %d: %q %v, want %q %v", i, v, ok, want, wantOK)
		}
	}
	h.apply()
	for i := range n {
		got := st(ctx).Get(append(statePrefix(m), key(i)...))
		if (i%3 == 1) != (got == nil) {
			t.Fatalf("key %d after apply: %q", i, got)
		}
	}
}

// TestMeteredCodeCache: missing code is an internal error; once read, code
// is served by hash without reading the store (code is never deleted, so
// this cannot change a result; the delete here only proves the cache).
func TestMeteredCodeCache(t *testing.T) {
	s := module.NewMemStore()
	ctx := module.NewContext("t", 1, time.Unix(0, 0), s, nil, nil)
	k := &Keeper{}
	code := []byte("\x00asm metered")
	b := &Binding{Rule: 1, Version: 1, Metered: sum(code)}
	if _, err := k.code(ctx, b); !errors.Is(err, chain.ErrInternal) {
		t.Fatalf("missing code: %v", err)
	}
	st(ctx).Set(meteredKey(b.Metered), code)
	got, err := k.code(ctx, b)
	if err != nil || string(got) != string(code) {
		t.Fatalf("%q %v", got, err)
	}
	st(ctx).Delete(meteredKey(b.Metered))
	if got, err := k.code(ctx, b); err != nil || string(got) != string(code) {
		t.Fatalf("cached code: %q %v", got, err)
	}
}

// hostTestContext is a context over an empty store and a merchant address
// whose first byte is b.
func hostTestContext(b byte) (*module.Context, chain.Address) {
	var m chain.Address
	m[0] = b
	return module.NewContext("t", 1, time.Unix(0, 0), module.NewMemStore(), nil, nil), m
}
