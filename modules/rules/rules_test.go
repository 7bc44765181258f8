package rules

import (
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
	s := module.NewMemStore()
	ctx := module.NewContext("t", 1, time.Unix(0, 0), s, nil, nil)
	var m chain.Address
	m[0] = 7
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
