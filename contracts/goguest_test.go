package contracts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// goGuestSrc is a Go rule built with GOOS=wasip1 -buildmode=c-shared. It
// links fmt (so Go's os/syscall init runs against our WASI subset) and
// behaves by amount: 13 panics with an index out of range (a trap inside a
// Go guest), 14 loops forever, 15 recurses forever, anything else counts
// calls in state and rejects amounts over 1000 with a formatted message.
const goGuestSrc = `package main

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

var buf [65536]byte

//go:wasmimport rules_v1 state_get
func stateGet(kp, kl, vp, vc uint32) int32

//go:wasmimport rules_v1 state_set
func stateSet(kp, kl, vp, vl uint32) int32

//go:wasmexport rules_abi_v1
func marker() {}

//go:wasmexport rule_buffer
func ruleBuffer() uint32 { return uint32(uintptr(unsafe.Pointer(&buf[0]))) }

var sink []int

func deep(n int) int { return deep(n+1) + 1 }

//go:wasmexport evaluate
func evaluate(entry, inLen uint32) uint64 {
	amount := binary.LittleEndian.Uint64(buf[32:])
	switch amount {
	case 13:
		return uint64(sink[amount])
	case 14:
		for {
			amount++
		}
	case 15:
		return uint64(deep(0))
	}
	key := []byte("calls")
	var v [8]byte
	stateGet(uint32(uintptr(unsafe.Pointer(&key[0]))), uint32(len(key)), uint32(uintptr(unsafe.Pointer(&v[0]))), 8)
	binary.LittleEndian.PutUint64(v[:], binary.LittleEndian.Uint64(v[:])+1)
	stateSet(uint32(uintptr(unsafe.Pointer(&key[0]))), uint32(len(key)), uint32(uintptr(unsafe.Pointer(&v[0]))), 8)
	if amount > 1000 {
		msg := fmt.Sprintf("amount %d over %d", amount, 1000)
		binary.LittleEndian.PutUint32(buf[0:], 42)
		n := copy(buf[4:], msg)
		return uint64(4+n)<<32 | 1
	}
	return 0
}

func main() {}
`

var goGuest struct {
	once sync.Once
	wasm []byte
	err  error
	dur  time.Duration
}

// buildGoGuest compiles goGuestSrc once per test binary; tests skip (with
// the reason) only if the Go toolchain cannot target wasip1 here.
func buildGoGuest(t testing.TB) []byte {
	t.Helper()
	goGuest.once.Do(func() {
		dir, err := os.MkdirTemp("", "amp-goguest-")
		if err != nil {
			goGuest.err = err
			return
		}
		defer os.RemoveAll(dir)
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module guest\n\ngo 1.26\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "main.go"), []byte(goGuestSrc), 0o644)
		out := filepath.Join(dir, "rule.wasm")
		// go test puts its own GOROOT/bin first on PATH for subprocesses.
		gobin, err := exec.LookPath("go")
		if err != nil {
			goGuest.err = err
			return
		}
		cmd := exec.Command(gobin, "build", "-buildmode=c-shared", "-ldflags=-s -w", "-trimpath", "-o", out, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWORK=off", "GOFLAGS=")
		start := time.Now()
		if msg, err := cmd.CombinedOutput(); err != nil {
			goGuest.err = &buildError{string(msg), err}
			return
		}
		goGuest.dur = time.Since(start)
		goGuest.wasm, goGuest.err = os.ReadFile(out)
	})
	if goGuest.err != nil {
		t.Skipf("cannot build a Go wasip1 guest with this toolchain: %v", goGuest.err)
	}
	return goGuest.wasm
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

func TestGoGuest(t *testing.T) {
	wasm := buildGoGuest(t)
	t.Logf("Go guest: %d bytes (built in %v)", len(wasm), goGuest.dur)
	start := time.Now()
	if ps := Validate(wasm, DefaultLimits()); len(ps) > 0 {
		t.Fatalf("Validate: %v", ps)
	}
	t.Logf("Validate: %v", time.Since(start))
	start = time.Now()
	inst, err := Instrument(wasm, DefaultGasSchedule())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Instrument: %v, %d -> %d bytes", time.Since(start), len(wasm), len(inst))
	code := NewCode(inst)

	// Two engines sharing an on-disk compilation cache: the second loads
	// the machine code instead of compiling (node restart).
	ctx := context.Background()
	dir := t.TempDir()
	engines := make([]*Engine, 2)
	for i := range engines {
		e, err := NewEngine(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close(ctx)
		start = time.Now()
		if err := e.Compile(ctx, code); err != nil {
			t.Fatal(err)
		}
		t.Logf("engine %d compile: %v", i, time.Since(start))
		engines[i] = e
	}

	lim := DefaultLimits()
	lim.MaxGas = 100_000_000 // Go's runtime start-up alone exceeds the default cap (see docs)
	cases := []struct {
		amount uint64
		want   Class
	}{{5, ClassOK}, {2000, ClassOK}, {13, ClassTrap}, {14, ClassOutOfGas}, {15, ClassLimit}, {6, ClassOK}}
	var first []Result
	for i, e := range engines {
		h := newMemHost()
		for j, c := range cases {
			cl := payCall(t, c.amount, h)
			cl.Limits = &lim
			start = time.Now()
			r := mustEval(t, e, code, cl)
			d := time.Since(start)
			if r.Class != c.want {
				t.Fatalf("engine %d amount %d: class %v, want %v", i, c.amount, r.Class, c.want)
			}
			if i == 0 {
				first = append(first, r)
				t.Logf("amount %4d: %-10v decision %d gas %9d output %q (%v)", c.amount, r.Class, r.Decision, r.GasUsed, r.Output, d)
			} else if fmt.Sprint(r) != fmt.Sprint(first[j]) {
				t.Fatalf("engine %d amount %d differs:\n%+v\n%+v", i, c.amount, r, first[j])
			}
		}
		if got := h.kv["calls"]; len(got) != 8 || got[0] != 3 {
			t.Errorf("engine %d: state %x, want 3 calls counted", i, got)
		}
	}
	if _, msg, ok := ReasonCode(first[1].Output); !ok || msg != "amount 2000 over 1000" {
		t.Errorf("reject output %q", first[1].Output)
	}

	// The pooled path: one instance, many evaluations.
	cl := payCall(t, 5, newMemHost())
	cl.Limits = &lim
	start = time.Now()
	in, res, err := engines[0].Instantiate(ctx, code, cl)
	if err != nil || in == nil {
		t.Fatalf("Instantiate: %v %+v", err, res)
	}
	defer in.Close(ctx)
	t.Logf("instantiate + _initialize: %v, gas %d", time.Since(start), res.GasUsed)
	var best time.Duration = 1 << 62
	var gas uint64
	for i := 0; i < 50; i++ {
		start = time.Now()
		r, err := in.Evaluate(ctx, cl)
		best = min(best, time.Since(start))
		if err != nil || r.Class != ClassOK {
			t.Fatalf("warm evaluate %d: %v %+v", i, err, r)
		}
		gas = r.GasUsed
	}
	t.Logf("warm evaluate on a kept instance: best %v, gas %d", best, gas)
}
