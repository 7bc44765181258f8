package contracts

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// ErrInstanceClosed is returned by Instance.Evaluate after the instance
// ended with anything but ClassOK, or after Close: a trapped instance may be
// half-way through an update of its own memory and is never reused.
var ErrInstanceClosed = errors.New("contracts: instance is closed")

// Instance is one instantiated rule. Evaluate (the engine method) makes a
// fresh one per call, which is what consensus uses so that no state leaks
// between transactions. Keeping an Instance across calls is for the cases
// where that leak is acceptable and deterministic — queries, simulation,
// benchmarks, or a per-block pool used in transaction order by every node —
// and for Go rules, whose instantiation costs milliseconds.
type Instance struct {
	e     *Engine
	c     *compiled
	mod   api.Module
	ctx   context.Context
	st    callState
	alloc memAllocator
	sched GasSchedule // host-side prices: Code.Schedule or the engine's

	gas, depth, pages api.MutableGlobal
	evaluate          api.Function
	mem               api.Memory
	armedDepth        uint32 // last values written to the depth and pages meters
	armedPages        uint32
	buf               uint32
	stack             [2]uint64
	closed            bool
}

// moduleConfig: anonymous (instances never clash by name), no start
// functions (the ABI has _initialize, run under the meter), and a random
// source that is never read — wazero's WASI is not used, and its default
// source re-seeds math/rand on every instantiation (~10 µs).
var moduleConfig = wazero.NewModuleConfig().WithName("").WithStartFunctions().WithRandSource(zeroReader{})

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// Evaluate runs one call on a fresh instance and closes it: instantiation
// gas, _initialize (if exported), then evaluate. The error is for node
// faults and caller bugs only (Host errors, malformed Call, uncompilable
// code); everything the rule does is a Result class.
func (e *Engine) Evaluate(ctx context.Context, code Code, call Call) (Result, error) {
	inst, res, err := e.Instantiate(ctx, code, call)
	if err != nil || inst == nil {
		return res, err
	}
	defer inst.Close(ctx)
	used := res.GasUsed
	res, err = inst.run(ctx, &call, call.gasLimit(inst.st.limits())-used)
	res.GasUsed += used
	return res, err
}

// Instantiate makes an instance and runs _initialize, charging instantiation
// and initialisation to call's gas limit; the Result reports that gas and,
// if the instance could not be made ready, the class (then the Instance is
// nil). call's entry, block fields and body seed the WASI random stream and
// answer ctx_get during _initialize; Host is not reachable from _initialize.
func (e *Engine) Instantiate(ctx context.Context, code Code, call Call) (*Instance, Result, error) {
	if err := checkCall(&call); err != nil {
		return nil, Result{}, err
	}
	lim := call.limits()
	if err := lim.Validate(); err != nil {
		return nil, Result{}, err
	}
	c, err := e.compile(ctx, code)
	if err != nil {
		return nil, Result{}, err
	}
	limit := call.gasLimit(&lim)
	inst := &Instance{e: e, c: c, sched: e.sched}
	if code.Schedule != nil {
		if err := code.Schedule.Validate(); err != nil {
			return nil, Result{}, err
		}
		inst.sched = *code.Schedule
	}
	s := &inst.sched
	// Priced before any work, so a rule cannot make the node instantiate it
	// for free: bigger modules and memories cost more (the 1.86 MB Go
	// example: ~3.3 M before its runtime even starts).
	cost := s.InstantiateBase + uint64(c.size)*s.InstantiateByte + uint64(c.minPages)*s.InstantiatePage
	if cost > limit {
		return nil, Result{Class: ClassOutOfGas, GasUsed: limit}, nil
	}
	if c.minPages > lim.MaxMemoryPages {
		return nil, Result{Class: ClassLimit, GasUsed: cost}, nil
	}
	st := &inst.st
	st.sched = s
	st.lim = lim
	st.init = true
	inst.bind(&call)
	inst.alloc.ceiling = uint64(lim.MaxMemoryPages) * 65536
	inst.ctx = &evalCtx{Context: experimental.WithMemoryAllocator(ctx, &inst.alloc), st: st}

	mod, err := e.rt.InstantiateModule(inst.ctx, c.cm, moduleConfig)
	if err != nil {
		// Data or element segments out of bounds: a deterministic trap of
		// the module itself. wazero drops the half-built instance without
		// closing it, so release its memory here.
		if inst.alloc.mem != nil {
			inst.alloc.mem.Free()
		}
		return nil, Result{Class: ClassTrap, GasUsed: cost}, nil
	}
	inst.mod = mod
	var ok1, ok2, ok3 bool
	inst.gas, ok1 = mod.ExportedGlobal(exportGas).(api.MutableGlobal)
	inst.depth, ok2 = mod.ExportedGlobal(exportDepth).(api.MutableGlobal)
	inst.pages, ok3 = mod.ExportedGlobal(exportPages).(api.MutableGlobal)
	inst.evaluate = mod.ExportedFunction(ExportEvaluate)
	if !ok1 || !ok2 || !ok3 || inst.evaluate == nil {
		mod.Close(ctx)
		return nil, Result{}, fmt.Errorf("contracts: module %x is not instrumented", code.Hash[:8])
	}
	st.gas = inst.gas
	inst.mem = mod.Memory()
	inst.arm(limit - cost)

	res := Result{Class: ClassOK}
	if c.hasInit {
		err := mod.ExportedFunction(ExportInitialize).CallWithStack(inst.ctx, inst.stack[:])
		if res, err = inst.finish(err, limit); err != nil || res.Class != ClassOK {
			return nil, res, err
		}
	}
	// rule_buffer is part of getting ready: its gas counts here.
	err = mod.ExportedFunction(ExportBuffer).CallWithStack(inst.ctx, inst.stack[:])
	if res, err = inst.finish(err, limit); err != nil || res.Class != ClassOK {
		return nil, res, err
	}
	inst.buf = uint32(inst.stack[0])
	if uint64(inst.buf)+BufferSize > uint64(inst.mem.Size()) {
		inst.Close(ctx)
		res.Class = ClassInvalidOutput
		return nil, res, nil
	}
	st.init = false
	return inst, res, nil
}

