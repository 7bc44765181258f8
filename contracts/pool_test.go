package contracts

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// Modes of leakRule, chosen by the low byte of the payment amount.
const (
	leakPlain   = 0 // report the fingerprint
	leakGarbage = 1 // report it, then write garbage over memory and globals
	leakGrow    = 2 // garbage, then memory.grow
	leakTrap    = 3 // garbage, then unreachable
	leakAbort   = 4 // garbage, then abort
	leakState   = 5 // garbage, then state_set and emit_event
	leakSpin    = 6 // garbage, then loop until out of gas
	leakModes   = 7
)

// leakRule is built to catch any state a reused instance could carry from
// one call to the next. _initialize changes three mutable globals and memory
// (one of them from ctx_get, 16 bytes from random_get), so the state to
// restore is not the module's initial one. evaluate fingerprints the whole
// memory (but the input/output area) and the globals into its 8-byte answer
// (HOLD for a payment, OK for a query; a claim gets invalid_output), then,
// depending on the mode, scribbles over all of it and ends in one of the
// ways an instance can end. A state that leaked changes the next
// fingerprint.
func leakRule() []byte {
	const memEnd = 2 * 65536
	var g0, g1, g2 uint32 = 0, 1, 2
	m := &tMod{}
	setState := m.imp(ABIVersion, "state_set", "iiii", "i")
	abort := m.imp(ABIVersion, "abort", "iii", "")
	emit := m.imp(ABIVersion, "emit_event", "ii", "i")
	ctxGet := m.imp(ABIVersion, "ctx_get", "i", "I")
	random := m.imp(WASIModule, "random_get", "ii", "i")
	m.globals = append(m.globals,
		cat([]byte{valI64, 1}, i64c(100), end()),
		cat([]byte{valI32, 1}, i32c(5), end()),
		cat([]byte{valI64, 1}, i64c(0), end()),
	)
	fill := func(dst, n int32) []byte { return cat(i32c(dst), i32c(0xee), i32c(n), op(opPrefixFC, 11, 0)) }
	is := func(mode int32) []byte { return cat(lget(3), i32c(mode), op(0x46), ifv()) }
	const l2, l3, l6 = 2, 3, 6 // i32 index, i32 mode, i64 fingerprint
	body := cat(
		// fingerprint: sum of the i64 words of [0, testBuf) and [testBuf+256, memEnd)
		block(), loop(),
		lget(l2), i32c(memEnd), op(0x4f), brIf(1), // i32.ge_u
		lget(l2), i32c(testBuf), op(0x46), ifv(), i32c(testBuf+256), lset(l2), end(),
		lget(l6), lget(l2), i64load(0), op(opI64Add), lset(l6),
		lget(l2), i32c(8), op(opI32Add), lset(l2),
		br(0), end(), end(),
		lget(l6), i64c(31), op(opI64Mul), gget(g0), op(0x85), // i64.xor
		i64c(31), op(opI64Mul), gget(g1), op(opI64ExtendU), op(0x85),
		i64c(31), op(opI64Mul), gget(g2), op(0x85), lset(l6),
		i32c(testBuf), lget(l6), i64store(0),
		i32c(testBuf), op(0x2d, 0), appendU32(nil, 32), lset(l3), // i32.load8_u: the amount's low byte
		lget(l3), i32c(0), op(0x47), ifv(), // i32.ne: scribble
		fill(0, testBuf), fill(testBuf+256, memEnd-testBuf-256),
		i64c(-1), gset(g0), i32c(-1), gset(g1), i64c(-1), gset(g2),
		end(),
		is(leakGrow), i32c(1), op(opMemoryGrow, 0), op(0x1a), end(),
		is(leakTrap), op(opUnreachable), end(),
		is(leakAbort), i32c(7), i32c(0), i32c(4), call(abort), end(),
		is(leakState), i32c(0), i32c(1), i32c(8), i32c(8), call(setState), op(0x1a),
		i32c(0), i32c(16), call(emit), op(0x1a), end(),
		is(leakSpin), loop(), br(0), end(), end(),
		lget(0), i32c(int32(EntryQuery)), op(0x46), op(opIf, valI64), ret64(8, DecisionOK), op(opElse), ret64(8, DecisionHold), end(),
	)
	m.export(ExportMemory, kindMemory, 0)
	m.memory(2)
	m.export(ABIMarker, kindFunc, m.fn("", "", nil))
	m.export(ExportBuffer, kindFunc, m.fn("", "i", nil, i32c(testBuf)))
	m.export(ExportEvaluate, kindFunc, m.fn("ii", "I", []localGroup{{4, valI32}, {2, valI64}}, body))
	m.export(ExportInitialize, kindFunc, m.fn("", "", nil,
		i64c(7), gset(g0),
		i32c(70000), i32c(0xab), i32store8(0),
		i32c(70016), i32c(16), call(random), op(0x1a),
		i32c(CtxHeight), call(ctxGet), gset(g2),
	))
	return m.bytes()
}

