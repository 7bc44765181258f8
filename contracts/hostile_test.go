package contracts

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"testing"
	"time"
)

// Modules that pass Validate and misbehave at run time. Each must end with
// the expected class, with the same class and gas on repeated runs and on a
// second engine, without panicking, and in about the CPU time its gas buys.

type hostileCase struct {
	name  string
	want  Class
	wasm  func() []byte
	call  func(t testing.TB) Call // nil: a payment of 1 with a fresh memHost
	check func(t *testing.T, r Result)
}

func hostileCases() []hostileCase {
	accept := ret64(0, DecisionAccept)
	return []hostileCase{
		{name: "infinite loop", want: ClassOutOfGas, wasm: func() []byte {
			return rule(func(m *tMod) []byte { return cat(loop(), br(0), end(), accept) }).bytes()
		}},
		{name: "infinite _initialize", want: ClassOutOfGas, wasm: func() []byte {
			m := rule(func(m *tMod) []byte { return accept })
			m.export(ExportInitialize, kindFunc, m.fn("", "", nil, loop(), br(0), end()))
			return m.bytes()
		}},
		{name: "memory.grow bomb", want: ClassOutOfGas, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				return cat(loop(), i32c(1000), op(opMemoryGrow, 0), op(0x1a), br(0), end(), accept)
			}).bytes()
		}},
		{name: "memory.grow stops at the ceiling", want: ClassOK, wasm: func() []byte {
			// grow by 1 until it fails, then report memory.size as a query answer
			return rule(func(m *tMod) []byte {
				return cat(block(), loop(), i32c(1), op(opMemoryGrow, 0), i32c(-1), op(0x46), brIf(1), br(0), end(), end(),
					i32c(testBuf), op(opMemorySize, 0), i32store(0), ret64(4, DecisionOK))
			}).bytes()
		}, call: bigGasQuery, check: func(t *testing.T, r Result) {
			if got := binary.LittleEndian.Uint32(r.Output); got != DefaultLimits().MaxMemoryPages {
				t.Errorf("memory ended at %d pages, want the ceiling %d", got, DefaultLimits().MaxMemoryPages)
			}
		}},
		{name: "deep recursion", want: ClassLimit, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.nimp() + uint32(len(m.funcs)) // the index the next fn gets: it calls itself
				m.fn("", "", nil, call(f))
				return cat(call(f), accept)
			}).bytes()
		}, call: bigGas},
		{name: "host-call spam", want: ClassOutOfGas, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.imp(ABIVersion, "state_get", "iiii", "i")
				return cat(loop(), i32c(0), i32c(64), i32c(0), i32c(1024), call(f), op(0x1a), br(0), end(), accept)
			}).bytes()
		}},
		{name: "huge memory.fill", want: ClassOutOfGas, wasm: func() []byte {
			return rule(func(m *tMod) []byte { return cat(i32c(0), i32c(7), i32c(-1), op(opPrefixFC, 11, 0), accept) }).bytes()
		}},
		{name: "huge memory.copy", want: ClassOutOfGas, wasm: func() []byte {
			return rule(func(m *tMod) []byte { return cat(i32c(0), i32c(0), i32c(-1), op(opPrefixFC, 10, 0, 0), accept) }).bytes()
		}},
		{name: "memory.fill out of bounds", want: ClassTrap, wasm: func() []byte {
			return rule(func(m *tMod) []byte { return cat(i32c(131000), i32c(7), i32c(4096), op(opPrefixFC, 11, 0), accept) }).bytes()
		}},
		{name: "largest br_table in a loop", want: ClassOutOfGas, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				n := DefaultLimits().MaxBrTableTargets
				t := appendU32(nil, n)
				for i := uint32(0); i < n; i++ {
					t = appendU32(t, 0)
				}
				return cat(loop(), block(), i32c(5), []byte{opBrTable}, t, appendU32(nil, 0), end(), br(0), end(), accept)
			}).bytes()
		}},
		{name: "event flood", want: ClassLimit, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.imp(ABIVersion, "emit_event", "ii", "i")
				return cat(loop(), i32c(0), i32c(16), call(f), op(0x1a), br(0), end(), accept)
			}).bytes()
		}},
		{name: "oversize event", want: ClassLimit, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.imp(ABIVersion, "emit_event", "ii", "i")
				return cat(i32c(0), i32c(MaxEvent+1), call(f), op(0x1a), accept)
			}).bytes()
		}},
		{name: "output flood", want: ClassInvalidOutput, wasm: func() []byte {
			return rule(func(m *tMod) []byte { return ret64(MaxOutput+1, DecisionOK) }).bytes()
		}, call: queryCall},
		{name: "decision not valid for the entry", want: ClassInvalidOutput, wasm: func() []byte {
			return rule(func(m *tMod) []byte { return ret64(0, DecisionApproveRefund) }).bytes()
		}},
		{name: "reject message not UTF-8", want: ClassInvalidOutput, wasm: func() []byte {
			return rule(func(m *tMod) []byte { return cat(i32c(testBuf), i32c(-1), i32store(4), ret64(8, DecisionReject)) }).bytes()
		}},
		{name: "rule_buffer outside memory", want: ClassInvalidOutput, wasm: func() []byte {
			m := rule(func(m *tMod) []byte { return accept })
			m.funcs[1].body = cat(i32c(100000), end()) // rule_buffer: 100000+64 KiB > 2 pages
			return m.bytes()
		}},
		{name: "unreachable", want: ClassTrap, wasm: func() []byte {
			return rule(func(m *tMod) []byte { return op(opUnreachable) }).bytes()
		}},
		{name: "integer divide by zero", want: ClassTrap, wasm: func() []byte {
			return rule(func(m *tMod) []byte { return cat(i32c(1), lget(2), op(0x6d), op(0x1a), accept) }).bytes()
		}},
		{name: "load out of bounds", want: ClassTrap, wasm: func() []byte {
			return rule(func(m *tMod) []byte { return cat(i32c(-4), i32load(0), op(0x1a), accept) }).bytes()
		}},
		{name: "host range out of bounds", want: ClassTrap, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.imp(ABIVersion, "sha256", "iii", "")
				return cat(i32c(131000), i32c(4096), i32c(0), call(f), accept)
			}).bytes()
		}},
		{name: "state write in a query", want: ClassTrap, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.imp(ABIVersion, "state_set", "iiii", "i")
				return cat(i32c(0), i32c(1), i32c(0), i32c(1), call(f), op(0x1a), ret64(0, DecisionOK))
			}).bytes()
		}, call: queryCall},
		{name: "state key too long", want: ClassTrap, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.imp(ABIVersion, "state_set", "iiii", "i")
				return cat(i32c(0), i32c(MaxKey+1), i32c(0), i32c(1), call(f), op(0x1a), accept)
			}).bytes()
		}},
		{name: "state in _initialize", want: ClassTrap, wasm: func() []byte {
			m := rule(func(m *tMod) []byte {
				m.imp(ABIVersion, "state_get", "iiii", "i")
				return accept
			})
			m.export(ExportInitialize, kindFunc, m.fn("", "", nil, i32c(0), i32c(1), i32c(8), i32c(8), call(0), op(0x1a)))
			return m.bytes()
		}},
		{name: "unknown ctx field", want: ClassTrap, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.imp(ABIVersion, "ctx_get", "i", "I")
				return cat(i32c(99), call(f), op(0x1a), accept)
			}).bytes()
		}},
		{name: "proc_exit", want: ClassTrap, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.imp(WASIModule, "proc_exit", "i", "")
				return cat(i32c(0), call(f), accept)
			}).bytes()
		}},
		{name: "poll_oneoff (a rule that waits)", want: ClassTrap, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.imp(WASIModule, "poll_oneoff", "iiii", "i")
				return cat(i32c(0), i32c(0), i32c(1), i32c(0), call(f), op(0x1a), accept)
			}).bytes()
		}},
		{name: "abort", want: ClassAbort, wasm: func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.imp(ABIVersion, "abort", "iii", "")
				return cat(i32c(0), i32c('b'|'a'<<8|'d'<<16), i32store(0), i32c(77), i32c(0), i32c(3), call(f), accept)
			}).bytes()
		}, check: func(t *testing.T, r Result) {
			if r.AbortCode != 77 || string(r.AbortMessage) != "bad" {
				t.Errorf("abort %d %q", r.AbortCode, r.AbortMessage)
			}
		}},
		{name: "instantiation costs more than the limit", want: ClassOutOfGas, wasm: func() []byte {
			return rule(func(m *tMod) []byte { m.memory(200); return accept }).bytes()
		}, call: func(t testing.TB) Call {
			c := payCall(t, 1, newMemHost())
			c.GasLimit = 50_000
			return c
		}},
		{name: "NaN payloads", want: ClassOK, wasm: nanRule, call: queryCall, check: func(t *testing.T, r Result) {
			if len(r.Output) != 40 {
				t.Fatalf("output %x", r.Output)
			}
			for i := 0; i < 5; i++ {
				v := binary.LittleEndian.Uint64(r.Output[i*8:])
				if !math.IsNaN(math.Float64frombits(v)) && i < 4 {
					t.Errorf("value %d = %#x is not a NaN", i, v)
				}
			}
			t.Logf("NaN bits: %x", r.Output)
		}},
	}
}

