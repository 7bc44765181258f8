package contracts

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Features is what rules may use: WebAssembly 2.0 without SIMD. wazero's
// experimental features (threads, tail calls, exceptions) are off unless
// asked for, and the parser refuses their encodings anyway.
const Features = api.CoreFeaturesV2 &^ api.CoreFeatureSIMD

// Validate checks a module against the rules ABI and the limits before it is
// stored. It returns every problem it can find (an empty slice means the
// module may be deployed); structural problems stop the checks early, and
// the costly WebAssembly validation by wazero only runs when nothing cheaper
// has failed. The result depends only on code and lim, so every validator
// reaches the same verdict; Problem.Code may enter consensus, Message not.
func Validate(code []byte, lim Limits) []Problem {
	if uint64(len(code)) > uint64(lim.MaxCodeBytes) {
		return []Problem{problemf(ProblemSize, "module is %d bytes, limit %d", len(code), lim.MaxCodeBytes)}
	}
	m, err := parseModule(code)
	if err != nil {
		return []Problem{problemOf(err)}
	}
	var ps []Problem
	add := func(p Problem) { ps = append(ps, p) }

	if m.hasStart {
		add(problemf(ProblemStart, "start section is not allowed; export _initialize instead"))
	}
	checkImports(m, add)
	checkExports(m, add)
	if m.numFuncs() > uint64(lim.MaxFunctions) {
		add(problemf(ProblemFunctions, "%d functions, limit %d", m.numFuncs(), lim.MaxFunctions))
	}
	switch {
	case len(m.mems) == 0:
		add(problemf(ProblemMemory, "the module defines no memory"))
	case m.mems[0].min > lim.MaxMemoryPages:
		add(problemf(ProblemMemory, "initial memory %d pages, limit %d", m.mems[0].min, lim.MaxMemoryPages))
	default:
		size := uint64(m.mems[0].min) * 65536
		for _, d := range m.activeData {
			if uint64(d.offset)+uint64(d.length) > size {
				add(problemf(ProblemMemory, "data segment at %d+%d lies beyond the initial memory (%d bytes)", d.offset, d.length, size))
				break
			}
		}
	}
	var elems uint64
	for _, t := range m.tables {
		elems += uint64(t.min)
	}
	if elems > uint64(lim.MaxTableSize) {
		add(problemf(ProblemTable, "tables hold %d initial elements, limit %d", elems, lim.MaxTableSize))
	}
	checkBodies(m, lim, add)
	if len(ps) > 0 {
		return ps
	}
	if err := wazeroValidate(code); err != nil {
		return []Problem{problemf(ProblemInvalid, "%v", err)}
	}
	return nil
}

func problemOf(err error) Problem {
	if me, ok := err.(*moduleError); ok {
		return me.p
	}
	return problemf(ProblemParse, "%v", err)
}

func checkImports(m *module, add func(Problem)) {
	if m.numOtherImport > 0 {
		add(problemf(ProblemImport, "only functions may be imported (memory, tables and globals are the rule's own)"))
	}
	for _, im := range m.imports {
		if im.kind != kindFunc {
			continue
		}
		if strings.HasPrefix(im.module, MeterPrefix) || strings.HasPrefix(im.name, MeterPrefix) {
			add(problemf(ProblemMeter, "import %s.%s uses the reserved prefix %s", im.module, im.name, MeterPrefix))
			continue
		}
		var want sig
		var ok bool
		switch im.module {
		case ABIVersion:
			want, ok = hostSigs[im.name]
		case WASIModule:
			want, ok = wasiSigs[im.name]
		}
		if !ok {
			add(problemf(ProblemImport, "import %s.%s is not provided", im.module, im.name))
			continue
		}
		if uint64(im.typeIdx) >= uint64(len(m.types)) {
			add(problemf(ProblemParse, "import %s.%s has unknown type %d", im.module, im.name, im.typeIdx))
			continue
		}
		if got := sigOf(m.types[im.typeIdx]); got != want {
			add(problemf(ProblemImport, "import %s.%s has signature %v, want %v", im.module, im.name, got, want))
		}
	}
}

func checkExports(m *module, add func(Problem)) {
	byName := make(map[string]exportEntry, len(m.exports))
	for _, e := range m.exports {
		if strings.HasPrefix(e.name, MeterPrefix) {
			add(problemf(ProblemMeter, "export %q uses the reserved prefix %s", e.name, MeterPrefix))
		}
		byName[e.name] = e
	}
	if e, ok := byName[ExportMemory]; !ok {
		add(problemf(ProblemExport, "missing export %q", ExportMemory))
	} else if e.kind != kindMemory {
		add(problemf(ProblemExport, "export %q is not a memory", ExportMemory))
	}
	want := requiredExports
	opt := []struct {
		name string
		sig  sig
	}{{ExportInitialize, sig{"", ""}}}
	for i, list := range [][]struct {
		name string
		sig  sig
	}{want, opt} {
		for _, w := range list {
			e, ok := byName[w.name]
			if !ok {
				if i == 0 {
					add(problemf(ProblemExport, "missing export %q", w.name))
				}
				continue
			}
			if e.kind != kindFunc {
				add(problemf(ProblemExport, "export %q is not a function", w.name))
				continue
			}
			ft, ok := m.funcTypeOf(e.index)
			if !ok {
				add(problemf(ProblemParse, "export %q names unknown function %d", w.name, e.index))
				continue
			}
			if got := sigOf(ft); got != w.sig {
				add(problemf(ProblemSignature, "export %q has signature %v, want %v", w.name, got, w.sig))
			}
		}
	}
}

func checkBodies(m *module, lim Limits, add func(Problem)) {
	var buf []instr
	for i := range m.bodies {
		b := &m.bodies[i]
		idx := m.numFuncImports + uint32(i)
		if b.size > int(lim.MaxFunctionBodyBytes) {
			add(problemf(ProblemBodySize, "function %d body is %d bytes, limit %d", idx, b.size, lim.MaxFunctionBodyBytes))
			continue
		}
		ft, ok := m.funcTypeOf(idx)
		if !ok {
			add(problemf(ProblemParse, "function %d has unknown type", idx))
			continue
		}
		locals := uint64(len(ft.params)) + b.numLocals
		if locals > uint64(lim.MaxLocals) {
			add(problemf(ProblemLocals, "function %d has %d params+locals, limit %d", idx, locals, lim.MaxLocals))
			continue
		}
		var err error
		buf, err = decodeInstrs(b.expr, buf[:0], locals, m.numGlobals)
		if err != nil {
			p := problemOf(err)
			p.Message = fmt.Sprintf("function %d: %s", idx, p.Message)
			add(p)
			continue
		}
		for k := range buf {
			if buf[k].op == opBrTable && buf[k].imm > lim.MaxBrTableTargets {
				add(problemf(ProblemBrTable, "function %d: br_table with %d targets, limit %d", idx, buf[k].imm, lim.MaxBrTableTargets))
				break
			}
		}
	}
}

// validator is a wazero runtime used only to run WebAssembly validation. The
// interpreter is used because its compile step is much cheaper than the
// compiler's and validation is identical in both.
var validator struct {
	once sync.Once
	rt   wazero.Runtime
}

func wazeroValidate(code []byte) error {
	validator.once.Do(func() {
		cfg := wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(Features)
		validator.rt = wazero.NewRuntimeWithConfig(context.Background(), cfg)
	})
	ctx := context.Background()
	cm, err := validator.rt.CompileModule(ctx, code)
	if err != nil {
		return err
	}
	return cm.Close(ctx)
}
