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
// fresh one per call; a Pool keeps prepared ones and resets them between
// calls to exactly the state a fresh one would have (see pool.go), which is
// what consensus uses. Keeping an Instance across calls without a reset is
// for the cases where carrying memory from call to call is acceptable and
// deterministic — queries, simulation, benchmarks.
type Instance struct {
	e     *Engine
	c     *compiled
	mod   api.Module
	ctx   *evalCtx // given to every guest call
	st    callState
	alloc memAllocator
	sched GasSchedule // host-side prices: Code.Schedule or the engine's

	depth, pages global
	// The inlined ctx_get's globals (height, time, rule version), when the
	// module has them.
	ctxGlobals [3]global
	ctxInlined bool
	evaluate   api.Function
	armedDepth uint32 // last values written to the depth and pages meters
	armedPages uint32
	buf        uint32
	stack      [2]uint64
	closed     bool
	limDefault bool // st.lim came from DefaultLimits for a call without Limits
}

// moduleConfig: anonymous (instances never clash by name), no start
// functions (the ABI has _initialize, run under the meter), and a random
// source that is never read — wazero's WASI is not used, and its default
// source re-seeds math/rand on every instantiation (~10 µs).
var moduleConfig = wazero.NewModuleConfig().WithName("").WithStartFunctions().WithRandSource(zeroReader{})

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// Evaluate runs one call on a fresh instance and closes it: instantiation
// gas, _initialize (if exported), rule_buffer, then evaluate. The error is
// for node faults and caller bugs only (Host errors, malformed Call,
// uncompilable code); everything the rule does is a Result class.
func (e *Engine) Evaluate(ctx context.Context, code Code, call Call) (Result, error) {
	c, lim, err := e.begin(ctx, code, &call)
	if err != nil {
		return Result{}, err
	}
	limit := call.gasLimit(&lim)
	inst, res, err := e.prepare(ctx, code, c, &call, lim, limit, false)
	if err != nil || inst == nil {
		return res, err
	}
	defer inst.Close(ctx)
	used := res.GasUsed
	res, err = inst.run(&call, limit-used)
	res.GasUsed += used
	return res, err
}

// begin checks a call and finds its compiled module.
func (e *Engine) begin(ctx context.Context, code Code, call *Call) (*compiled, Limits, error) {
	if err := checkCall(call); err != nil {
		return nil, Limits{}, err
	}
	lim := call.limits()
	if err := lim.Validate(); err != nil {
		return nil, Limits{}, err
	}
	c, err := e.compile(ctx, code)
	return c, lim, err
}

// Instantiate makes an instance and prepares it (_initialize, rule_buffer),
// charging instantiation and preparation to call's gas limit; the Result
// reports that gas and, if the instance could not be made ready, the class
// (then the Instance is nil). Preparation sees only call's header — entry,
// height, block time, rule version — never its body or Host: ctx_get
// answers from it and the WASI random stream is keyed with it, so every call
// with the same header finds the same prepared instance (what a Pool relies
// on).
func (e *Engine) Instantiate(ctx context.Context, code Code, call Call) (*Instance, Result, error) {
	c, lim, err := e.begin(ctx, code, &call)
	if err != nil {
		return nil, Result{}, err
	}
	return e.prepare(ctx, code, c, &call, lim, call.gasLimit(&lim), true)
}

