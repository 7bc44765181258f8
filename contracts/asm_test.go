package contracts

import (
	"encoding/binary"
	"math"
)

// A tiny WebAssembly assembler for tests: enough to build rules and hostile
// modules byte by byte without wat2wasm (not installed on every machine).

type tFunc struct {
	typ    uint32
	locals []localGroup
	body   []byte
}

type tMod struct {
	types    []funcType
	imports  []importEntry
	funcs    []tFunc
	tables   [][]byte // raw table entries
	mems     [][]byte // raw memory entries
	globals  [][]byte // raw global entries
	exports  []exportEntry
	start    *uint32
	elems    [][]byte // raw element segments
	datas    [][]byte // raw data segments
	customs  [][]byte // raw custom section payloads, emitted first
	extraSec []section
}

func sigTypes(s string) []byte {
	b := make([]byte, len(s))
	for i, c := range s {
		switch c {
		case 'i':
			b[i] = valI32
		case 'I':
			b[i] = valI64
		case 'f':
			b[i] = valF32
		case 'F':
			b[i] = valF64
		case 'v':
			b[i] = valV128
		case 'r':
			b[i] = valFuncref
		}
	}
	return b
}

func (m *tMod) typ(params, results string) uint32 {
	p, r := sigTypes(params), sigTypes(results)
	for i, t := range m.types {
		if string(t.params) == string(p) && string(t.results) == string(r) {
			return uint32(i)
		}
	}
	m.types = append(m.types, funcType{p, r})
	return uint32(len(m.types) - 1)
}

// imp adds a function import; call it before fn so indices stay simple.
func (m *tMod) imp(module, name, params, results string) uint32 {
	m.imports = append(m.imports, importEntry{module: module, name: name, kind: kindFunc, typeIdx: m.typ(params, results)})
	return uint32(len(m.imports) - 1)
}

func (m *tMod) nimp() uint32 {
	n := uint32(0)
	for _, im := range m.imports {
		if im.kind == kindFunc {
			n++
		}
	}
	return n
}

// fn adds a function; body is the instructions without the final end.
func (m *tMod) fn(params, results string, locals []localGroup, body ...[]byte) uint32 {
	var b []byte
	for _, p := range body {
		b = append(b, p...)
	}
	b = append(b, opEnd)
	m.funcs = append(m.funcs, tFunc{typ: m.typ(params, results), locals: locals, body: b})
	return m.nimp() + uint32(len(m.funcs)-1)
}

func (m *tMod) export(name string, kind byte, idx uint32) {
	m.exports = append(m.exports, exportEntry{name: name, kind: kind, index: idx})
}

func (m *tMod) memory(min uint32, max ...uint32) {
	var e []byte
	if len(max) > 0 {
		e = append(e, 1)
		e = appendU32(e, min)
		e = appendU32(e, max[0])
	} else {
		e = append(e, 0)
		e = appendU32(e, min)
	}
	m.mems = append(m.mems, e)
}

