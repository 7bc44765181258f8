package contracts

import (
	"context"
	"crypto/sha256"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// The rules_v1 host functions. Each one charges before it works (so a rule
// out of gas does not get the work for free), checks every guest range, and
// ends the evaluation through callState.stop for anything the ABI calls a
// trap. Prices come from the GasSchedule only.

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// Host functions are api.GoFunc, not GoModuleFunc: they reach guest memory
// through the callState (memAllocator.cur), and wazero then skips looking
// up the calling module on every call.
type hostFunc struct {
	name    string
	fn      api.GoFunc
	params  []api.ValueType
	results []api.ValueType
}

func rulesHostFuncs() []hostFunc {
	return []hostFunc{
		{"state_get", stateGet, []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
		{"state_set", stateSet, []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
		{"state_del", stateDel, []api.ValueType{i32, i32}, nil},
		{"ctx_get", ctxGet, []api.ValueType{i32}, []api.ValueType{i64}},
		{"emit_event", emitEvent, []api.ValueType{i32, i32}, []api.ValueType{i32}},
		{"abort", abortFn, []api.ValueType{i32, i32, i32}, nil},
		{"sha256", sha256Fn, []api.ValueType{i32, i32, i32}, nil},
	}
}

func instantiateHost(ctx context.Context, rt wazero.Runtime, module string, fns []hostFunc) error {
	b := rt.NewHostModuleBuilder(module)
	for _, f := range fns {
		b.NewFunctionBuilder().WithGoFunction(f.fn, f.params, f.results).Export(f.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// key reads a state key, trapping unless it is 1..MaxKey bytes.
func (st *callState) key(ptr, n uint32) []byte {
	if n == 0 || n > MaxKey {
		st.stop(ClassTrap)
	}
	return st.read(ptr, n)
}

func stateGet(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	kp, kl, vp, vc := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	s := st.sched
	st.charge(s.HostCall + s.StateRead + uint64(kl)*s.HostByte)
	if st.init {
		st.stop(ClassTrap)
	}
	k := st.key(kp, kl)
	st.check(vp, vc) // the whole destination, whatever the value's length
	v, found, err := st.host.Get(k)
	if err != nil {
		st.faultStop(err)
	}
	if !found {
		stack[0] = api.EncodeI32(-1)
		return
	}
	n := min(uint32(len(v)), vc)
	st.charge(uint64(n) * s.HostByte)
	st.write(vp, v[:n])
	stack[0] = api.EncodeI32(int32(len(v)))
}

func stateSet(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	kp, kl, vp, vl := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	s := st.sched
	st.charge(s.HostCall + s.StateWrite + (uint64(kl)+uint64(vl))*s.HostByte)
	if st.init || st.entry == EntryQuery || vl > MaxValue {
		st.stop(ClassTrap)
	}
	// Views into guest memory, valid for the call only: a Host that keeps
	// them copies them (see Host), so nothing is copied twice.
	k, v := st.key(kp, kl), st.read(vp, vl)
	if err := st.host.Set(k, v); err != nil {
		st.faultStop(err)
	}
	stack[0] = 0
}

func stateDel(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	kp, kl := uint32(stack[0]), uint32(stack[1])
	s := st.sched
	st.charge(s.HostCall + s.StateWrite + uint64(kl)*s.HostByte)
	if st.init || st.entry == EntryQuery {
		st.stop(ClassTrap)
	}
	if err := st.host.Delete(st.key(kp, kl)); err != nil {
		st.faultStop(err)
	}
}

func ctxGet(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	st.charge(st.sched.HostCall)
	switch int32(stack[0]) {
	case CtxHeight:
		stack[0] = st.height
	case CtxTime:
		stack[0] = uint64(st.time)
	case CtxRuleVersion:
		stack[0] = uint64(st.ruleVersion)
	default:
		st.stop(ClassTrap)
	}
}

func emitEvent(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	p, n := uint32(stack[0]), uint32(stack[1])
	s := st.sched
	st.charge(s.HostCall + s.Event + uint64(n)*s.HostByte)
	if st.init {
		st.stop(ClassTrap)
	}
	if len(st.events) >= MaxEvents || n > MaxEvent {
		st.stop(ClassLimit)
	}
	st.events = append(st.events, append([]byte{}, st.read(p, n)...))
	stack[0] = 0
}

func abortFn(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	code, p, n := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	keep := min(n, maxAbortMsg)
	st.charge(st.sched.HostCall + uint64(keep)*st.sched.HostByte)
	st.check(p, n)
	st.abortCode = code
	st.abortMsg = append([]byte{}, st.read(p, keep)...)
	st.stop(ClassAbort)
}

func sha256Fn(ctx context.Context, stack []uint64) {
	st := stateOf(ctx)
	p, n, out := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	s := st.sched
	st.charge(s.HostCall + uint64(n)*s.HashByte + 32*s.HostByte)
	st.check(out, 32)
	sum := sha256.Sum256(st.read(p, n))
	st.write(out, sum[:])
}
