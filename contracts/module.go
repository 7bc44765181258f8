package contracts

// This file parses just enough of a WebAssembly binary to check the rules
// ABI and to rewrite it: section boundaries, types, imports, functions,
// tables, memories, globals, exports and code bodies. Instruction-level
// validation (typing, index ranges) is left to wazero, which Validate runs on
// every module; this parser only has to be total (never panic, never loop on
// hostile input) and conservative (refuse anything it does not understand).

// Value and reference types of WebAssembly 2.0.
const (
	valI32       byte = 0x7f
	valI64       byte = 0x7e
	valF32       byte = 0x7d
	valF64       byte = 0x7c
	valV128      byte = 0x7b
	valFuncref   byte = 0x70
	valExternref byte = 0x6f
)

// Section ids, in the order the spec requires them (custom sections aside).
const (
	secCustom    byte = 0
	secType      byte = 1
	secImport    byte = 2
	secFunction  byte = 3
	secTable     byte = 4
	secMemory    byte = 5
	secGlobal    byte = 6
	secExport    byte = 7
	secStart     byte = 8
	secElement   byte = 9
	secCode      byte = 10
	secData      byte = 11
	secDataCount byte = 12
	secTag       byte = 13
)

// sectionRank gives the position a known section must take; tags (exception
// handling) are ranked so that the ordering check can still report them as an
// unsupported feature rather than as misplaced.
var sectionRank = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5, secTag: 6,
	secGlobal: 7, secExport: 8, secStart: 9, secElement: 10, secDataCount: 11, secCode: 12, secData: 13,
}

// External kinds used by imports and exports.
const (
	kindFunc   byte = 0
	kindTable  byte = 1
	kindMemory byte = 2
	kindGlobal byte = 3
	kindTag    byte = 4
)

type funcType struct {
	params, results []byte
}

type importEntry struct {
	module, name string
	kind         byte
	typeIdx      uint32 // for functions
}

type limitsType struct {
	min, max uint32
	hasMax   bool
}

// globalType is a defined global's value type and mutability.
type globalType struct {
	val     byte
	mutable bool
}

type exportEntry struct {
	name  string
	kind  byte
	index uint32
}

type localGroup struct {
	n   uint32
	typ byte
}

type funcBody struct {
	locals    []localGroup
	numLocals uint64 // declared locals, params excluded
	expr      []byte // instructions including the final end
	size      int    // encoded size, locals included
}

type section struct {
	id      byte
	payload []byte
}

// module is the parsed view of a binary; raw slices alias the input.
type module struct {
	sections []section

	types           []funcType
	imports         []importEntry
	numFuncImports  uint32
	importFuncTypes []uint32 // type index of each imported function
	numOtherImport  int      // tables, memories, globals, tags: none are allowed by the ABI
	funcs           []uint32 // type index of each defined function
	tables          []limitsType
	mems            []limitsType
	numGlobals      uint32 // defined globals (imports of globals are refused)
	globalTypes     []globalType
	globalsRaw      []byte // global entries after the count
	exports         []exportEntry
	exportsRaw      []byte // export entries after the count
	hasStart        bool
	bodies          []funcBody
	codeCount       uint32
	activeData      []dataRange // active segments with constant offsets
}

// dataRange is where an active data segment lands in memory 0.
type dataRange struct {
	offset uint32
	length uint32
}

func (m *module) numFuncs() uint64 { return uint64(m.numFuncImports) + uint64(len(m.funcs)) }

// funcTypeOf returns the signature of function index idx (imports first).
func (m *module) funcTypeOf(idx uint32) (funcType, bool) {
	var t uint32
	switch {
	case idx < m.numFuncImports:
		t = m.importFuncTypes[idx]
	case uint64(idx) < m.numFuncs():
		t = m.funcs[idx-m.numFuncImports]
	default:
		return funcType{}, false
	}
	if uint64(t) >= uint64(len(m.types)) {
		return funcType{}, false
	}
	return m.types[t], true
}

func parseErr(format string, args ...any) error { return errorf(ProblemParse, format, args...) }

func featureErr(format string, args ...any) error { return errorf(ProblemFeature, format, args...) }

