package contracts

import (
	"context"
	"encoding/binary"

	"github.com/tetratelabs/wazero/api"
)

// The deterministic WASI subset (module wasi_snapshot_preview1). It exists
// so that toolchains whose runtimes import WASI (Go's wasip1 above all) can
// build rules; none of it reaches the node's clock, entropy, files or
// environment. Every call costs HostCall plus HostByte per byte moved.
//
//	args_*, environ_*       empty
//	clock_time_get          the block time (ns) for clocks 0-3, EINVAL otherwise
//	clock_res_get           1 s (block time has second precision)
//	random_get              SHA-256 counter stream seeded from the input
//	fd_write                fds 1 and 2 are discarded (charged); others EBADF
//	proc_exit               ends the evaluation: class trap
//	sched_yield             no-op
//	poll_oneoff             class trap (a rule that waits would wait forever)
//	fd_close, fd_fdstat_get, fd_fdstat_set_flags, fd_prestat_get,
//	fd_prestat_dir_name     EBADF (no files exist; Go's os package probes them)

// WASI errno values used here.
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoInval   = 28
)

func wasiHostFuncs() []hostFunc {
	ii := []api.ValueType{i32, i32}
	iii := []api.ValueType{i32, i32, i32}
	iiii := []api.ValueType{i32, i32, i32, i32}
	r := []api.ValueType{i32}
	return []hostFunc{
		{"args_get", wasiEmpty, ii, r},
		{"args_sizes_get", wasiZeroSizes, ii, r},
		{"environ_get", wasiEmpty, ii, r},
		{"environ_sizes_get", wasiZeroSizes, ii, r},
		{"clock_time_get", clockTimeGet, []api.ValueType{i32, i64, i32}, r},
		{"clock_res_get", clockResGet, ii, r},
		{"random_get", randomGet, ii, r},
		{"fd_write", fdWrite, iiii, r},
		{"proc_exit", procExit, []api.ValueType{i32}, nil},
		{"sched_yield", wasiEmpty, nil, r},
		{"poll_oneoff", pollOneoff, iiii, r},
		{"fd_close", wasiBadf, []api.ValueType{i32}, r},
		{"fd_fdstat_get", wasiBadf, ii, r},
		{"fd_fdstat_set_flags", wasiBadf, ii, r},
		{"fd_prestat_get", wasiBadf, ii, r},
		{"fd_prestat_dir_name", wasiBadf, iii, r},
	}
}

func wasiEmpty(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	st.charge(st.sched.HostCall)
	stack[0] = errnoSuccess
}

func wasiBadf(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	st.charge(st.sched.HostCall)
	stack[0] = errnoBadf
}

func wasiZeroSizes(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	st.charge(st.sched.HostCall + 8*st.sched.HostByte)
	var zero [4]byte
	st.write(uint32(stack[0]), zero[:])
	st.write(uint32(stack[1]), zero[:])
	stack[0] = errnoSuccess
}

func clockTimeGet(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	st.charge(st.sched.HostCall + 8*st.sched.HostByte)
	if uint32(stack[0]) > 3 {
		stack[0] = errnoInval
		return
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(st.time)*1_000_000_000)
	st.write(uint32(stack[2]), b[:])
	stack[0] = errnoSuccess
}

func clockResGet(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	st.charge(st.sched.HostCall + 8*st.sched.HostByte)
	if uint32(stack[0]) > 3 {
		stack[0] = errnoInval
		return
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], 1_000_000_000)
	st.write(uint32(stack[1]), b[:])
	stack[0] = errnoSuccess
}

func randomGet(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	p, n := uint32(stack[0]), uint32(stack[1])
	// A keyed stream cipher: priced like hashing.
	st.charge(st.sched.HostCall + uint64(n)*st.sched.HashByte)
	dst := st.read(p, n) // a view: filled in place
	// Seeded on first use: hashing the input costs more than most evaluations.
	if !st.rngSeeded {
		st.input = appendInput(st.input[:0], st.entry, st.height, st.time, st.ruleVersion, st.body)
		st.rng.reset(st.input)
		st.rngSeeded = true
	}
	st.rng.fill(dst)
	stack[0] = errnoSuccess
}

func fdWrite(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	fd, iovs, iovsLen, nwritten := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	s := st.sched
	st.charge(s.HostCall + uint64(iovsLen)*8*s.HostByte)
	if fd != 1 && fd != 2 {
		stack[0] = errnoBadf
		return
	}
	if uint64(iovsLen)*8 >= 1<<32 {
		st.stop(ClassTrap)
	}
	vec := st.read(iovs, iovsLen*8)
	var total uint32
	for i := uint32(0); i < iovsLen; i++ {
		p := binary.LittleEndian.Uint32(vec[i*8:])
		n := binary.LittleEndian.Uint32(vec[i*8+4:])
		st.charge(uint64(n) * s.HostByte) // per iovec: a sum could overflow
		st.read(p, n)                     // bounds only: the bytes are discarded
		total += n                        // wraps like a 32-bit size_t would
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], total)
	st.write(nwritten, b[:])
	stack[0] = errnoSuccess
}

func procExit(ctx context.Context, _ []uint64) {
	st := stateOf(ctx)
	st.charge(st.sched.HostCall)
	st.stop(ClassTrap)
}

func pollOneoff(ctx context.Context, _ []uint64) {
	st := stateOf(ctx)
	st.charge(st.sched.HostCall)
	st.stop(ClassTrap)
}
