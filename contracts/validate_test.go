package contracts

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Modules Validate must refuse, each with the problem code it must carry.
func rejectCases() []struct {
	name string
	want ProblemCode
	wasm func() []byte
} {
	accept := func(m *tMod) []byte { return ret64(0, DecisionAccept) }
	return []struct {
		name string
		want ProblemCode
		wasm func() []byte
	}{
		{"oversize module", ProblemSize, func() []byte {
			m := rule(accept)
			m.customs = append(m.customs, append(appendName(nil, "junk"), bytes.Repeat([]byte{1}, 5<<20)...))
			return m.bytes()
		}},
		{"not wasm", ProblemParse, func() []byte { return []byte("\x00asm\x01\x00\x00\x00\x01\xff\xff\xff\xff\x0f") }},
		{"truncated", ProblemParse, func() []byte { b := rule(accept).bytes(); return b[:len(b)-3] }},
		{"component binary", ProblemFeature, func() []byte { return []byte("\x00asm\x0d\x00\x01\x00") }},
		{"huge initial memory", ProblemMemory, func() []byte {
			return rule(func(m *tMod) []byte { m.memory(60000); return ret64(0, DecisionAccept) }).bytes()
		}},
		{"no memory", ProblemMemory, func() []byte {
			m := &tMod{}
			m.export(ABIMarker, kindFunc, m.fn("", "", nil))
			m.export(ExportBuffer, kindFunc, m.fn("", "i", nil, i32c(0)))
			m.export(ExportEvaluate, kindFunc, m.fn("ii", "I", nil, i64c(0)))
			return m.bytes()
		}},
		{"50k locals", ProblemLocals, func() []byte {
			return rule(func(m *tMod) []byte {
				m.fn("", "", []localGroup{{50000, valI64}})
				return ret64(0, DecisionAccept)
			}).bytes()
		}},
		{"2^32 locals", ProblemLocals, func() []byte {
			return rule(func(m *tMod) []byte {
				m.fn("", "", []localGroup{{1<<32 - 1, valI64}, {1<<32 - 1, valI32}})
				return ret64(0, DecisionAccept)
			}).bytes()
		}},
		{"giant function", ProblemBodySize, func() []byte {
			return rule(func(m *tMod) []byte {
				m.fn("", "", nil, bytes.Repeat([]byte{0x01}, 1_000_000)) // 1M nops
				return ret64(0, DecisionAccept)
			}).bytes()
		}},
		{"start section (infinite start function)", ProblemStart, func() []byte {
			m := rule(accept)
			f := m.fn("", "", nil, loop(), br(0), end())
			m.start = &f
			return m.bytes()
		}},
		{"shared memory (threads)", ProblemFeature, func() []byte {
			return rule(func(m *tMod) []byte { m.mems = [][]byte{{0x03, 1, 1}}; return ret64(0, DecisionAccept) }).bytes()
		}},
		{"atomics (threads)", ProblemFeature, func() []byte {
			return rule(func(m *tMod) []byte { return cat(i32c(0), op(0xfe, 0x10, 2, 0), op(0x1a), ret64(0, DecisionAccept)) }).bytes()
		}},
		{"tail call", ProblemFeature, func() []byte {
			return rule(func(m *tMod) []byte {
				f := m.fn("", "I", nil, i64c(0))
				return u32op(0x12, f)
			}).bytes()
		}},
		{"multi-memory", ProblemFeature, func() []byte {
			return rule(func(m *tMod) []byte { m.memory(1); m.memory(1); return ret64(0, DecisionAccept) }).bytes()
		}},
		{"memory64", ProblemFeature, func() []byte {
			return rule(func(m *tMod) []byte { m.mems = [][]byte{{0x04, 1}}; return ret64(0, DecisionAccept) }).bytes()
		}},
		{"SIMD local", ProblemFeature, func() []byte {
			return rule(func(m *tMod) []byte { m.fn("", "", []localGroup{{1, valV128}}); return ret64(0, DecisionAccept) }).bytes()
		}},
		{"SIMD opcode", ProblemFeature, func() []byte {
			return rule(func(m *tMod) []byte { return cat(op(0xfd, 0x0c), make([]byte, 16), op(0x1a), ret64(0, DecisionAccept)) }).bytes()
		}},
		{"exceptions (tag section)", ProblemFeature, func() []byte {
			m := rule(accept)
			m.extraSec = nil
			b := m.bytes()
			// splice a tag section right after the memory section: rebuild with it
			mod, _ := parseModule(b)
			out := []byte("\x00asm\x01\x00\x00\x00")
			for _, s := range mod.sections {
				out = appendSection(out, s.id, s.payload)
				if s.id == secMemory {
					out = appendSection(out, secTag, []byte{1, 0, 0})
				}
			}
			return out
		}},
		{"huge br_table", ProblemBrTable, func() []byte {
			return rule(func(m *tMod) []byte {
				t := appendU32(nil, 100000)
				for i := 0; i < 100000; i++ {
					t = appendU32(t, 0)
				}
				return cat(block(), i32c(0), []byte{opBrTable}, t, appendU32(nil, 0), end(), ret64(0, DecisionAccept))
			}).bytes()
		}},
		{"too many functions", ProblemFunctions, func() []byte {
			return rule(func(m *tMod) []byte {
				for i := 0; i < 17000; i++ {
					m.fn("", "", nil)
				}
				return ret64(0, DecisionAccept)
			}).bytes()
		}},
		{"huge table", ProblemTable, func() []byte {
			return rule(func(m *tMod) []byte {
				m.tables = append(m.tables, append([]byte{valFuncref, 0}, appendU32(nil, 1_000_000)...))
				return ret64(0, DecisionAccept)
			}).bytes()
		}},
		{"import not provided", ProblemImport, func() []byte {
			return rule(func(m *tMod) []byte { m.imp("env", "now", "", "I"); return ret64(0, DecisionAccept) }).bytes()
		}},
		{"WASI import outside the subset", ProblemImport, func() []byte {
			return rule(func(m *tMod) []byte {
				m.imp(WASIModule, "path_open", "iiiiiIIii", "i")
				return ret64(0, DecisionAccept)
			}).bytes()
		}},
		{"host import with wrong signature", ProblemImport, func() []byte {
			return rule(func(m *tMod) []byte { m.imp(ABIVersion, "state_get", "ii", "i"); return ret64(0, DecisionAccept) }).bytes()
		}},
		{"imported memory", ProblemImport, func() []byte {
			m := rule(accept)
			m.imports = append(m.imports, importEntry{module: "env", name: "memory", kind: kindMemory})
			return m.bytes()
		}},
		{"missing evaluate", ProblemExport, func() []byte {
			m := rule(accept)
			m.exports = m.exports[:len(m.exports)-1]
			return m.bytes()
		}},
		{"missing marker", ProblemExport, func() []byte {
			m := rule(accept)
			m.exports = append(m.exports[:1], m.exports[2:]...)
			return m.bytes()
		}},
		{"evaluate with wrong signature", ProblemSignature, func() []byte {
			m := rule(accept)
			m.exports[len(m.exports)-1].index = m.fn("i", "i", nil, lget(0))
			return m.bytes()
		}},
		{"_initialize with wrong signature", ProblemSignature, func() []byte {
			m := rule(accept)
			m.export(ExportInitialize, kindFunc, m.fn("", "i", nil, i32c(0)))
			return m.bytes()
		}},
		{"exports the meter's name", ProblemMeter, func() []byte {
			m := rule(accept)
			m.globals = append(m.globals, cat([]byte{valI64, 1}, i64c(1<<62), end()))
			m.export("__amp_gas", kindGlobal, 0)
			return m.bytes()
		}},
		{"imports from the meter's namespace", ProblemMeter, func() []byte {
			return rule(func(m *tMod) []byte { m.imp("__amp_meter", "gas", "", "I"); return ret64(0, DecisionAccept) }).bytes()
		}},
		{"writes the meter's global index", ProblemMeter, func() []byte {
			// no globals of its own: index 0 is where Instrument puts the gas
			return rule(func(m *tMod) []byte { return cat(i64c(1<<62), gset(0), ret64(0, DecisionAccept)) }).bytes()
		}},
		{"reads the meter from a global initialiser", ProblemMeter, func() []byte {
			m := rule(accept)
			m.globals = append(m.globals, cat([]byte{valI64, 0}, gget(1), end()))
			return m.bytes()
		}},
		{"data segment outside the initial memory", ProblemMemory, func() []byte {
			m := rule(accept)
			m.datas = append(m.datas, cat([]byte{0}, i32c(200000), end(), appendU32(nil, 4), []byte("boom")))
			return m.bytes()
		}},
		{"type error", ProblemInvalid, func() []byte {
			return rule(func(m *tMod) []byte { return cat(i32c(1), op(opReturn)) }).bytes()
		}},
	}
}