// poolCase is a rule and how to call it.
type poolCase struct {
	name string
	wasm []byte
	call func(t testing.TB) Call // nil: payments, claims and queries at random
}

func poolCases(t testing.TB) []poolCase {
	cases := []poolCase{
		{name: "leak", wasm: leakRule()},
		{name: "daily total", wasm: dailyTotalRule()},
		{name: "max amount", wasm: maxAmountRule()},
	}
	for _, n := range []string{"max-amount.wasm", "daily-totals.wasm", "hold-large.wasm", "refund-small.wasm"} {
		cases = append(cases, poolCase{name: n, wasm: exampleWasm(t, n)})
	}
	for _, h := range hostileCases() {
		cases = append(cases, poolCase{name: "hostile " + h.name, wasm: h.wasm(), call: h.call})
	}
	return cases
}

// randomCall varies everything a call carries: entry, body (the leak
// rule's mode is the amount's low byte), block (a few calls per height),
// rule version and gas limit, around the preparation's cost.
func randomCall(t testing.TB, rng *rand.Rand, i int, prepGas uint64, base func(testing.TB) Call) Call {
	var c Call
	if base != nil {
		c = base(t)
	} else {
		c = payCall(t, 1, nil)
		switch rng.IntN(10) {
		case 0:
			claim, _ := Claim{Amount: U128{Lo: rng.Uint64N(1000)}, PaymentAmount: U128{Lo: 900}, Reason: ReasonNotReceived, Asset: "USDC"}.Encode()
			c.Entry, c.Body = EntryClaim, claim
		case 1:
			c.Entry, c.Body = EntryQuery, []byte(fmt.Sprint("q", rng.IntN(100)))
		default:
			amount := uint64(rng.IntN(leakModes)) | rng.Uint64N(1<<20)<<8
			if rng.IntN(2) == 0 {
				amount = uint64(rng.IntN(leakModes)) // also small amounts: other rules accept these
			}
			c.Body = paymentBody(t, amount)
		}
	}
	c.Height = c.Height + uint64(i/6)
	c.Time = c.Time + int64(i/6)*5
	c.RuleVersion = 1 + uint32(rng.IntN(2))
	switch rng.IntN(12) {
	case 0:
		c.GasLimit = prepGas - 1
	case 1:
		c.GasLimit = prepGas
	case 2:
		c.GasLimit = prepGas + 1 + rng.Uint64N(200)
	case 3:
		c.GasLimit = 1 + rng.Uint64N(prepGas+1)
	case 4, 5:
		c.GasLimit = prepGas + rng.Uint64N(400_000)
	}
	return c
}

// prepCost is what preparation costs a rule (0 if it does not prepare).
func prepCost(t testing.TB, e *Engine, code Code, base func(testing.TB) Call) uint64 {
	c := payCall(t, 1, nil)
	if base != nil {
		c = base(t)
	}
	inst, res, err := e.Instantiate(context.Background(), code, c)
	if err != nil {
		t.Fatal(err)
	}
	if inst != nil {
		inst.Close(context.Background())
	}
	return max(res.GasUsed, 2)
}