// parseModule splits and decodes a binary. maxCount bounds every vector
// length before anything is allocated for it, so a 5-byte count cannot make
// us allocate gigabytes.
func parseModule(code []byte) (*module, error) {
	if len(code) < 8 || string(code[:4]) != "\x00asm" {
		return nil, parseErr("missing \\0asm magic")
	}
	if code[4] != 1 || code[5] != 0 || code[6] != 0 || code[7] != 0 {
		// Version 1 is the only core binary version; layer 1 is the component model.
		return nil, featureErr("binary version %x is not a core module", code[4:8])
	}
	m := &module{}
	r := &reader{b: code, pos: 8}
	lastRank := 0
	for !r.eof() {
		id, err := r.byte1()
		if err != nil {
			return nil, parseErr("section id: %v", err)
		}
		size, err := r.u32()
		if err != nil {
			return nil, parseErr("section %d size: %v", id, err)
		}
		payload, err := r.bytes(size)
		if err != nil {
			return nil, parseErr("section %d: size %d past end of module", id, size)
		}
		if id != secCustom {
			rank, ok := sectionRank[id]
			if !ok {
				return nil, parseErr("unknown section id %d", id)
			}
			if rank <= lastRank {
				return nil, parseErr("section %d out of order or repeated", id)
			}
			lastRank = rank
		}
		m.sections = append(m.sections, section{id: id, payload: payload})
		if err := m.decodeSection(id, payload); err != nil {
			return nil, err
		}
	}
	if uint32(len(m.funcs)) != m.codeCount {
		return nil, parseErr("%d functions declared but %d bodies", len(m.funcs), m.codeCount)
	}
	return m, nil
}

func (m *module) decodeSection(id byte, payload []byte) error {
	r := &reader{b: payload}
	var err error
	switch id {
	case secCustom:
		_, err = r.name() // the name must at least be readable
		return wrapParse(err, "custom section name")
	case secType:
		err = m.decodeTypes(r)
	case secImport:
		err = m.decodeImports(r)
	case secFunction:
		err = m.decodeFunctions(r)
	case secTable:
		err = m.decodeTables(r)
	case secMemory:
		err = m.decodeMemories(r)
	case secTag:
		return featureErr("exception handling (tag section) is not allowed")
	case secGlobal:
		err = m.decodeGlobals(r)
	case secExport:
		err = m.decodeExports(r)
	case secStart:
		m.hasStart = true
		_, err = r.u32()
	case secElement, secDataCount:
		// Kept verbatim; wazero validates them. Their offset expressions can
		// only name imported globals, and rules import none.
		return nil
	case secData:
		err = m.decodeData(r)
	case secCode:
		err = m.decodeCode(r)
	}
	if err != nil {
		return err
	}
	if !r.eof() {
		return parseErr("section %d has %d trailing bytes", id, len(payload)-r.pos)
	}
	return nil
}

func wrapParse(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*moduleError); ok {
		return err
	}
	return parseErr("%s: %v", what, err)
}

// count reads a vector length and checks it against the bytes left, since
// every element takes at least one byte; this bounds allocations by the
// module size.
func (r *reader) count(what string) (uint32, error) {
	n, err := r.u32()
	if err != nil {
		return 0, parseErr("%s count: %v", what, err)
	}
	if uint64(n) > uint64(len(r.b)-r.pos) {
		return 0, parseErr("%s count %d exceeds section size", what, n)
	}
	return n, nil
}

func checkValType(t byte) error {
	switch t {
	case valI32, valI64, valF32, valF64, valFuncref, valExternref:
		return nil
	case valV128:
		return featureErr("SIMD (v128) is not allowed")
	}
	return featureErr("value type 0x%02x is not allowed", t)
}