func TestValidateRejects(t *testing.T) {
	for _, c := range rejectCases() {
		t.Run(c.name, func(t *testing.T) {
			wasm := c.wasm()
			start := time.Now()
			ps := Validate(wasm, DefaultLimits())
			d := time.Since(start)
			if len(ps) == 0 {
				t.Fatalf("accepted")
			}
			found := false
			for _, p := range ps {
				found = found || p.Code == c.want
			}
			if !found {
				t.Fatalf("problems %v, want code %s", ps, c.want)
			}
			// Instrument must refuse, or produce nothing the engine would run
			// unvalidated: the meter cases and the structural ones fail there too.
			if _, err := Instrument(wasm, DefaultGasSchedule()); err == nil {
				switch c.want {
				case ProblemSize, ProblemMemory, ProblemLocals, ProblemBodySize, ProblemFunctions,
					ProblemTable, ProblemBrTable, ProblemExport, ProblemSignature, ProblemInvalid, ProblemImport:
					// limits and ABI checks are Validate's job
				default:
					t.Errorf("Instrument accepted a module Validate refuses with %s", c.want)
				}
			}
			msg := ps[0].String()
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
			t.Logf("%s in %v (%d bytes)", strings.ReplaceAll(msg, "\n", " "), d, len(wasm))
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	for name, wasm := range map[string][]byte{"max-amount": maxAmountRule(), "counter": counterRule()} {
		if ps := Validate(wasm, DefaultLimits()); len(ps) > 0 {
			t.Errorf("%s: %v", name, ps)
		}
	}
}

func TestInstrumentDeterministic(t *testing.T) {
	for _, w := range gasWorkloads() {
		a, err := Instrument(w.wasm(), DefaultGasSchedule())
		if err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		b, _ := Instrument(w.wasm(), DefaultGasSchedule())
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: instrumentation differs between runs", w.name)
		}
		// The output is valid WebAssembly the ABI checks still accept
		// (apart from the reserved names it adds).
		if err := wazeroValidate(a); err != nil {
			t.Fatalf("%s: instrumented module invalid: %v", w.name, err)
		}
	}
}
