package contracts

import (
	"context"
	"runtime"
	"testing"

	"github.com/tetratelabs/wazero/api"
)

// TestGlobalSlot: on the pinned wazero (amd64) the meter's slot is found,
// and it is the global itself: writes through either side are seen by the other, and
// they agree with what the guest reads (the gas it is left with).
func TestGlobalSlot(t *testing.T) {
	e := newTestEngine(t)
	ctx := context.Background()
	inst, _, err := e.Instantiate(ctx, deploy(t, maxAmountRule()), payCall(t, 1, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(ctx)
	g := inst.mod.ExportedGlobal(exportGas).(api.MutableGlobal)
	x := newGlobal(g, true)
	// Elsewhere the API path is what runs, and the checks below hold for it.
	if x.p == nil && runtime.GOARCH == "amd64" {
		t.Fatal("the gas slot was not found: the engine runs on wazero's slower API")
	}
	x.set(12345)
	if g.Get() != 12345 {
		t.Fatalf("API sees %d after a slot write", g.Get())
	}
	g.Set(777)
	if x.get() != 777 {
		t.Fatalf("slot sees %d after an API write", x.get())
	}
	r, err := inst.Evaluate(ctx, payCall(t, 1, nil))
	if err != nil || r.Class != ClassOK {
		t.Fatalf("%v %+v", err, r)
	}
	if left := DefaultMaxGas - r.GasUsed; x.get() != left || g.Get() != left {
		t.Fatalf("after evaluate: slot %d, API %d, want %d", x.get(), g.Get(), left)
	}
	if slow := newGlobal(g, false); slow.p != nil || slow.get() != x.get() {
		t.Fatal("the API path disagrees")
	}
}