// prepare instantiates c and runs _initialize and rule_buffer under limit.
// direct: look up the meter's slots for a kept instance (see global).
func (e *Engine) prepare(ctx context.Context, code Code, c *compiled, call *Call, lim Limits, limit uint64, direct bool) (*Instance, Result, error) {
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
	inst.limDefault = call.Limits == nil
	st.init = true
	st.mem = &inst.alloc
	header := *call
	header.Body = nil // preparation depends on the header only
	inst.bind(&header)
	inst.alloc.ceiling = uint64(lim.MaxMemoryPages) * 65536
	inst.ctx = &evalCtx{st: st}

	mod, err := e.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, &inst.alloc), c.cm, moduleConfig)
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
	gas, ok1 := mod.ExportedGlobal(exportGas).(api.MutableGlobal)
	depth, ok2 := mod.ExportedGlobal(exportDepth).(api.MutableGlobal)
	pages, ok3 := mod.ExportedGlobal(exportPages).(api.MutableGlobal)
	inst.evaluate = mod.ExportedFunction(ExportEvaluate)
	if !ok1 || !ok2 || !ok3 || inst.evaluate == nil {
		mod.Close(ctx)
		return nil, Result{}, fmt.Errorf("contracts: module %s is not instrumented", short(code.Hash))
	}
	if m := mod.Memory(); m == nil || uint64(m.Size()) != uint64(len(inst.alloc.cur)) {
		mod.Close(ctx)
		return nil, Result{}, fmt.Errorf("contracts: module %s: memory not made by the engine's allocator", short(code.Hash))
	}
	st.gas = newGlobal(gas, direct)
	inst.depth = newGlobal(depth, direct)
	inst.pages = newGlobal(pages, direct)
	if c.ctxGet {
		if err := inst.findCtxGlobals(direct); err != nil {
			mod.Close(ctx)
			return nil, Result{}, fmt.Errorf("contracts: module %s: %w", short(code.Hash), err)
		}
	}
	inst.arm(limit - cost)

	res := Result{Class: ClassOK}
	if c.hasInit {
		err := mod.ExportedFunction(ExportInitialize).CallWithStack(inst.ctx, inst.stack[:])
		if err = inst.finish(err, limit, &res); err != nil || res.Class != ClassOK {
			return nil, res, err
		}
	}
	// rule_buffer is part of getting ready: its gas counts here.
	err = mod.ExportedFunction(ExportBuffer).CallWithStack(inst.ctx, inst.stack[:])
	if err = inst.finish(err, limit, &res); err != nil || res.Class != ClassOK {
		return nil, res, err
	}
	inst.buf = uint32(inst.stack[0])
	if uint64(inst.buf)+BufferSize > uint64(len(inst.alloc.cur)) {
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
	st.body = call.Body
	st.rngSeeded = false
	st.events = st.events[:0]
	st.outcome, st.abortCode, st.abortMsg, st.fault = 0, 0, nil, nil
}

// findCtxGlobals looks up the globals of the inlined ctx_get and writes the
// host-call price, which is fixed for the instance.
func (inst *Instance) findCtxGlobals(direct bool) error {
	var gs [4]global
	for i, name := range []string{exportCtxHeight, exportCtxTime, exportCtxVersion, exportCtxPrice} {
		g, ok := inst.mod.ExportedGlobal(name).(api.MutableGlobal)
		if !ok {
			return fmt.Errorf("inlined ctx_get without global %s", name)
		}
		gs[i] = newGlobal(g, direct)
	}
	gs[3].set(inst.sched.HostCall)
	inst.ctxGlobals = [3]global{gs[0], gs[1], gs[2]}
	inst.ctxInlined = true
	return nil
}

// arm loads the meter: gas, call depth and the memory ceiling.
// Depth and pages are only written when they change: every call site
// restores the depth it took, so after any evaluation that did not trap (the
// only kind an instance survives) the depth meter is back where it was armed.
func (inst *Instance) arm(gas uint64) {
	inst.st.gas.set(gas)
	if inst.ctxInlined {
		st := &inst.st
		inst.ctxGlobals[0].set(st.height)
		inst.ctxGlobals[1].set(uint64(st.time))
		inst.ctxGlobals[2].set(uint64(st.ruleVersion))
	}
	if d := inst.st.lim.MaxCallDepth; d != inst.armedDepth {
		inst.depth.set(uint64(d))
		inst.armedDepth = d
	}
	if p := inst.st.lim.MaxMemoryPages; p != inst.armedPages {
		inst.pages.set(uint64(p))
		inst.armedPages = p
	}
}