func bigGas(t testing.TB) Call {
	c := payCall(t, 1, newMemHost())
	lim := DefaultLimits()
	lim.MaxGas = 100_000_000
	c.Limits = &lim
	return c
}

func bigGasQuery(t testing.TB) Call {
	c := bigGas(t)
	c.Entry, c.Body = EntryQuery, []byte("q")
	return c
}

func queryCall(t testing.TB) Call {
	return Call{Entry: EntryQuery, Height: 1, Time: 1, Body: []byte("q"), Host: newMemHost()}
}

// nanRule answers a query with the bits of NaNs made in different ways:
// 0/0, sqrt(-1), a signalling-NaN payload through f64.add, a payload through
// f32.demote/f64.promote, and the copysign of a NaN.
func nanRule() []byte {
	return rule(func(m *tMod) []byte {
		st := func(off uint32, expr []byte) []byte {
			return cat(i32c(testBuf), expr, op(0xbd), i64store(off)) // i64.reinterpret_f64
		}
		return cat(
			st(0, cat(f64c(0), f64c(0), op(0xa3))),
			st(8, cat(f64c(-1), op(0x9f))),
			st(16, cat(f64bits(0x7ff0_0000_0000_0001), f64c(1), op(0xa0))),
			st(24, cat(f64bits(0x7ff4_0000_dead_beef), op(0xb6), op(0xbb))), // f32.demote_f64, f64.promote_f32
			st(32, cat(f64bits(0xfff8_0000_0000_0000), f64c(1), op(0xa6))),  // f64.copysign
			ret64(40, DecisionOK),
		)
	}).bytes()
}

