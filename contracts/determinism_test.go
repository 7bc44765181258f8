package contracts

import (
	"context"
	"fmt"
	"testing"
)

// Two engines evaluate the same sequence of calls over several rules (good
// and hostile) with separate state; classes, decisions, outputs, events, gas
// and the final state must match exactly.
func TestDeterminismAcrossEngines(t *testing.T) {
	type step struct {
		code Code
		call func(h Host) Call
	}
	var steps []step
	pay := func(amount uint64) func(h Host) Call {
		return func(h Host) Call { return payCall(t, amount, h) }
	}
	for _, w := range [][]byte{maxAmountRule(), counterRule(), nanRule()} {
		code := deploy(t, w)
		for _, amount := range []uint64{1, 600, 5000} {
			steps = append(steps, step{code, pay(amount)})
		}
		steps = append(steps, step{code, func(h Host) Call {
			return Call{Entry: EntryQuery, Height: 9, Time: 99, Body: []byte("q"), Host: h}
		}})
	}
	for _, c := range hostileCases() {
		code := deploy(t, c.wasm())
		mk := c.call
		steps = append(steps, step{code, func(h Host) Call {
			if mk == nil {
				return payCall(t, 1, h)
			}
			cl := mk(t)
			cl.Host = h
			return cl
		}})
	}
	run := func() ([]string, *memHost) {
		e := newTestEngine(t)
		h := newMemHost()
		var out []string
		for _, s := range steps {
			r, err := e.Evaluate(context.Background(), s.code, s.call(h))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%+v", r))
		}
		return out, h
	}
	a, ha := run()
	b, hb := run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d differs:\n%s\n%s", i, a[i], b[i])
		}
	}
	if fmt.Sprint(ha.kv) != fmt.Sprint(hb.kv) {
		t.Fatalf("state differs: %v vs %v", ha.kv, hb.kv)
	}
	t.Logf("%d steps identical on two engines", len(a))
}

// The engine is shared by consensus, CheckTx and queries: concurrent
// evaluations (and first compilations) must not interfere.
func TestConcurrentEvaluate(t *testing.T) {
	e := newTestEngine(t)
	codes := []Code{deploy(t, maxAmountRule()), deploy(t, counterRule()), deploy(t, nanRule())}
	want := make([]string, len(codes))
	for i, c := range codes {
		want[i] = fmt.Sprintf("%+v", mustEval(t, newTestEngine(t), c, payCall(t, 600, newMemHost())))
	}
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 60; i++ {
				k := (i + g) % len(codes)
				r, err := e.Evaluate(context.Background(), codes[k], payCall(t, 600, newMemHost()))
				if err == nil && fmt.Sprintf("%+v", r) != want[k] {
					err = fmt.Errorf("rule %d: %+v, want %s", k, r, want[k])
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