// finish classifies the end of a guest call into res (class, gas used and,
// for an abort, its code and message) and computes the gas used against
// limit, the value the meter was armed from (anything charged before arming
// was subtracted from it, so it is included). Only state this package
// controls decides the class; err's text is ignored. It fills res in place:
// Result is large, and this is on every evaluation's path.
func (inst *Instance) finish(err error, limit uint64, res *Result) error {
	st := &inst.st
	res.Class = ClassOK
	remaining := int64(st.gas.get())
	if remaining < 0 {
		remaining = 0
	}
	res.GasUsed = limit - uint64(remaining)
	if err == nil {
		return nil
	}
	switch {
	case st.fault != nil:
		inst.Close(context.Background())
		*res = Result{}
		return st.fault
	case st.outcome != 0:
		res.Class = st.outcome
	case int64(st.gas.get()) < 0:
		res.Class = ClassOutOfGas
	case int32(inst.depth.get()) < 0:
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
	inst.Close(context.Background())
	return nil
}

// Evaluate calls evaluate on a ready instance with call's entry, block
// fields, body and host, under call's gas limit. The instance keeps its
// memory between calls (no reset: that is what a Pool adds); it is closed
// after any class but ClassOK. Like
// Engine.Evaluate it does not watch ctx for cancellation: gas bounds the
// run, and a cancelled context must not change a consensus result.
func (inst *Instance) Evaluate(ctx context.Context, call Call) (Result, error) {
	if inst.closed {
		return Result{}, ErrInstanceClosed
	}
	if err := checkCall(&call); err != nil {
		return Result{}, err
	}
	// Limits are validated only when they change: the instance's were
	// validated when they were set.
	switch {
	case call.Limits == nil:
		if !inst.limDefault {
			inst.st.lim, inst.limDefault = DefaultLimits(), true
		}
	case *call.Limits != inst.st.lim:
		if err := call.Limits.Validate(); err != nil {
			return Result{}, err
		}
		inst.st.lim, inst.limDefault = *call.Limits, false
	}
	return inst.run(&call, call.gasLimit(&inst.st.lim))
}

// run is one evaluate call with an explicit gas budget.
func (inst *Instance) run(call *Call, limit uint64) (res Result, err error) {
	st := &inst.st
	inst.bind(call)
	inst.arm(limit)
	mem := inst.alloc.cur
	n := uint64(HeaderSize + len(call.Body))
	if uint64(inst.buf)+n > uint64(len(mem)) {
		// Memory cannot shrink, so this only happens if a node bug
		// changed it; fail loudly rather than guess.
		inst.Close(context.Background())
		return Result{}, fmt.Errorf("contracts: rule buffer left memory")
	}
	buildInput(mem[inst.buf:inst.buf:uint64(inst.buf)+n], call)
	inst.stack[0] = uint64(call.Entry)
	inst.stack[1] = n
	err = inst.evaluate.CallWithStack(inst.ctx, inst.stack[:])
	if err = inst.finish(err, limit, &res); err != nil || res.Class != ClassOK {
		res.Events = st.takeEvents()
		return res, err
	}
	ret := inst.stack[0]
	res.Decision = Decision(uint32(ret))
	outLen := uint32(ret >> 32)
	res.Events = st.takeEvents()
	if outLen > MaxOutput {
		res.Class = ClassInvalidOutput
		inst.Close(context.Background())
		return res, nil
	}
	if outLen > 0 {
		mem := inst.alloc.cur // evaluate may have grown it
		if uint64(inst.buf)+uint64(outLen) > uint64(len(mem)) {
			res.Class = ClassInvalidOutput
			inst.Close(context.Background())
			return res, nil
		}
		res.Output = append([]byte(nil), mem[inst.buf:inst.buf+outLen]...)
	}
	if !checkOutput(call.Entry, res.Decision, res.Output, call.Body) {
		res.Class = ClassInvalidOutput
		inst.Close(context.Background())
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
