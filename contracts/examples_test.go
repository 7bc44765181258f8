package contracts

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The committed example rules must pass Validate and Instrument and
// evaluate a payment and a claim without a node fault.
func TestCommittedExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("examples", "wasm", "*.wasm"))
	if len(files) == 0 {
		t.Fatal("no committed examples in examples/wasm")
	}
	e := newTestEngine(t)
	ctx := context.Background()
	lim := DefaultLimits()
	for _, f := range files {
		wasm, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		if ps := Validate(wasm, lim); len(ps) > 0 {
			t.Errorf("%s: %v", name, ps)
			continue
		}
		code := deploy(t, wasm)
		big := lim
		if strings.Contains(name, "-go") {
			big.MaxGas = 100_000_000 // Go's runtime start-up exceeds the default cap on the fresh path
		}
		claim, _ := Claim{Amount: U128{Lo: 500}, PaymentAmount: U128{Lo: 900}, Reason: ReasonNotReceived, Asset: "USDC"}.Encode()
		for _, c := range []Call{
			{Entry: EntryPayment, Height: 5, Time: 1_700_000_000, RuleVersion: 1, Body: paymentBody(t, 5_000_000), Host: newMemHost(), Limits: &big},
			{Entry: EntryPayment, Height: 5, Time: 1_700_000_000, RuleVersion: 1, Body: paymentBody(t, 10), Host: newMemHost(), Limits: &big},
			{Entry: EntryClaim, Height: 5, Time: 1_700_000_000, RuleVersion: 1, Body: claim, Host: newMemHost(), Limits: &big},
		} {
			start := time.Now()
			r, err := e.Evaluate(ctx, code, c)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			t.Logf("%-22s %-7v %-14v decision %2d gas %8d out %q (%v)", name, c.Entry, r.Class, r.Decision, r.GasUsed, r.Output, time.Since(start))
		}
	}
}
