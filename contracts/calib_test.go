package contracts

import (
	"context"
	"testing"
	"time"
)

// Workloads that burn gas as fast (in wall time) as different instruction
// mixes allow. BenchmarkGasRate runs each to out_of_gas and reports ns per
// gas (best of b.N runs, so that a shared machine's noise inflates less);
// the slowest one sets DefaultMaxGas (≈ 1 ms of CPU).

type workload struct {
	name string
	wasm func() []byte
}

func loopRule(setup func(m *tMod) []byte) []byte {
	return rule(func(m *tMod) []byte {
		inner := setup(m)
		return cat(loop(), inner, br(0), end(), ret64(0, DecisionAccept))
	}).bytes()
}

func gasWorkloads() []workload {
	return []workload{
		{"empty_loop", func() []byte { return loopRule(func(*tMod) []byte { return nil }) }},
		{"arith_loop", func() []byte {
			return loopRule(func(*tMod) []byte {
				return cat(lget(2), i32c(1), op(opI32Add), lset(2), lget(3), lget(2), op(0x6c), lset(3)) // add, mul
			})
		}},
		{"memory_loop", func() []byte {
			return loopRule(func(*tMod) []byte {
				return cat(lget(2), i32c(4), op(opI32Add), i32c(0xffff), op(0x71), ltee(2), lget(2), i32load(0), i32store(4096))
			})
		}},
		{"div_loop", func() []byte {
			return loopRule(func(*tMod) []byte {
				return cat(lget(2), i32c(7), op(opI32Add), ltee(2), i32c(3), op(0x6e), lset(3), i64c(1<<40), lget(6), i64c(7), op(opI64Add), ltee(6), op(0x80), lset(7))
			})
		}},
		{"float_loop", func() []byte {
			return loopRule(func(*tMod) []byte {
				return cat(f64c(2.5), f64c(1.1), op(0xa3), op(0x9f), op(0x1a)) // f64.div, f64.sqrt
			})
		}},
		{"call_loop", func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.fn("", "", nil)
				return cat(loop(), call(f), br(0), end(), ret64(0, DecisionAccept))
			}).bytes()
		}},
		{"call_indirect_loop", func() []byte {
			m := rule(func(m *tMod) []byte {
				f := m.fn("", "", nil)
				m.tables = append(m.tables, []byte{valFuncref, 0, 1})
				m.elems = append(m.elems, cat([]byte{0}, i32c(0), end(), appendU32(nil, 1), appendU32(nil, f)))
				return cat(loop(), i32c(0), u32op(opCallIndirect, m.typ("", "")), []byte{0}, br(0), end(), ret64(0, DecisionAccept))
			})
			return m.bytes()
		}},
		{"locals_call_loop", func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.fn("", "", []localGroup{{4000, valI64}})
				return cat(loop(), call(f), br(0), end(), ret64(0, DecisionAccept))
			}).bytes()
		}},
		{"br_table_loop", func() []byte {
			return loopRule(func(*tMod) []byte {
				targets := appendU32(nil, 16000)
				for i := 0; i < 16000; i++ {
					targets = appendU32(targets, 0)
				}
				return cat(block(), lget(2), []byte{opBrTable}, targets, appendU32(nil, 0), end())
			})
		}},
		{"memory_fill_64k", func() []byte {
			return loopRule(func(*tMod) []byte {
				return cat(i32c(0), i32c(0), i32c(65536), op(opPrefixFC, 11, 0))
			})
		}},
		{"memory_copy_64k", func() []byte {
			return loopRule(func(*tMod) []byte {
				return cat(i32c(0), i32c(65536), i32c(65536), op(opPrefixFC, 10, 0, 0))
			})
		}},
		{"memory_grow", func() []byte {
			return loopRule(func(*tMod) []byte {
				return cat(i32c(1), op(opMemoryGrow, 0), op(0x1a))
			})
		}},
		{"memory_grow_touch", func() []byte { // one page at a time up to the ceiling, touching every 4 KiB
			return rule(func(*tMod) []byte {
				return cat(block(), loop(),
					i32c(1), op(opMemoryGrow, 0), ltee(2), i32c(-1), op(0x46), brIf(1),
					lget(2), i32c(16), op(0x74), lset(3), i32c(0), lset(4), // base = page << 16
					loop(),
					lget(3), lget(4), op(opI32Add), i32c(1), i32store(0),
					lget(4), i32c(4096), op(opI32Add), ltee(4), i32c(65536), op(0x49), brIf(0), // i32.lt_u
					end(),
					br(0), end(), end(), ret64(0, DecisionAccept))
			}).bytes()
		}},
		{"memory_grow_once", func() []byte {
			return rule(func(*tMod) []byte {
				return cat(i32c(500), op(opMemoryGrow, 0), op(0x1a), ret64(0, DecisionAccept))
			}).bytes()
		}},
		{"ctx_get_spam", func() []byte {
			return loopRule(func(m *tMod) []byte {
				f := m.imp(ABIVersion, "ctx_get", "i", "I")
				return cat(i32c(1), call(f), op(0x1a))
			})
		}},
		{"state_get_spam", func() []byte {
			return loopRule(func(m *tMod) []byte {
				f := m.imp(ABIVersion, "state_get", "iiii", "i")
				return cat(i32c(0), i32c(64), i32c(100), i32c(1024), call(f), op(0x1a))
			})
		}},
		{"state_set_spam", func() []byte {
			return loopRule(func(m *tMod) []byte {
				f := m.imp(ABIVersion, "state_set", "iiii", "i")
				return cat(i32c(0), i32c(64), i32c(100), i32c(1024), call(f), op(0x1a))
			})
		}},
		{"sha256_spam", func() []byte {
			return loopRule(func(m *tMod) []byte {
				f := m.imp(ABIVersion, "sha256", "iii", "")
				return cat(i32c(0), i32c(65536), i32c(0), call(f))
			})
		}},
		{"random_get_spam", func() []byte {
			return loopRule(func(m *tMod) []byte {
				f := m.imp(WASIModule, "random_get", "ii", "i")
				return cat(i32c(0), i32c(65536), call(f), op(0x1a))
			})
		}},
		{"fd_write_spam", func() []byte {
			return loopRule(func(m *tMod) []byte {
				f := m.imp(WASIModule, "fd_write", "iiii", "i")
				// one iovec at 0: {ptr 0, len 65536}
				return cat(i32c(0), i32c(0), i32store(0), i32c(0), i32c(65536), i32store(4),
					i32c(1), i32c(0), i32c(1), i32c(16), call(f), op(0x1a))
			})
		}},
	}
}

func BenchmarkGasRate(b *testing.B) {
	e := newTestEngine(b)
	h := newMemHost()
	const gas = DefaultMaxGas
	lim := DefaultLimits()
	lim.MaxGas = gas
	for _, w := range gasWorkloads() {
		b.Run(w.name, func(b *testing.B) {
			code := deploy(b, w.wasm())
			c := payCall(b, 1, h)
			c.Limits = &lim
			if err := e.Compile(context.Background(), code); err != nil {
				b.Fatal(err)
			}
			best := time.Duration(1 << 62)
			var used uint64
			for i := 0; i < b.N; i++ {
				start := time.Now()
				r := mustEval(b, e, code, c)
				d := time.Since(start)
				if r.Class != ClassOutOfGas && r.Class != ClassOK {
					b.Fatalf("class %v", r.Class)
				}
				best, used = min(best, d), r.GasUsed
			}
			b.ReportMetric(float64(used), "gas")
			b.ReportMetric(float64(best.Nanoseconds())/float64(used), "ns/gas")
			b.ReportMetric(float64(best.Nanoseconds())/float64(used)*float64(DefaultMaxGas)/1e6, "ms/cap")
		})
	}
}