// TestPoolMatchesFresh: over randomised sequences of calls, a Pool gives
// exactly the Result (class, decision, output, events, gas, abort fields)
// and the state writes of a fresh instance per call, for rules that scribble
// over their memory and globals, grow memory, trap, abort, run out of gas
// (also below the preparation's cost), and for every hostile case.
func TestPoolMatchesFresh(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t)
	calls := 120
	if testing.Short() {
		calls = 30
	}
	for ci, pc := range poolCases(t) {
		t.Run(pc.name, func(t *testing.T) {
			code := deploy(t, pc.wasm)
			p := e.NewPool()
			defer p.Reset(ctx)
			prep := prepCost(t, e, code, pc.call)
			rng := rand.New(rand.NewPCG(uint64(ci), 42))
			hp, hf := newMemHost(), newMemHost()
			classes := map[Class]int{}
			for i := range calls {
				c := randomCall(t, rng, i, prep, pc.call)
				cp, cf := c, c
				cp.Host, cf.Host = hp, hf
				rp, errp := p.Evaluate(ctx, code, cp)
				rf, errf := e.Evaluate(ctx, code, cf)
				if (errp == nil) != (errf == nil) {
					t.Fatalf("call %d: pooled error %v, fresh error %v", i, errp, errf)
				}
				if !reflect.DeepEqual(rp, rf) {
					t.Fatalf("call %d (%v, gas limit %d): pooled\n%+v\nfresh\n%+v", i, c.Entry, c.GasLimit, rp, rf)
				}
				if !reflect.DeepEqual(hp.kv, hf.kv) {
					t.Fatalf("call %d: state differs: %v vs %v", i, hp.kv, hf.kv)
				}
				classes[rf.Class]++
			}
			t.Logf("prep %d gas; classes %v", prep, classes)
		})
	}
}

// TestPoolLeakRuleIsPooled: the leak rule really runs on reused instances
// (the test above would pass trivially if everything took the fresh path),
// every mode ends as designed, and a plain call after each one sees the
// prepared state again.
func TestPoolLeakRuleIsPooled(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t)
	code := deploy(t, leakRule())
	p := e.NewPool()
	want := map[int]Class{leakPlain: ClassOK, leakGarbage: ClassOK, leakGrow: ClassOK, leakTrap: ClassTrap,
		leakAbort: ClassAbort, leakState: ClassOK, leakSpin: ClassOutOfGas}
	plain := payCall(t, leakPlain, newMemHost())
	first, err := p.Evaluate(ctx, code, plain)
	if err != nil || first.Class != ClassOK || first.Decision != DecisionHold {
		t.Fatalf("%v %+v", err, first)
	}
	for mode := range leakModes {
		c := payCall(t, uint64(mode), newMemHost())
		r, err := p.Evaluate(ctx, code, c)
		if err != nil || r.Class != want[mode] {
			t.Fatalf("mode %d: %v %+v", mode, err, r)
		}
		if r.Class == ClassOK && !reflect.DeepEqual(r.Output, first.Output) {
			t.Fatalf("mode %d: fingerprint %x, want %x", mode, r.Output, first.Output)
		}
		again, err := p.Evaluate(ctx, code, plain)
		if err != nil || !reflect.DeepEqual(again, first) {
			t.Fatalf("after mode %d: %v\n%+v\nwant\n%+v", mode, err, again, first)
		}
		if n := p.Idle(); n != 1 {
			t.Fatalf("after mode %d: %d idle instances, want 1", mode, n)
		}
	}
	// The garbage is real: on a kept instance (no reset) it shows.
	inst, _, err := e.Instantiate(ctx, code, plain)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(ctx)
	if _, err := inst.Evaluate(ctx, payCall(t, leakGarbage, nil)); err != nil {
		t.Fatal(err)
	}
	if r, err := inst.Evaluate(ctx, plain); err != nil || reflect.DeepEqual(r.Output, first.Output) {
		t.Fatalf("a kept instance did not see its own garbage: %v %+v", err, r)
	}
}

