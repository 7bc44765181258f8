package contracts

import (
	"os"
	"testing"
)

// FuzzValidateInstrument: no input may panic Validate or Instrument, and
// whatever Validate accepts must instrument into a module wazero accepts,
// as must the engine's node-local rewrites of it (ctx_get inlined, pool
// exports) — the property the engine relies on. Seeds are the test rules; run longer
// with `go test -fuzz FuzzValidateInstrument ./contracts`.
func FuzzValidateInstrument(f *testing.F) {
	for _, w := range [][]byte{maxAmountRule(), counterRule(), nanRule(), dailyTotalRule()} {
		f.Add(w)
	}
	for _, w := range gasWorkloads() {
		if w.name != "br_table_loop" { // 16k targets: too big a seed to mutate usefully
			f.Add(w.wasm())
		}
	}
	if b, err := os.ReadFile("testdata/max-limit.wasm"); err == nil {
		f.Add(b)
	}
	lim := DefaultLimits()
	f.Fuzz(func(t *testing.T, wasm []byte) {
		ps := Validate(wasm, lim)
		out, err := Instrument(wasm, DefaultGasSchedule())
		if len(ps) > 0 {
			return
		}
		if err != nil {
			t.Fatalf("Validate accepted but Instrument failed: %v", err)
		}
		if err := wazeroValidate(out); err != nil {
			t.Fatalf("instrumented module invalid: %v", err)
		}
		// The node-local rewrites the engine compiles must stay valid too.
		if in, ok := inlineCtx(out); ok {
			if err := wazeroValidate(in); err != nil {
				t.Fatalf("module with ctx_get inlined invalid: %v", err)
			}
			out = in
		}
		if pooled, plan := planPool(out); plan.ok {
			if err := wazeroValidate(pooled); err != nil {
				t.Fatalf("module with pool exports invalid: %v", err)
			}
		}
	})
}
