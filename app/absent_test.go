package app

import (
	"fmt"
	"testing"

	"github.com/amp-ledger/amp/modules/payments"
)

// TestAbsentKeysNeverHidesAStoredKey: every key added under a prefix is
// reported possibly present, through several filter growths; keys outside
// the prefixes are never ruled out; unseen keys are mostly ruled out (the
// point of the filter).
func TestAbsentKeysNeverHidesAStoredKey(t *testing.T) {
	a := newAbsentFilter([]string{"payments/o/", "x/"}, 10) // 1,024 bits: grows after ~100 keys
	const n = 5000
	for i := 0; i < n; i++ {
		a.add(fmt.Appendf(nil, "payments/o/%d", i))
	}
	if len(a.filters) < 3 {
		t.Fatalf("%d filters after %d keys, want growth", len(a.filters), n)
	}
	for i := 0; i < n; i++ {
		if a.absent(fmt.Appendf(nil, "payments/o/%d", i)) {
			t.Fatalf("stored key %d reported absent", i)
		}
	}
	if a.absent([]byte("payments/p/1")) || a.absent([]byte("bank/b/1")) {
		t.Fatal("a key outside the prefixes was ruled out")
	}
	ruledOut := 0
	for i := n; i < 2*n; i++ {
		if a.absent(fmt.Appendf(nil, "payments/o/%d", i)) {
			ruledOut++
		}
	}
	if ruledOut < n*8/10 {
		t.Fatalf("only %d of %d unseen keys ruled out", ruledOut, n)
	}
	var nilFilter *absentKeys
	if nilFilter.absent([]byte("payments/o/1")) {
		t.Fatal("a nil filter ruled out a key")
	}
}

// TestDuplicateOrderAfterRestart: the filter is filled from disk when the
// app opens, so an order paid before a restart is still refused after it
// (a filter that forgot it would let the order be paid twice).
func TestDuplicateOrderAfterRestart(t *testing.T) {
	w := newShopWorld(t)
	id := w.grant(t)
	mustOK(t, w.block(w.pay(t, id, "1", "o-restart")))
	w.restart()
	if w.app.absent.absent(append([]byte("payments/o/"), append(addr(w.shop), orderHash("o-restart")...)...)) {
		t.Fatal("the order of a committed payment is ruled out after a restart")
	}
	r := w.block(w.pay(t, id, "1", "o-restart"))
	wantResult(t, r.TxResults[0], payments.ErrDuplicateOrder)
	mustOK(t, w.block(w.pay(t, id, "1", "o-new")))
}
