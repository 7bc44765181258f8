package contracts

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"time"
)

// callState is what host functions know about the evaluation that called
// them. One per instance; reset before every entry into the guest.
type callState struct {
	sched  *GasSchedule
	lim    Limits
	gas    global
	mem    *memAllocator // mem.cur is guest memory
	host   Host
	entry  Entry
	init   bool   // running _initialize: no state, no events
	body   []byte // the call's body (nil while preparing)
	input  []byte // header+body, built only to seed random_get
	events [][]byte

	height      uint64 // block context for ctx_get and the WASI clocks
	time        int64
	ruleVersion uint32

	outcome   Class // set by a host function that ends the evaluation
	abortCode uint32
	abortMsg  []byte
	fault     error // node fault from the Host

	rng       rngStream
	rngSeeded bool
}

// evalCtx carries the callState to host functions. wazero hands host
// functions the context given to the call unchanged, so a type assertion
// finds the state in a nanosecond where a context.Value walk took tens.
// It carries nothing else: no deadline, no cancellation (gas bounds a run;
// a cancelled context must not change a consensus result) and no values,
// so wazero's own per-call context lookups end at once.
type evalCtx struct {
	st *callState
}

func (*evalCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*evalCtx) Done() <-chan struct{}       { return nil }
func (*evalCtx) Err() error                  { return nil }
func (*evalCtx) Value(any) any               { return nil }

// errStop is what host functions panic with to end the guest. wazero
// recovers it and returns an error from the call; the class is taken from
// callState.outcome, never from the error.
var errStop = errors.New("contracts: evaluation stopped by the host")

func stateOf(ctx context.Context) *callState {
	if c, ok := ctx.(*evalCtx); ok {
		return c.st
	}
	// Only reachable if a module is instantiated outside the engine.
	panic(errors.New("contracts: host function called without an evaluation"))
}

func (st *callState) stop(c Class) {
	st.outcome = c
	panic(errStop)
}

func (st *callState) faultStop(err error) {
	st.fault = err
	panic(errStop)
}

// charge takes c gas or ends the evaluation with out_of_gas, leaving the
// meter negative like the injected code does.
func (st *callState) charge(c uint64) {
	g := int64(st.gas.get())
	if g < 0 || uint64(g) < c {
		st.gas.set(^uint64(0)) // -1
		st.stop(ClassOutOfGas)
	}
	st.gas.set(uint64(g - int64(c)))
}

// read returns a view of guest memory or traps when out of bounds (the
// same bounds rule as api.Memory.Read).
func (st *callState) read(ptr, n uint32) []byte {
	b := st.mem.cur
	end := uint64(ptr) + uint64(n)
	if end > uint64(len(b)) {
		st.stop(ClassTrap)
	}
	return b[ptr:end:end]
}

// check traps unless [ptr, ptr+n) is inside guest memory.
func (st *callState) check(ptr, n uint32) {
	if uint64(ptr)+uint64(n) > uint64(len(st.mem.cur)) {
		st.stop(ClassTrap)
	}
}

func (st *callState) write(ptr uint32, b []byte) {
	copy(st.read(ptr, uint32(len(b))), b)
}

// rngStream is the deterministic random_get source: AES-256-CTR with a zero
// IV, keyed with SHA-256 of a domain tag and the evaluation input. Both are
// fixed by their standards (unlike a library PRNG whose stream a Go release
// could change), so every validator draws the same bytes, and a rule learns
// nothing the input does not contain. Reseeded at every entry into the
// guest, on first use.
type rngStream struct {
	s cipher.Stream
}

func (r *rngStream) reset(input []byte) {
	h := sha256.New()
	h.Write([]byte("amp/rules_v1/random_get"))
	h.Write(input)
	var key [32]byte
	h.Sum(key[:0])
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // unreachable: the key is always 32 bytes
	}
	var iv [aes.BlockSize]byte
	r.s = cipher.NewCTR(block, iv[:])
}

func (r *rngStream) fill(dst []byte) {
	clear(dst)
	r.s.XORKeyStream(dst, dst)
}
