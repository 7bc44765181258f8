package contracts

import (
	"strconv"
	"strings"
)

// What the engine learns about a metered module when it compiles it, so that
// a Pool can reset an instance to the state it had right after preparation.
//
// The WebAssembly state a module instance can change by running is, by the
// spec: its memories (contents and size), its mutable globals, its tables
// (contents and size) and the dropped flags of its passive data and element
// segments. Rules have exactly one memory, imports of anything but functions
// are refused, and host functions only ever touch linear memory, so that
// list is complete for a rule. A Pool restores memory contents from a
// snapshot, discards an instance whose memory grew, and restores every
// mutable global. It cannot observe or restore tables and dropped segments,
// so modules that contain an instruction able to change them (table.set,
// table.grow, table.fill, table.copy, table.init, elem.drop, data.drop) are
// never pooled: those take the fresh-instance path, which gives the same
// results, only slower. Nor are modules with a mutable reference-typed global
// (its value is an engine pointer that the host API cannot restore).

// poolGlobalPrefix names the exports the engine adds, node-locally, for each
// of a module's own mutable globals (MeterPrefix is refused in uploaded
// modules, so the names cannot clash).
const poolGlobalPrefix = MeterPrefix + "g"

// poolPlan says whether instances of a module may be pooled and which
// globals a reset must restore.
type poolPlan struct {
	ok      bool
	why     string   // why not, for tests and diagnostics
	globals []string // exports of the module's own mutable globals
}

// planPool analyses a metered module and returns the bytes to compile: the
// same module with every mutable global of its own exported under
// poolGlobalPrefix<index>. Adding exports changes neither execution nor gas
// (gas comes from the injected code, and instantiation is priced on the
// stored metered bytes, not on these), so this rewrite is node-local like
// the compilation itself. If the module cannot be analysed it is compiled
// unchanged and not pooled.
func planPool(wasm []byte) ([]byte, poolPlan) {
	m, err := parseModule(wasm)
	if err != nil {
		return wasm, poolPlan{why: "parse: " + err.Error()}
	}
	if why := m.mutatesTablesOrSegments(); why != "" {
		return wasm, poolPlan{why: why}
	}
	meter := map[uint32]bool{}
	for _, e := range m.exports {
		if e.kind == kindGlobal && strings.HasPrefix(e.name, MeterPrefix) {
			meter[e.index] = true
		}
	}
	var plan poolPlan
	var add []byte
	n := uint32(0)
	for i, g := range m.globalTypes {
		if !g.mutable || meter[uint32(i)] {
			continue
		}
		if g.val == valFuncref || g.val == valExternref {
			return wasm, poolPlan{why: "mutable reference global " + strconv.Itoa(i)}
		}
		name := poolGlobalPrefix + strconv.Itoa(i)
		plan.globals = append(plan.globals, name)
		add = appendName(add, name)
		add = append(add, kindGlobal)
		add = appendU32(add, uint32(i))
		n++
	}
	plan.ok = true
	if n == 0 {
		return wasm, plan
	}
	out := make([]byte, 0, len(wasm)+len(add)+16)
	out = append(out, wasm[:8]...)
	done := false
	for _, sec := range m.sections {
		if sec.id == secExport {
			p := appendU32(nil, uint32(len(m.exports))+n)
			p = append(p, m.exportsRaw...)
			p = append(p, add...)
			out = appendSection(out, secExport, p)
			done = true
			continue
		}
		out = appendSection(out, sec.id, sec.payload)
	}
	if !done {
		// Instrumented modules always export their meter.
		return wasm, poolPlan{why: "no export section"}
	}
	return out, plan
}

// mutatesTablesOrSegments names the first instruction that can change a
// table or drop a segment, or returns "".
func (m *module) mutatesTablesOrSegments() string {
	var buf []instr
	for i := range m.bodies {
		b := &m.bodies[i]
		ft, ok := m.funcTypeOf(m.numFuncImports + uint32(i))
		if !ok {
			return "function of unknown type"
		}
		var err error
		buf, err = decodeInstrs(b.expr, buf[:0], uint64(len(ft.params))+b.numLocals, m.numGlobals)
		if err != nil {
			return "decode: " + err.Error()
		}
		for k := range buf {
			x := &buf[k]
			if x.op == 0x26 {
				return "table.set"
			}
			if x.op != opPrefixFC {
				continue
			}
			switch x.sub {
			case 9:
				return "data.drop"
			case 13:
				return "elem.drop"
			case fcTableInit, fcTableCopy, fcTableGrow, fcTableFill:
				return "table mutation (0xfc " + strconv.Itoa(int(x.sub)) + ")"
			}
		}
	}
	return ""
}
