package contracts

// ctx_get without leaving the guest.
//
// Every host call leaves wazero's compiled code for Go and comes back: about
// 50 ns on this class of machine, more than all the work most rules do. Of
// the host functions, ctx_get needs nothing from Go that is not known before
// the call starts — the height, the block time and the rule version are
// fixed for an evaluation — so the engine gives compiled rules a WebAssembly
// version of it: node-locally, like the compilation itself, it appends to the
// metered module
//
//   - four mutable i64 globals, exported under MeterPrefix names (refused in
//     uploaded modules, so they cannot clash): the three context values and
//     the host-call price, written by the host before any guest code runs
//     (Instance.arm);
//   - one function with ctx_get's signature that charges the price against
//     the gas meter exactly as the Go function does (gas < price: the meter
//     is left at -1 and the guest traps, which the engine classifies as
//     out_of_gas; otherwise gas -= price) and returns the field, trapping on
//     an unknown field (class trap, like the Go function);
//
// and points every direct call of the ctx_get import at that function. The
// import stays (indices do not move) and still answers calls that reach it
// through a table. Results, gas and classes are identical to the host
// function's — TestInlineCtxMatchesHost compares the two on the same calls —
// and the stored metered code, its hash and instantiation price are
// unchanged, so this changes speed only.

const (
	exportCtxHeight  = MeterPrefix + "ctx_height"
	exportCtxTime    = MeterPrefix + "ctx_time"
	exportCtxVersion = MeterPrefix + "ctx_rule_version"
	exportCtxPrice   = MeterPrefix + "ctx_price"
)

// inlineCtx returns wasm with ctx_get inlined as described above, or wasm
// itself and false when the module does not import ctx_get directly or
// cannot be rewritten (it then keeps the host function: same results).
func inlineCtx(wasm []byte) ([]byte, bool) {
	m, err := parseModule(wasm)
	if err != nil {
		return wasm, false
	}
	imp, ok := m.ctxGetImport()
	if !ok {
		return wasm, false
	}
	gas, ok := m.exportedGlobal(exportGas)
	if !ok {
		return wasm, false
	}
	g := m.numGlobals // height, time, version, price
	fn := m.numFuncImports + uint32(len(m.funcs))

	code, redirected, err := m.redirectCalls(imp, fn)
	if err != nil || !redirected {
		return wasm, false
	}
	code = appendCtxGetBody(code, gas, g)

	funcs := appendU32(nil, uint32(len(m.funcs))+1)
	for _, t := range m.funcs {
		funcs = appendU32(funcs, t)
	}
	funcs = appendU32(funcs, m.importFuncTypes[imp])

	globals := appendU32(nil, m.numGlobals+4)
	globals = append(globals, m.globalsRaw...)
	for range 4 {
		globals = append(globals, valI64, 1, opI64Const, 0, opEnd)
	}

	exports := appendU32(nil, uint32(len(m.exports))+4)
	exports = append(exports, m.exportsRaw...)
	for i, name := range []string{exportCtxHeight, exportCtxTime, exportCtxVersion, exportCtxPrice} {
		exports = appendName(exports, name)
		exports = append(exports, kindGlobal)
		exports = appendU32(exports, g+uint32(i))
	}

	out := make([]byte, 0, len(wasm)+len(exports)+256)
	out = append(out, wasm[:8]...)
	seen := 0
	for _, sec := range m.sections {
		p := sec.payload
		switch sec.id {
		case secFunction:
			p, seen = funcs, seen+1
		case secGlobal:
			p, seen = globals, seen+1
		case secExport:
			p, seen = exports, seen+1
		case secCode:
			p, seen = code, seen+1
		}
		out = appendSection(out, sec.id, p)
	}
	// An instrumented module with an evaluate export has all four sections.
	if seen != 4 {
		return wasm, false
	}
	return out, true
}

// ctxGetImport returns the function index of the rules_v1 ctx_get import.
func (m *module) ctxGetImport() (uint32, bool) {
	idx := uint32(0)
	for _, im := range m.imports {
		if im.kind != kindFunc {
			continue
		}
		if im.module == ABIVersion && im.name == "ctx_get" {
			ft := m.types[im.typeIdx]
			if len(ft.params) == 1 && ft.params[0] == valI32 && len(ft.results) == 1 && ft.results[0] == valI64 {
				return idx, true
			}
			return 0, false
		}
		idx++
	}
	return 0, false
}

func (m *module) exportedGlobal(name string) (uint32, bool) {
	for _, e := range m.exports {
		if e.kind == kindGlobal && e.name == name {
			return e.index, true
		}
	}
	return 0, false
}

// redirectCalls returns the code section payload with every `call from`
// replaced by `call to` (bodies re-encoded, everything else copied), and
// whether any call was redirected.
func (m *module) redirectCalls(from, to uint32) ([]byte, bool, error) {
	p := appendU32(nil, uint32(len(m.bodies))+1)
	var buf []instr
	var body []byte
	redirected := false
	for i := range m.bodies {
		b := &m.bodies[i]
		ft, ok := m.funcTypeOf(m.numFuncImports + uint32(i))
		if !ok {
			return nil, false, parseErr("function %d has an unknown type", m.numFuncImports+uint32(i))
		}
		var err error
		buf, err = decodeInstrs(b.expr, buf[:0], uint64(len(ft.params))+b.numLocals, m.numGlobals)
		if err != nil {
			return nil, false, err
		}
		body = appendU32(body[:0], uint32(len(b.locals)))
		for _, g := range b.locals {
			body = appendU32(body, g.n)
			body = append(body, g.typ)
		}
		last := 0
		for k := range buf {
			x := &buf[k]
			if x.op != opCall || x.imm != from {
				continue
			}
			body = append(body, b.expr[last:x.pos]...)
			body = append(body, opCall)
			body = appendU32(body, to)
			last = x.end
			redirected = true
		}
		body = append(body, b.expr[last:]...)
		p = appendU32(p, uint32(len(body)))
		p = append(p, body...)
	}
	return p, redirected, nil
}

// appendCtxGetBody appends the body of the WebAssembly ctx_get (one i32
// parameter, no locals; g is the index of the first of the four globals).
func appendCtxGetBody(code []byte, gas, g uint32) []byte {
	height, time, version, price := g, g+1, g+2, g+3
	var b []byte
	b = append(b, 0) // no local groups
	// if gas < price { gas = -1; unreachable }
	b = appendGlobalGet(b, gas)
	b = appendGlobalGet(b, price)
	b = append(b, opI64LtS, opIf, 0x40, opI64Const, 0x7f, opGlobalSet)
	b = appendU32(b, gas)
	b = append(b, opUnreachable, opEnd)
	// gas -= price
	b = appendGlobalGet(b, gas)
	b = appendGlobalGet(b, price)
	b = append(b, opI64Sub, opGlobalSet)
	b = appendU32(b, gas)
	for _, f := range []struct {
		field  int64
		global uint32
	}{{CtxHeight, height}, {CtxTime, time}, {CtxRuleVersion, version}} {
		// if field == f { return global }
		b = append(b, opLocalGet, 0, opI32Const)
		b = appendS64(b, f.field)
		b = append(b, opI32Eq, opIf, 0x40)
		b = appendGlobalGet(b, f.global)
		b = append(b, opReturn, opEnd)
	}
	b = append(b, opUnreachable, opEnd) // unknown field: trap
	code = appendU32(code, uint32(len(b)))
	return append(code, b...)
}

func appendGlobalGet(b []byte, idx uint32) []byte {
	return appendU32(append(b, opGlobalGet), idx)
}
