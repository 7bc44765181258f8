package contracts

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/tetratelabs/wazero/api"
)

// global is a mutable global the host reads and writes on the hot path: the
// gas meter (at every host call and evaluation) and, on pooled instances,
// the module's own globals (at every reset).
//
// Through wazero's API a Get or Set is two interface calls and an offset
// computation. wazero v1.12.0's compiler keeps an instance's globals at
// fixed offsets of a Go byte slice that lives as long as the instance (the
// "opaque" module context), so the host can use the 8 bytes directly. The
// slot is found through reflection on the pinned wazero version and then
// proven by writing two sentinels through the API and reading them back
// through the slot; if anything about it does not hold (another wazero, an
// engine that keeps globals elsewhere), the API is used instead. Either way
// the values are the same, so this changes speed only.
type global struct {
	p *uint64 // the slot, or nil: use g
	g api.MutableGlobal
}

func (x *global) get() uint64 {
	if x.p != nil {
		return *x.p
	}
	return x.g.Get()
}

func (x *global) set(v uint64) {
	if x.p != nil {
		*x.p = v
		return
	}
	x.g.Set(v)
}

// direct looks for g's slot; a global is usable either way.
func newGlobal(g api.MutableGlobal, direct bool) global {
	x := global{g: g}
	if direct {
		x.p = globalSlot(g)
	}
	return x
}

// Field paths into wazero's internals, resolved once.
var slotPaths struct {
	once               sync.Once
	ok                 bool
	inst, me, opaque   []int // mutableGlobal.g, GlobalInstance.Me, moduleEngine.opaque
	globalType, engine reflect.Type
}

func resolveSlotPaths(g api.MutableGlobal) {
	p := &slotPaths
	v := reflect.ValueOf(g)
	if v.Kind() != reflect.Struct {
		return
	}
	f, ok := v.Type().FieldByName("g")
	if !ok || f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
		return
	}
	p.inst, p.globalType = f.Index, f.Type.Elem()
	me, ok := p.globalType.FieldByName("Me")
	if !ok || me.Type.Kind() != reflect.Interface {
		return
	}
	p.me = me.Index
	gi := reflect.NewAt(p.globalType, v.FieldByIndex(p.inst).UnsafePointer()).Elem()
	e := gi.FieldByIndex(p.me)
	if e.IsNil() || e.Elem().Kind() != reflect.Pointer || e.Elem().Type().Elem().Kind() != reflect.Struct {
		return
	}
	p.engine = e.Elem().Type()
	op, ok := p.engine.Elem().FieldByName("opaque")
	if !ok || op.Type.Kind() != reflect.Slice || op.Type.Elem().Kind() != reflect.Uint8 {
		return
	}
	p.opaque = op.Index
	p.ok = true
}

// globalSlot returns the address of g's value, or nil.
func globalSlot(g api.MutableGlobal) (slot *uint64) {
	defer func() {
		if recover() != nil { // a wazero whose internals differ
			slot = nil
		}
	}()
	p := &slotPaths
	p.once.Do(func() { resolveSlotPaths(g) })
	if !p.ok {
		return nil
	}
	v := reflect.ValueOf(g)
	if v.Kind() != reflect.Struct || v.Type().FieldByIndex(p.inst).Type.Elem() != p.globalType {
		return nil
	}
	gi := reflect.NewAt(p.globalType, v.FieldByIndex(p.inst).UnsafePointer()).Elem()
	e := gi.FieldByIndex(p.me)
	if e.IsNil() || e.Elem().Type() != p.engine {
		return nil
	}
	op := e.Elem().Elem().FieldByIndex(p.opaque)
	n := op.Len()
	if n < 8 {
		return nil
	}
	opaque := unsafe.Slice((*byte)(op.UnsafePointer()), n)
	old := g.Get()
	defer g.Set(old)
	const s1, s2 = 0x5a17_c0de_9e37_79b9, 0x3c6e_f372_fe94_f82b
	g.Set(s1)
	at := -1
	for i := 0; i+8 <= n; i += 8 {
		if *(*uint64)(unsafe.Pointer(&opaque[i])) == s1 {
			if at >= 0 {
				return nil // ambiguous
			}
			at = i
		}
	}
	if at < 0 {
		return nil
	}
	slot = (*uint64)(unsafe.Pointer(&opaque[at]))
	g.Set(s2)
	if *slot != s2 {
		return nil
	}
	*slot = s1
	if g.Get() != s1 {
		return nil
	}
	return slot
}
