package contracts

import (
	"context"
	"sync"

	"github.com/tetratelabs/wazero/api"
)

// Pool evaluates rules on prepared instances that are reset between calls,
// with results, gas and state byte for byte those of Engine.Evaluate (a
// fresh instance per call), at a fraction of the cost: a rule is
// instantiated and prepared about once per block instead of once per
// transaction.
//
// Why a reset instance is indistinguishable from a fresh one:
//
//   - Preparation (instantiation, _initialize, rule_buffer) depends only on
//     the code, the gas schedule, the limits and the call's header (entry,
//     height, block time, rule version): never on the body or the Host (see
//     Engine.Instantiate). Instances are keyed by exactly those, so the
//     state after preparation is the one a fresh instance of any call with
//     that key reaches before its evaluate.
//   - That state is snapshotted once per instance: linear memory (contents
//     and size) and every mutable global of the module (exported for this by
//     the engine, see poolplan.go). The meter's globals are not part of it:
//     gas is armed at every call, and the depth and pages meters are back at
//     their armed values after any evaluation that ended ok.
//   - Before every reuse, memory and globals are restored from the snapshot.
//     An instance is only reused after an evaluation that ended ok without
//     growing memory; any other class (the guest may have stopped half-way)
//     or a grown memory discards it.
//   - Tables and passive segments cannot be restored through wazero's API,
//     so modules with an instruction that can change them are never pooled
//     (decided at compile time); nothing else in an instance is mutable by
//     the guest, and the host state (input, events, random stream, abort
//     fields) is rebuilt by every call.
//   - Gas: a pooled call reports the preparation's gas (measured once, under
//     the limits' max_gas) plus its evaluate's, exactly the fresh path's sum.
//     A call whose gas limit is below the preparation's cost gets what the
//     fresh path gives it, out_of_gas with the whole limit used: the fresh
//     path would run the same instructions and run out on the way.
//   - Preparation that ends with any class but ok is not pooled: such keys
//     take the fresh path, which then reproduces the failure per call.
//
// A Pool is safe for concurrent use: an instance is taken out while it runs,
// so no two goroutines ever share one. Reset (e.g. at every block start)
// closes every idle instance; instances are also dropped when a call comes
// for another height, so none outlives its block.
//
// A pool keeps at most Budget bytes of prepared instances (their memory
// and its snapshot): a block that pays many merchants with many different
// rules must not hold them all. An instance that would pass the budget is
// closed after its call, so the next call of its rule prepares again — the
// same results, only slower. The budget is node-local.
type Pool struct {
	e *Engine

	// Budget bounds the bytes of linear memory and snapshots the pool
	// keeps; set it before the first Evaluate. NewPool sets DefaultPoolBudget.
	Budget int64

	mu      sync.Mutex
	height  uint64
	gen     uint64 // bumped by every reset: instances taken before it are not put back
	held    int64  // bytes of the instances of this generation counted against Budget
	entries map[poolKey]*poolEntry
}

// DefaultPoolBudget is NewPool's Budget: about a thousand AssemblyScript
// rules (128 KiB of memory each) or forty 3 MiB Go rules.
const DefaultPoolBudget = 256 << 20

// poolKey is everything preparation depends on.
type poolKey struct {
	hash    [32]byte
	entry   Entry
	height  uint64
	time    int64
	version uint32
	lim     Limits
	sched   GasSchedule
	custom  bool // sched is Code.Schedule, not the engine's
}

type poolEntry struct {
	fresh bool // preparation does not end ok: every call takes the fresh path
	idle  []*pooled
}

// pooled is a prepared instance and its snapshot.
type pooled struct {
	inst    *Instance
	prepGas uint64   // gas of instantiation, _initialize and rule_buffer
	mem     []byte   // linear memory after preparation
	globals []global // the module's own mutable globals
	values  []uint64 // their values after preparation
	dirty   bool     // has run since the snapshot
	gen     uint64   // the pool's generation when it was taken or made
	counted bool     // its bytes are in the pool's held
}

// bytes is what a pooled instance keeps: its memory and the snapshot.
func (pi *pooled) bytes() int64 { return 2 * int64(len(pi.mem)) }

// NewPool returns an empty pool of e's instances.
func (e *Engine) NewPool() *Pool {
	return &Pool{e: e, Budget: DefaultPoolBudget, entries: map[poolKey]*poolEntry{}}
}