func vec(items [][]byte) []byte {
	b := appendU32(nil, uint32(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func (m *tMod) bytes() []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	sec := func(id byte, payload []byte) { out = appendSection(out, id, payload) }
	for _, c := range m.customs {
		sec(secCustom, c)
	}
	if len(m.types) > 0 {
		var items [][]byte
		for _, t := range m.types {
			e := []byte{0x60}
			e = appendU32(e, uint32(len(t.params)))
			e = append(e, t.params...)
			e = appendU32(e, uint32(len(t.results)))
			e = append(e, t.results...)
			items = append(items, e)
		}
		sec(secType, vec(items))
	}
	if len(m.imports) > 0 {
		var items [][]byte
		for _, im := range m.imports {
			e := appendName(nil, im.module)
			e = appendName(e, im.name)
			e = append(e, im.kind)
			if im.kind == kindMemory {
				e = append(e, 0, 1) // limits: min 1
			} else {
				e = appendU32(e, im.typeIdx)
			}
			items = append(items, e)
		}
		sec(secImport, vec(items))
	}
	if len(m.funcs) > 0 {
		var items [][]byte
		for _, f := range m.funcs {
			items = append(items, appendU32(nil, f.typ))
		}
		sec(secFunction, vec(items))
	}
	if len(m.tables) > 0 {
		sec(secTable, vec(m.tables))
	}
	if len(m.mems) > 0 {
		sec(secMemory, vec(m.mems))
	}
	if len(m.globals) > 0 {
		sec(secGlobal, vec(m.globals))
	}
	if len(m.exports) > 0 {
		var items [][]byte
		for _, e := range m.exports {
			b := appendName(nil, e.name)
			b = append(b, e.kind)
			b = appendU32(b, e.index)
			items = append(items, b)
		}
		sec(secExport, vec(items))
	}
	if m.start != nil {
		sec(secStart, appendU32(nil, *m.start))
	}
	if len(m.elems) > 0 {
		sec(secElement, vec(m.elems))
	}
	for _, s := range m.extraSec {
		sec(s.id, s.payload)
	}
	if len(m.funcs) > 0 {
		var items [][]byte
		for _, f := range m.funcs {
			var b []byte
			b = appendU32(b, uint32(len(f.locals)))
			for _, g := range f.locals {
				b = appendU32(b, g.n)
				b = append(b, g.typ)
			}
			b = append(b, f.body...)
			items = append(items, append(appendU32(nil, uint32(len(b))), b...))
		}
		sec(secCode, vec(items))
	}
	if len(m.datas) > 0 {
		sec(secData, vec(m.datas))
	}
	return out
}

// Instruction helpers.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}
func op(b ...byte) []byte { return b }
func u32op(o byte, v uint32) []byte {
	return appendU32([]byte{o}, v)
}
func i32c(v int32) []byte { return appendS64([]byte{opI32Const}, int64(v)) }
func i64c(v int64) []byte { return appendS64([]byte{opI64Const}, v) }
func f64c(v float64) []byte {
	b := []byte{0x44}
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}
func f64bits(v uint64) []byte {
	return binary.LittleEndian.AppendUint64([]byte{0x44}, v)
}
func lget(i uint32) []byte { return u32op(opLocalGet, i) }
func lset(i uint32) []byte { return u32op(opLocalSet, i) }
func ltee(i uint32) []byte { return u32op(opLocalTee, i) }
func gget(i uint32) []byte { return u32op(opGlobalGet, i) }
func gset(i uint32) []byte { return u32op(opGlobalSet, i) }
func call(i uint32) []byte { return u32op(opCall, i) }
func br(l uint32) []byte   { return u32op(opBr, l) }
func brIf(l uint32) []byte { return u32op(opBrIf, l) }
func block() []byte        { return []byte{opBlock, 0x40} }
func loop() []byte         { return []byte{opLoop, 0x40} }
func ifv() []byte          { return []byte{opIf, 0x40} }
func end() []byte          { return []byte{opEnd} }
func i32load(off uint32) []byte {
	return appendU32([]byte{0x28, 2}, off)
}
func i32store(off uint32) []byte {
	return appendU32([]byte{0x36, 2}, off)
}
func i64store(off uint32) []byte {
	return appendU32([]byte{0x37, 3}, off)
}
func i64load(off uint32) []byte {
	return appendU32([]byte{0x29, 3}, off)
}
func i32store8(off uint32) []byte {
	return appendU32([]byte{0x3a, 0}, off)
}

// ret64 packs (outLen << 32) | decision as the i64 evaluate returns.
func ret64(outLen uint32, d Decision) []byte {
	return i64c(int64(uint64(outLen)<<32 | uint64(d)))
}

// Where the test rules keep their buffer.
const testBuf = 1024

// rule builds a minimal rules_v1 module: 2 pages of memory, the buffer at
// testBuf, the marker and rule_buffer. setup may add imports (it runs first
// so import indices come before functions) and returns the evaluate body.
func rule(setup func(m *tMod) []byte) *tMod {
	m := &tMod{}
	body := setup(m)
	if len(m.mems) == 0 {
		m.memory(2)
	}
	m.export(ExportMemory, kindMemory, 0)
	m.export(ABIMarker, kindFunc, m.fn("", "", nil))
	m.export(ExportBuffer, kindFunc, m.fn("", "i", nil, i32c(testBuf)))
	m.export(ExportEvaluate, kindFunc, m.fn("ii", "I", []localGroup{{4, valI32}, {2, valI64}}, body))
	return m
}
