package contracts

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"

	"github.com/tetratelabs/wazero/api"
)

// callState is what host functions know about the evaluation that called
// them. One per instance; reset before every entry into the guest.
type callState struct {
	sched  *GasSchedule
	lim    Limits
	gas    api.MutableGlobal
	host   Host
	entry  Entry
	init   bool // running _initialize: no state, no events
	input  []byte
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
type evalCtx struct {
	context.Context
	st *callState
}

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

func (st *callState) limits() *Limits { return &st.lim }

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
	g := int64(st.gas.Get())
	if g < 0 || uint64(g) < c {
		st.gas.Set(^uint64(0)) // -1
		st.stop(ClassOutOfGas)
	}
	st.gas.Set(uint64(g - int64(c)))
}

// read returns a view of guest memory or traps when out of bounds.
func (st *callState) read(mod api.Module, ptr, n uint32) []byte {
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		st.stop(ClassTrap)
	}
	return b
}

func (st *callState) write(mod api.Module, ptr uint32, b []byte) {
	if !mod.Memory().Write(ptr, b) {
		st.stop(ClassTrap)
	}
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