// TestPoolPreparationSeesHeaderOnly: preparation (here _initialize's
// random_get and ctx_get) depends on the header, not the body: calls with
// different bodies in one block share the prepared state, and a new block
// gets its own.
func TestPoolPreparationSeesHeaderOnly(t *testing.T) {
	e := newTestEngine(t)
	code := deploy(t, leakRule())
	fp := func(c Call) string {
		r := mustEval(t, e, code, c)
		if r.Class != ClassOK {
			t.Fatalf("%+v", r)
		}
		return fmt.Sprintf("%x", r.Output)
	}
	a, b := payCall(t, leakPlain, nil), payCall(t, leakPlain|1<<8, nil)
	if fp(a) != fp(b) {
		t.Error("the body changed what preparation left")
	}
	b.Height++
	if fp(a) == fp(b) {
		t.Error("the height did not reach preparation")
	}
}

// TestPoolPlan: modules that can change a table or drop a segment are not
// pooled (their calls still give the fresh results through a Pool), and a
// module's own mutable globals are the ones restored.
func TestPoolPlan(t *testing.T) {
	withTable := func(body ...[]byte) []byte {
		return rule(func(m *tMod) []byte {
			m.tables = append(m.tables, []byte{valFuncref, 0, 4})
			return cat(cat(body...), ret64(0, DecisionAccept))
		}).bytes()
	}
	passive := func(body ...[]byte) []byte {
		m := rule(func(m *tMod) []byte { return cat(cat(body...), ret64(0, DecisionAccept)) })
		m.datas = append(m.datas, cat([]byte{1}, appendU32(nil, 2), []byte("hi")))
		m.extraSec = append(m.extraSec, section{id: 12, payload: appendU32(nil, 1)}) // data count
		return m.bytes()
	}
	for _, c := range []struct {
		name string
		wasm []byte
		why  string
	}{
		{"table.set", withTable(i32c(0), op(0xd0, valFuncref), op(0x26, 0)), "table.set"},
		{"table.grow", withTable(op(0xd0, valFuncref), i32c(1), op(opPrefixFC, 15, 0), op(0x1a)), "table mutation"},
		{"table.fill", withTable(i32c(0), op(0xd0, valFuncref), i32c(1), op(opPrefixFC, 17, 0)), "table mutation"},
		{"data.drop", passive(op(opPrefixFC, 9, 0)), "data.drop"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code := deploy(t, c.wasm)
			e := newTestEngine(t)
			cm, err := e.compile(context.Background(), code)
			if err != nil {
				t.Fatal(err)
			}
			if cm.pool.ok || !strings.Contains(cm.pool.why, c.why) {
				t.Fatalf("plan %+v, want not pooled for %s", cm.pool, c.why)
			}
			p := e.NewPool()
			rp, err := p.Evaluate(context.Background(), code, payCall(t, 1, nil))
			if err != nil {
				t.Fatal(err)
			}
			if rf := mustEval(t, e, code, payCall(t, 1, nil)); !reflect.DeepEqual(rp, rf) || p.Idle() != 0 {
				t.Fatalf("pooled %+v (idle %d), fresh %+v", rp, p.Idle(), rf)
			}
		})
	}
	e := newTestEngine(t)
	cm, err := e.compile(context.Background(), deploy(t, leakRule()))
	if err != nil {
		t.Fatal(err)
	}
	if !cm.pool.ok || strings.Join(cm.pool.globals, ",") != "__amp_g0,__amp_g1,__amp_g2" {
		t.Fatalf("plan %+v", cm.pool)
	}
}