// Evaluate is Engine.Evaluate on a pooled instance when the module allows
// it (see poolplan.go), with the same results.
func (p *Pool) Evaluate(ctx context.Context, code Code, call Call) (Result, error) {
	c, lim, err := p.e.begin(ctx, code, &call)
	if err != nil {
		return Result{}, err
	}
	if !c.pool.ok {
		return p.e.Evaluate(ctx, code, call)
	}
	key := poolKey{hash: code.Hash, entry: call.Entry, height: call.Height, time: call.Time, version: call.RuleVersion, lim: lim}
	if code.Schedule != nil {
		key.sched, key.custom = *code.Schedule, true
	}
	pi, gen, fresh := p.take(ctx, &key)
	if fresh {
		return p.e.Evaluate(ctx, code, call)
	}
	if pi == nil {
		var res Result
		pi, res, err = p.prepare(ctx, code, c, &call, lim)
		if err != nil {
			return res, err
		}
		if pi == nil {
			p.markFresh(&key, gen)
			return p.e.Evaluate(ctx, code, call)
		}
		pi.gen = gen
	}
	limit := call.gasLimit(&lim)
	if limit < pi.prepGas {
		p.put(&key, pi)
		return Result{Class: ClassOutOfGas, GasUsed: limit}, nil
	}
	if pi.dirty {
		pi.restore()
	}
	pi.dirty = true
	res, err := pi.inst.run(&call, limit-pi.prepGas)
	res.GasUsed += pi.prepGas
	if pi.inst.closed || uint64(len(pi.inst.alloc.cur)) != uint64(len(pi.mem)) {
		p.discard(ctx, pi) // ended badly, or memory grew: never reused
		return res, err
	}
	p.put(&key, pi)
	return res, err
}

// prepare makes a pooled instance for call's key: preparation under the
// limits' max_gas, so that its gas is the preparation's own cost.
func (p *Pool) prepare(ctx context.Context, code Code, c *compiled, call *Call, lim Limits) (*pooled, Result, error) {
	inst, res, err := p.e.prepare(ctx, code, c, call, lim, lim.MaxGas, true)
	if err != nil || inst == nil {
		return nil, res, err
	}
	pi := &pooled{inst: inst, prepGas: res.GasUsed, mem: append([]byte(nil), inst.alloc.cur...)}
	for _, name := range c.pool.globals {
		g, ok := inst.mod.ExportedGlobal(name).(api.MutableGlobal)
		if !ok {
			inst.Close(ctx)
			return nil, Result{}, nil // not as planned: the fresh path is always right
		}
		x := newGlobal(g, true)
		pi.globals = append(pi.globals, x)
		pi.values = append(pi.values, x.get())
	}
	return pi, res, nil
}

// restore puts memory and globals back as they were after preparation.
// Memory has its snapshot's size (an instance whose memory grew is never
// put back).
func (pi *pooled) restore() {
	// One copy of the whole memory: cheaper on this machine than clearing
	// the chunks that were zero or comparing chunks to skip the unchanged
	// ones (both measured, 2026-11-27).
	copy(pi.inst.alloc.cur, pi.mem)
	for i := range pi.globals {
		pi.globals[i].set(pi.values[i])
	}
}

// take removes an idle instance for key; fresh reports that key takes the
// fresh path; gen is the pool's generation. Entries of another height are
// closed first.
func (p *Pool) take(ctx context.Context, key *poolKey) (pi *pooled, gen uint64, fresh bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if key.height != p.height {
		p.resetLocked(ctx)
		p.height = key.height
	}
	en := p.entries[*key]
	if en == nil {
		return nil, p.gen, false
	}
	if en.fresh {
		return nil, p.gen, true
	}
	if n := len(en.idle); n > 0 {
		pi = en.idle[n-1]
		en.idle[n-1] = nil
		en.idle = en.idle[:n-1]
	}
	return pi, p.gen, false
}

func (p *Pool) put(key *poolKey, pi *pooled) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pi.gen != p.gen {
		pi.inst.Close(context.Background())
		return
	}
	if !pi.counted {
		if p.held+pi.bytes() > p.Budget {
			pi.inst.Close(context.Background())
			return
		}
		p.held += pi.bytes()
		pi.counted = true
	}
	en := p.entries[*key]
	if en == nil {
		en = &poolEntry{}
		p.entries[*key] = en
	}
	en.idle = append(en.idle, pi)
}

// discard closes an instance that will not be reused.
func (p *Pool) discard(ctx context.Context, pi *pooled) {
	p.mu.Lock()
	if pi.counted && pi.gen == p.gen {
		p.held -= pi.bytes()
	}
	p.mu.Unlock()
	pi.inst.Close(ctx)
}

func (p *Pool) markFresh(key *poolKey, gen uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen == p.gen {
		p.entries[*key] = &poolEntry{fresh: true}
	}
}

// Reset closes every idle instance; instances in use are closed when they
// come back.
func (p *Pool) Reset(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resetLocked(ctx)
}

func (p *Pool) resetLocked(ctx context.Context) {
	p.gen++
	p.held = 0 // the idle instances close here, those in use when they return
	for k, en := range p.entries {
		for _, pi := range en.idle {
			pi.inst.Close(ctx)
		}
		delete(p.entries, k)
	}
}

// Idle reports the number of idle instances (for tests and metrics).
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, en := range p.entries {
		n += len(en.idle)
	}
	return n
}