// bind points the host state at a new call.
func (inst *Instance) bind(call *Call) {
	st := &inst.st
	st.entry = call.Entry
	st.height, st.time, st.ruleVersion = call.Height, call.Time, call.RuleVersion
	st.host = call.Host
	if st.host == nil {
		st.host = nopHost{}
	}
	st.input = buildInput(st.input, call)
	st.rngSeeded = false
	st.events = st.events[:0]
	st.outcome, st.abortCode, st.abortMsg, st.fault = 0, 0, nil, nil
}

// arm loads the meter: gas, call depth and the memory ceiling.
// Depth and pages are only written when they change: every call site
// restores the depth it took, so after any evaluation that did not trap (the
// only kind an instance survives) the depth meter is back where it was armed.
func (inst *Instance) arm(gas uint64) {
	inst.gas.Set(gas)
	if d := inst.st.lim.MaxCallDepth; d != inst.armedDepth {
		inst.depth.Set(uint64(d))
		inst.armedDepth = d
	}
	if p := inst.st.lim.MaxMemoryPages; p != inst.armedPages {
		inst.pages.Set(uint64(p))
		inst.armedPages = p
	}
}

// finish classifies the end of a guest call and computes the gas used
// against limit, the value the meter was armed from (anything charged
// before arming was subtracted from it, so it is included). Only state this
// package controls decides the class; err's text is ignored.
func (inst *Instance) finish(err error, limit uint64) (Result, error) {
	st := &inst.st
	res := Result{Class: ClassOK}
	remaining := int64(inst.gas.Get())
	if remaining < 0 {
		remaining = 0
	}
	res.GasUsed = limit - uint64(remaining)
	if err == nil {
		return res, nil
	}
	switch {
	case st.fault != nil:
		inst.Close(inst.ctx)
		return Result{}, st.fault
	case st.outcome != 0:
		res.Class = st.outcome
	case int64(inst.gas.Get()) < 0:
		res.Class = ClassOutOfGas
	case int32(inst.depth.Get()) < 0:
		res.Class = ClassLimit
	default:
		res.Class = ClassTrap
	}
	if res.Class == ClassOutOfGas {
		res.GasUsed = limit
	}
	if res.Class == ClassAbort {
		res.AbortCode, res.AbortMessage = st.abortCode, st.abortMsg
	}
	inst.Close(inst.ctx)
	return res, nil
}

// Evaluate calls evaluate on a ready instance with call's entry, block
// fields, body and host, under call's gas limit. The instance keeps its
// memory between calls; it is closed after any class but ClassOK. Like
// Engine.Evaluate it does not watch ctx for cancellation: gas bounds the
// run, and a cancelled context must not change a consensus result.
func (inst *Instance) Evaluate(ctx context.Context, call Call) (Result, error) {
	if inst.closed {
		return Result{}, ErrInstanceClosed
	}
	if err := checkCall(&call); err != nil {
		return Result{}, err
	}
	lim := call.limits()
	if err := lim.Validate(); err != nil {
		return Result{}, err
	}
	inst.st.lim = lim
	return inst.run(ctx, &call, call.gasLimit(&lim))
}

// run is one evaluate call with an explicit gas budget.
func (inst *Instance) run(ctx context.Context, call *Call, limit uint64) (Result, error) {
	st := &inst.st
	inst.bind(call)
	inst.arm(limit)
	if !inst.mem.Write(inst.buf, st.input) {
		// Memory cannot shrink, so this only happens if a node bug
		// changed it; fail loudly rather than guess.
		inst.Close(ctx)
		return Result{}, fmt.Errorf("contracts: rule buffer left memory")
	}
	inst.stack[0] = uint64(call.Entry)
	inst.stack[1] = uint64(len(st.input))
	err := inst.evaluate.CallWithStack(inst.ctx, inst.stack[:])
	res, err := inst.finish(err, limit)
	if err != nil || res.Class != ClassOK {
		res.Events = st.takeEvents()
		return res, err
	}
	ret := inst.stack[0]
	res.Decision = Decision(uint32(ret))
	outLen := uint32(ret >> 32)
	res.Events = st.takeEvents()
	if outLen > MaxOutput {
		res.Class = ClassInvalidOutput
		inst.Close(ctx)
		return res, nil
	}
	if outLen > 0 {
		out, ok := inst.mem.Read(inst.buf, outLen)
		if !ok {
			res.Class = ClassInvalidOutput
			inst.Close(ctx)
			return res, nil
		}
		res.Output = append([]byte(nil), out...)
	}
	if !checkOutput(call.Entry, res.Decision, res.Output, st.input) {
		res.Class = ClassInvalidOutput
		inst.Close(ctx)
	}
	return res, nil
}

func (st *callState) takeEvents() [][]byte {
	if len(st.events) == 0 {
		return nil
	}
	ev := append([][]byte(nil), st.events...)
	st.events = st.events[:0]
	return ev
}

// Close releases the instance. Safe to call more than once.
func (inst *Instance) Close(ctx context.Context) error {
	if inst.closed {
		return nil
	}
	inst.closed = true
	return inst.mod.Close(ctx)
}