func (r *reader) valTypes(what string) ([]byte, error) {
	n, err := r.count(what)
	if err != nil {
		return nil, err
	}
	ts, err := r.bytes(n)
	if err != nil {
		return nil, parseErr("%s: %v", what, err)
	}
	for _, t := range ts {
		if err := checkValType(t); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

func (m *module) decodeTypes(r *reader) error {
	n, err := r.count("type")
	if err != nil {
		return err
	}
	m.types = make([]funcType, 0, n)
	for i := uint32(0); i < n; i++ {
		form, err := r.byte1()
		if err != nil {
			return parseErr("type %d: %v", i, err)
		}
		if form != 0x60 {
			return featureErr("type %d: form 0x%02x (GC types) is not allowed", i, form)
		}
		ps, err := r.valTypes("params")
		if err != nil {
			return err
		}
		rs, err := r.valTypes("results")
		if err != nil {
			return err
		}
		m.types = append(m.types, funcType{params: ps, results: rs})
	}
	return nil
}

func (r *reader) limits(what string, memory bool) (limitsType, error) {
	flags, err := r.byte1()
	if err != nil {
		return limitsType{}, parseErr("%s limits: %v", what, err)
	}
	switch {
	case memory && flags&0x02 != 0:
		return limitsType{}, featureErr("%s: shared memory (threads) is not allowed", what)
	case memory && flags&0x04 != 0:
		return limitsType{}, featureErr("%s: memory64 is not allowed", what)
	case flags > 1:
		return limitsType{}, featureErr("%s: limits flags 0x%02x are not allowed", what, flags)
	}
	var l limitsType
	if l.min, err = r.u32(); err != nil {
		return l, parseErr("%s min: %v", what, err)
	}
	if flags == 1 {
		l.hasMax = true
		if l.max, err = r.u32(); err != nil {
			return l, parseErr("%s max: %v", what, err)
		}
	}
	return l, nil
}

func (m *module) decodeImports(r *reader) error {
	n, err := r.count("import")
	if err != nil {
		return err
	}
	m.imports = make([]importEntry, 0, n)
	for i := uint32(0); i < n; i++ {
		var im importEntry
		if im.module, err = r.name(); err != nil {
			return parseErr("import %d module: %v", i, err)
		}
		if im.name, err = r.name(); err != nil {
			return parseErr("import %d name: %v", i, err)
		}
		if im.kind, err = r.byte1(); err != nil {
			return parseErr("import %d kind: %v", i, err)
		}
		switch im.kind {
		case kindFunc:
			if im.typeIdx, err = r.u32(); err != nil {
				return parseErr("import %d type: %v", i, err)
			}
			m.numFuncImports++
			m.importFuncTypes = append(m.importFuncTypes, im.typeIdx)
		case kindTable:
			t, err := r.byte1()
			if err != nil {
				return parseErr("import %d: %v", i, err)
			}
			if err := checkValType(t); err != nil {
				return err
			}
			if _, err := r.limits("imported table", false); err != nil {
				return err
			}
			m.numOtherImport++
		case kindMemory:
			if _, err := r.limits("imported memory", true); err != nil {
				return err
			}
			m.numOtherImport++
		case kindGlobal:
			t, err := r.byte1()
			if err != nil {
				return parseErr("import %d: %v", i, err)
			}
			if err := checkValType(t); err != nil {
				return err
			}
			if _, err := r.byte1(); err != nil {
				return parseErr("import %d: %v", i, err)
			}
			m.numOtherImport++
		case kindTag:
			return featureErr("exception handling (tag import) is not allowed")
		default:
			return parseErr("import %d: unknown kind %d", i, im.kind)
		}
		m.imports = append(m.imports, im)
	}
	return nil
}

func (m *module) decodeFunctions(r *reader) error {
	n, err := r.count("function")
	if err != nil {
		return err
	}
	m.funcs = make([]uint32, n)
	for i := range m.funcs {
		if m.funcs[i], err = r.u32(); err != nil {
			return parseErr("function %d type: %v", i, err)
		}
	}
	return nil
}

func (m *module) decodeTables(r *reader) error {
	n, err := r.count("table")
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		t, err := r.byte1()
		if err != nil {
			return parseErr("table %d: %v", i, err)
		}
		if t == 0x40 {
			return featureErr("table %d: initialiser expressions (function references) are not allowed", i)
		}
		if t != valFuncref && t != valExternref {
			return featureErr("table %d: element type 0x%02x is not allowed", i, t)
		}
		l, err := r.limits("table", false)
		if err != nil {
			return err
		}
		m.tables = append(m.tables, l)
	}
	return nil
}

func (m *module) decodeMemories(r *reader) error {
	n, err := r.count("memory")
	if err != nil {
		return err
	}
	if n > 1 {
		return featureErr("%d memories: multi-memory is not allowed", n)
	}
	for i := uint32(0); i < n; i++ {
		l, err := r.limits("memory", true)
		if err != nil {
			return err
		}
		m.mems = append(m.mems, l)
	}
	return nil
}

func (m *module) decodeGlobals(r *reader) error {
	n, err := r.count("global")
	if err != nil {
		return err
	}
	m.globalsRaw = r.b[r.pos:]
	for i := uint32(0); i < n; i++ {
		t, err := r.byte1()
		if err != nil {
			return parseErr("global %d: %v", i, err)
		}
		if err := checkValType(t); err != nil {
			return err
		}
		mut, err := r.byte1()
		if err != nil || mut > 1 {
			return parseErr("global %d: bad mutability", i)
		}
		m.globalTypes = append(m.globalTypes, globalType{val: t, mutable: mut == 1})
		if err := r.skipConstExpr(n); err != nil {
			return err
		}
	}
	m.numGlobals = n
	return nil
}

// skipConstExpr steps over a constant expression (the only instructions the
// spec allows there) and checks that global.get names a global below bound
// (the module's own count), so an initialiser cannot name the meter that
// Instrument appends; whether the reference is otherwise legal is wazero's
// call.
func (r *reader) skipConstExpr(bound uint32) error {
	for {
		op, err := r.byte1()
		if err != nil {
			return parseErr("constant expression: %v", err)
		}
		switch op {
		case 0x0b:
			return nil
		case 0x41:
			_, err = r.sleb(5)
		case 0x42:
			_, err = r.sleb(10)
		case 0x43:
			_, err = r.bytes(4)
		case 0x44:
			_, err = r.bytes(8)
		case 0xd0:
			_, err = r.byte1()
		case 0xd2:
			_, err = r.u32()
		case 0x23:
			var idx uint32
			idx, err = r.u32()
			if err == nil && idx >= bound {
				return errorf(ProblemMeter, "constant expression reads global %d", idx)
			}
		case 0xfd:
			return featureErr("SIMD constant is not allowed")
		default:
			return featureErr("opcode 0x%02x in a constant expression is not allowed", op)
		}
		if err != nil {
			return parseErr("constant expression: %v", err)
		}
	}
}

func (m *module) decodeExports(r *reader) error {
	n, err := r.count("export")
	if err != nil {
		return err
	}
	m.exportsRaw = r.b[r.pos:]
	m.exports = make([]exportEntry, 0, n)
	for i := uint32(0); i < n; i++ {
		var e exportEntry
		if e.name, err = r.name(); err != nil {
			return parseErr("export %d name: %v", i, err)
		}
		if e.kind, err = r.byte1(); err != nil {
			return parseErr("export %d kind: %v", i, err)
		}
		if e.kind > kindGlobal {
			return featureErr("export %q: kind %d is not allowed", e.name, e.kind)
		}
		if e.index, err = r.u32(); err != nil {
			return parseErr("export %d index: %v", i, err)
		}
		m.exports = append(m.exports, e)
	}
	return nil
}

func (m *module) decodeCode(r *reader) error {
	n, err := r.count("code")
	if err != nil {
		return err
	}
	m.codeCount = n
	m.bodies = make([]funcBody, 0, n)
	for i := uint32(0); i < n; i++ {
		size, err := r.u32()
		if err != nil {
			return parseErr("body %d size: %v", i, err)
		}
		raw, err := r.bytes(size)
		if err != nil {
			return parseErr("body %d: size %d past end of section", i, size)
		}
		b, err := decodeBody(raw)
		if err != nil {
			return wrapParse(err, "body")
		}
		m.bodies = append(m.bodies, b)
	}
	return nil
}

func decodeBody(raw []byte) (funcBody, error) {
	br := &reader{b: raw}
	groups, err := br.count("local groups")
	if err != nil {
		return funcBody{}, err
	}
	var b funcBody
	b.locals = make([]localGroup, 0, groups)
	for g := uint32(0); g < groups; g++ {
		n, err := br.u32()
		if err != nil {
			return b, parseErr("locals: %v", err)
		}
		t, err := br.byte1()
		if err != nil {
			return b, parseErr("locals: %v", err)
		}
		if err := checkValType(t); err != nil {
			return b, err
		}
		b.numLocals += uint64(n) // summed in 64 bits: 2^32 groups of 2^32 cannot overflow
		b.locals = append(b.locals, localGroup{n: n, typ: t})
	}
	b.expr = raw[br.pos:]
	b.size = len(raw)
	if len(b.expr) == 0 || b.expr[len(b.expr)-1] != 0x0b {
		return b, parseErr("function body does not end with end")
	}
	return b, nil
}

// decodeData records the landing range of each active data segment so that
// Validate can refuse a module whose data does not fit its initial memory
// (it could never be instantiated).
func (m *module) decodeData(r *reader) error {
	n, err := r.count("data")
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		flags, err := r.u32()
		if err != nil {
			return parseErr("data %d: %v", i, err)
		}
		active := flags == 0 || flags == 2
		switch flags {
		case 0, 1:
		case 2:
			mem, err := r.u32()
			if err != nil {
				return parseErr("data %d: %v", i, err)
			}
			if mem != 0 {
				return featureErr("data %d targets memory %d: multi-memory is not allowed", i, mem)
			}
		default:
			return parseErr("data %d: flags %d", i, flags)
		}
		var off int64
		constant := false
		if active {
			start := r.pos
			if err := r.skipConstExpr(m.numGlobals); err != nil {
				return err
			}
			expr := &reader{b: r.b[start:r.pos]}
			if op, _ := expr.byte1(); op == opI32Const {
				off, _ = expr.sleb(5)
				constant = expr.pos == len(expr.b)-1 // i32.const X end
			}
		}
		size, err := r.u32()
		if err != nil {
			return parseErr("data %d size: %v", i, err)
		}
		if _, err := r.bytes(size); err != nil {
			return parseErr("data %d: %v", i, err)
		}
		if constant {
			m.activeData = append(m.activeData, dataRange{offset: uint32(off), length: size})
		}
	}
	return nil
}
