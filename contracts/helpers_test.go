package contracts

import (
	"context"
	"testing"
)

type memHost struct {
	kv     map[string][]byte
	writes int
}

func newMemHost() *memHost { return &memHost{kv: map[string][]byte{}} }

func (h *memHost) Get(k []byte) ([]byte, bool, error) {
	v, ok := h.kv[string(k)]
	return v, ok, nil
}

// Set copies (the engine passes views into guest memory); an existing
// value's buffer is reused, so the benchmarks' steady state allocates
// nothing.
func (h *memHost) Set(k, v []byte) error {
	if old, ok := h.kv[string(k)]; ok && len(old) == len(v) {
		copy(old, v)
	} else {
		h.kv[string(k)] = append([]byte(nil), v...)
	}
	h.writes++
	return nil
}
func (h *memHost) Delete(k []byte) error { delete(h.kv, string(k)); h.writes++; return nil }

func newTestEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := NewEngine(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// deploy validates (must pass) and instruments with the default schedule.
func deploy(t testing.TB, wasm []byte) Code {
	t.Helper()
	if ps := Validate(wasm, DefaultLimits()); len(ps) > 0 {
		t.Fatalf("Validate: %v", ps)
	}
	out, err := Instrument(wasm, DefaultGasSchedule())
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	return NewCode(out)
}

func paymentBody(t testing.TB, amount uint64) []byte {
	t.Helper()
	b, err := Payment{Amount: U128{Lo: amount}, Decimals: 6, Asset: "USDC", Agent: 7, Mandate: 3, TrustScore: 700}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func payCall(t testing.TB, amount uint64, h Host) Call {
	return Call{Entry: EntryPayment, Height: 10, Time: 1_700_000_000, RuleVersion: 1, Body: paymentBody(t, amount), Host: h}
}

func mustEval(t testing.TB, e *Engine, code Code, c Call) Result {
	t.Helper()
	res, err := e.Evaluate(context.Background(), code, c)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return res
}
