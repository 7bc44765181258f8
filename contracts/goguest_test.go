package contracts

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
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
	e := newTestEngine(t)
	start = time.Now()
	if err := e.Compile(context.Background(), code); err != nil {
		t.Fatal(err)
	}
	t.Logf("Compile: %v", time.Since(start))
	lim := DefaultLimits()
	lim.MaxGas = 100_000_000
	h := newMemHost()
	for _, amount := range []uint64{5, 2000, 13, 14, 15} {
		c := payCall(t, amount, h)
		c.Limits = &lim
		start = time.Now()
		r := mustEval(t, e, code, c)
		t.Logf("amount %d: class %v decision %d gas %d output %q (%v)", amount, r.Class, r.Decision, r.GasUsed, r.Output, time.Since(start))
	}
}