func TestHostile(t *testing.T) {
	ctx := context.Background()
	e1, e2 := newTestEngine(t), newTestEngine(t)
	budget := time.Duration(float64(time.Millisecond) * float64(DefaultMaxGas) / 3e6) // ≈ 1 ms at the default cap
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			wasm := c.wasm()
			code := deploy(t, wasm)
			mk := c.call
			if mk == nil {
				mk = func(t testing.TB) Call { return payCall(t, 1, newMemHost()) }
			}
			if err := e1.Compile(ctx, code); err != nil {
				t.Fatal(err)
			}
			var first Result
			var best time.Duration = 1 << 62
			for i, e := range []*Engine{e1, e1, e2} {
				cl := mk(t)
				start := time.Now()
				r, err := e.Evaluate(ctx, code, cl)
				d := time.Since(start)
				if err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
				if i == 0 {
					first = r
					if r.Class != c.want {
						t.Fatalf("class %v, want %v (%+v)", r.Class, c.want, r)
					}
					if c.check != nil {
						c.check(t, r)
					}
				} else if fmt.Sprint(r) != fmt.Sprint(first) {
					t.Fatalf("run %d differs:\n%+v\n%+v", i, r, first)
				}
				if i > 0 { // run 0 may include lazy setup
					best = min(best, d)
				}
			}
			cl := mk(t)
			lim := cl.limits()
			gasLimit := cl.gasLimit(&lim)
			allowed := time.Duration(float64(budget) * float64(gasLimit) / float64(DefaultMaxGas))
			t.Logf("%-12v gas %9d  %v (budget for %d gas ≈ %v)", first.Class, first.GasUsed, best, gasLimit, allowed)
			// Generous: the machine is shared; this catches orders of magnitude.
			if best > 20*allowed+5*time.Millisecond {
				t.Errorf("took %v, budget ≈ %v", best, allowed)
			}
		})
	}
}

// Validate refuses data segments beyond the initial memory; if one is run
// anyway (a rule deployed under an older check), instantiation fails as a
// trap and its memory is released, however often it is tried.
func TestDataSegmentOutsideMemoryAtRunTime(t *testing.T) {
	m := rule(func(m *tMod) []byte { return ret64(0, DecisionAccept) })
	m.datas = append(m.datas, cat([]byte{0}, i32c(200000), end(), appendU32(nil, 4), []byte("boom")))
	out, err := Instrument(m.bytes(), DefaultGasSchedule())
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t)
	code := NewCode(out)
	for i := 0; i < 200; i++ {
		if r := mustEval(t, e, code, payCall(t, 1, nil)); r.Class != ClassTrap {
			t.Fatalf("%+v", r)
		}
	}
	if n := pooledRegions(); n == 0 {
		t.Errorf("failed instantiations did not return their memory to the pool")
	}
}