// TestPoolConcurrent: goroutines sharing a Pool never share an instance
// (run with -race) and all get the fresh results.
func TestPoolConcurrent(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t)
	code := deploy(t, leakRule())
	p := e.NewPool()
	want := map[int]Result{}
	for mode := range leakModes {
		want[mode] = mustEval(t, e, code, payCall(t, uint64(mode), nil))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				mode := (g + i) % leakModes
				r, err := p.Evaluate(ctx, code, payCall(t, uint64(mode), nil))
				if err != nil || !reflect.DeepEqual(r, want[mode]) {
					errs <- fmt.Errorf("goroutine %d call %d: %v %+v, want %+v", g, i, err, r, want[mode])
					return
				}
				if i == 30 && g == 0 {
					p.Reset(ctx) // instances in use are not put back
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPoolGoRule: the Go example (a runtime with many globals, _initialize
// drawing random bytes and reading clocks) gives the fresh results on a
// pooled instance when the chain allows its preparation's gas.
func TestPoolGoRule(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a 1.8 MB Go rule")
	}
	ctx := context.Background()
	e := newTestEngine(t)
	code := deploy(t, exampleWasm(t, "max-amount-go.wasm"))
	lim := DefaultLimits()
	lim.MaxGas = 100_000_000
	p := e.NewPool()
	defer p.Reset(ctx)
	for i, amount := range []uint64{10, 5_000_000, 10, 999, 5_000_001, 3} {
		c := payCall(t, amount, nil)
		c.Limits = &lim
		hp, hf := newMemHost(), newMemHost()
		cp, cf := c, c
		cp.Host, cf.Host = hp, hf
		rp, err := p.Evaluate(ctx, code, cp)
		if err != nil {
			t.Fatal(err)
		}
		rf := mustEval(t, e, code, cf)
		if !reflect.DeepEqual(rp, rf) || rf.Class != ClassOK {
			t.Fatalf("call %d: pooled %+v, fresh %+v", i, rp, rf)
		}
	}
	if p.Idle() != 1 {
		t.Fatalf("%d idle instances, want 1", p.Idle())
	}
	// The default cap is below the Go runtime's start-up: preparation fails
	// and every call takes the fresh path, with its out_of_gas.
	c := payCall(t, 10, nil)
	rp, err := p.Evaluate(ctx, code, c)
	if err != nil {
		t.Fatal(err)
	}
	if rf := mustEval(t, e, code, c); !reflect.DeepEqual(rp, rf) || rf.Class != ClassOutOfGas {
		t.Fatalf("pooled %+v, fresh %+v", rp, rf)
	}
}

// TestPoolBudget: a pool over its memory budget keeps no instance but gives
// the same results; within it, instances are kept, and the bytes it counts
// return to zero when instances are discarded or the pool is reset.
func TestPoolBudget(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t)
	code := deploy(t, leakRule())
	plain := payCall(t, leakPlain, newMemHost())
	want, err := e.Evaluate(ctx, code, plain)
	if err != nil {
		t.Fatal(err)
	}

	tight := e.NewPool()
	tight.Budget = 1
	for i := 0; i < 3; i++ {
		r, err := tight.Evaluate(ctx, code, plain)
		if err != nil || !reflect.DeepEqual(r, want) {
			t.Fatalf("over budget, call %d: %v\n%+v\nwant\n%+v", i, err, r, want)
		}
		if n := tight.Idle(); n != 0 || tight.held != 0 {
			t.Fatalf("over budget: %d idle instances, %d bytes held", n, tight.held)
		}
	}

	p := e.NewPool()
	if r, err := p.Evaluate(ctx, code, plain); err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("within budget: %v %+v", err, r)
	}
	if p.Idle() != 1 || p.held <= 0 {
		t.Fatalf("within budget: %d idle, %d bytes held", p.Idle(), p.held)
	}
	if r, err := p.Evaluate(ctx, code, payCall(t, leakTrap, newMemHost())); err != nil || r.Class != ClassTrap {
		t.Fatalf("trap: %v %+v", err, r)
	}
	if p.Idle() != 0 || p.held != 0 {
		t.Fatalf("after a discarded instance: %d idle, %d bytes held", p.Idle(), p.held)
	}
	if _, err := p.Evaluate(ctx, code, plain); err != nil {
		t.Fatal(err)
	}
	p.Reset(ctx)
	if p.Idle() != 0 || p.held != 0 {
		t.Fatalf("after reset: %d idle, %d bytes held", p.Idle(), p.held)
	}
}
