package contracts

import (
	"math/bits"
	"strings"
)

// InstrumentVersion identifies the metering transformation. Deployed rules
// record it: a node must run exactly the bytes the rule was instrumented to,
// so a change to the injected code (or to what it charges) bumps it and old
// rules keep their instrumented bytes.
const InstrumentVersion = 1

// Instrument injects deterministic metering into a module that passed
// Validate and returns the new binary. Same input and schedule, same output
// bytes: nothing here depends on maps, time or the platform.
//
// What is injected (see docs/rules-abi.md "Metering"):
//   - three mutable globals appended after the module's own and exported as
//     __amp_gas (i64, remaining gas), __amp_depth (i32, remaining call depth)
//     and __amp_pages (i64, memory.grow ceiling); the host sets all three
//     before running any guest code and reads gas back afterwards;
//   - at the head of every straight-line segment (function entry, loop
//     header, then/else arms, after every end) a charge of the segment's
//     static price, trapping with unreachable once gas is negative. A segment
//     is charged in full on entry even if a br_if or a trap leaves it early:
//     over-charging is deterministic, under-charging would not be safe;
//   - the price of declared locals in the entry segment;
//   - around every call and call_indirect a depth decrement and check before,
//     and the increment after (returns, branches and traps need no
//     bookkeeping: the instance is discarded after a trap);
//   - before memory.grow a charge per requested page and a check against
//     __amp_pages (grow returns -1 past it, as the spec allows); before
//     memory.copy/fill/init a charge per started 16 bytes and before
//     table.grow/fill/copy/init a charge per element, computed from the
//     operand on the stack before the instruction runs.
//
// Custom sections are dropped (names and debug info are not needed to run and
// cost parse time on every node).
func Instrument(code []byte, s GasSchedule) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	m, err := parseModule(code)
	if err != nil {
		return nil, err
	}
	if err := m.checkMeterable(); err != nil {
		return nil, err
	}
	in := &instrumenter{m: m, s: &s}
	in.gas = m.numGlobals
	in.depth = m.numGlobals + 1
	in.pages = m.numGlobals + 2
	return in.emit()
}

// checkMeterable refuses what would let a module escape or read the meter:
// a start function (it would run before the host sets the gas), imported
// globals (they would shift the meter's index), reserved names.
func (m *module) checkMeterable() error {
	if m.hasStart {
		return errorf(ProblemStart, "start section is not allowed; export _initialize instead")
	}
	if m.numOtherImport > 0 {
		return errorf(ProblemImport, "only functions may be imported")
	}
	for _, im := range m.imports {
		if strings.HasPrefix(im.module, MeterPrefix) || strings.HasPrefix(im.name, MeterPrefix) {
			return errorf(ProblemMeter, "import %s.%s uses the reserved prefix %s", im.module, im.name, MeterPrefix)
		}
	}
	for _, e := range m.exports {
		if strings.HasPrefix(e.name, MeterPrefix) {
			return errorf(ProblemMeter, "export %q uses the reserved prefix %s", e.name, MeterPrefix)
		}
	}
	if uint64(m.numGlobals)+3 > 1<<32-1 {
		return errorf(ProblemMeter, "too many globals")
	}
	return nil
}

type instrumenter struct {
	m                 *module
	s                 *GasSchedule
	gas, depth, pages uint32 // global indices of the meter
	instrs            []instr
	charges           []uint64
}

func (in *instrumenter) emit() ([]byte, error) {
	m := in.m
	out := make([]byte, 0, len(m.sections)*8+totalPayload(m)*5/4+64)
	out = append(out, "\x00asm\x01\x00\x00\x00"...)
	globalsDone, exportsDone := false, false
	for _, sec := range m.sections {
		if sec.id == secCustom {
			continue
		}
		rank := sectionRank[sec.id]
		if !globalsDone && rank > sectionRank[secGlobal] {
			out = in.appendGlobals(out, 0, nil)
			globalsDone = true
		}
		if !exportsDone && rank > sectionRank[secExport] {
			out = in.appendExports(out, 0, nil)
			exportsDone = true
		}
		switch sec.id {
		case secGlobal:
			out = in.appendGlobals(out, m.numGlobals, m.globalsRaw)
			globalsDone = true
		case secExport:
			out = in.appendExports(out, uint32(len(m.exports)), m.exportsRaw)
			exportsDone = true
		case secCode:
			payload, err := in.code()
			if err != nil {
				return nil, err
			}
			out = appendSection(out, secCode, payload)
		default:
			out = appendSection(out, sec.id, sec.payload)
		}
	}
	if !globalsDone {
		out = in.appendGlobals(out, 0, nil)
	}
	if !exportsDone {
		out = in.appendExports(out, 0, nil)
	}
	return out, nil
}

func totalPayload(m *module) int {
	n := 0
	for _, s := range m.sections {
		n += len(s.payload)
	}
	return n
}

func appendSection(out []byte, id byte, payload []byte) []byte {
	out = append(out, id)
	out = appendU32(out, uint32(len(payload)))
	return append(out, payload...)
}

func (in *instrumenter) appendGlobals(out []byte, n uint32, raw []byte) []byte {
	p := appendU32(nil, n+3)
	p = append(p, raw...)
	p = append(p, valI64, 1, opI64Const, 0, opEnd) // gas
	p = append(p, valI32, 1, opI32Const, 0, opEnd) // depth
	p = append(p, valI64, 1, opI64Const, 0, opEnd) // pages
	return appendSection(out, secGlobal, p)
}

func (in *instrumenter) appendExports(out []byte, n uint32, raw []byte) []byte {
	p := appendU32(nil, n+3)
	p = append(p, raw...)
	for _, g := range []struct {
		name string
		idx  uint32
	}{{exportGas, in.gas}, {exportDepth, in.depth}, {exportPages, in.pages}} {
		p = appendName(p, g.name)
		p = append(p, kindGlobal)
		p = appendU32(p, g.idx)
	}
	return appendSection(out, secExport, p)
}

func (in *instrumenter) code() ([]byte, error) {
	m := in.m
	p := appendU32(nil, uint32(len(m.bodies)))
	for i := range m.bodies {
		body, err := in.body(uint32(i))
		if err != nil {
			return nil, err
		}
		p = appendU32(p, uint32(len(body)))
		p = append(p, body...)
	}
	return p, nil
}

// dynamic reports whether an instruction needs the scratch local for a
// run-time charge.
func dynamic(x *instr) bool {
	if x.op == opMemoryGrow {
		return true
	}
	if x.op != opPrefixFC {
		return false
	}
	switch x.sub {
	case fcMemoryInit, fcMemoryCopy, fcMemoryFill, fcTableInit, fcTableCopy, fcTableGrow, fcTableFill:
		return true
	}
	return false
}

func (in *instrumenter) body(i uint32) ([]byte, error) {
	m := in.m
	b := &m.bodies[i]
	ft, ok := m.funcTypeOf(m.numFuncImports + i)
	if !ok {
		return nil, parseErr("function %d has an unknown type", m.numFuncImports+i)
	}
	numLocals := uint64(len(ft.params)) + b.numLocals
	var err error
	in.instrs, err = decodeInstrs(b.expr, in.instrs[:0], numLocals, m.numGlobals)
	if err != nil {
		return nil, err
	}
	scratch := uint32(0)
	needScratch := false
	for k := range in.instrs {
		if dynamic(&in.instrs[k]) {
			needScratch = true
			break
		}
	}
	if needScratch {
		if numLocals >= 1<<32-1 {
			return nil, errorf(ProblemLocals, "too many locals")
		}
		scratch = uint32(numLocals)
	}
	in.segments(b.numLocals)

	out := make([]byte, 0, len(b.expr)*2+16)
	groups := uint32(len(b.locals))
	if needScratch {
		groups++
	}
	out = appendU32(out, groups)
	for _, g := range b.locals {
		out = appendU32(out, g.n)
		out = append(out, g.typ)
	}
	if needScratch {
		out = append(out, 1, valI32)
	}
	for k := range in.instrs {
		x := &in.instrs[k]
		if c := in.charges[k]; c > 0 {
			out = in.charge(out, c)
		}
		raw := b.expr[x.pos:x.end]
		switch {
		case x.op == opCall && x.imm >= m.numFuncImports, x.op == opCallIndirect:
			// Host functions do not call back into the guest, so only calls
			// that can recurse count against the depth.
			out = in.enterCall(out)
			out = append(out, raw...)
			out = in.leaveCall(out)
		case x.op == opMemoryGrow:
			out = in.memoryGrow(out, scratch)
		case dynamic(x):
			out = in.bulk(out, x, scratch)
			out = append(out, raw...)
		default:
			out = append(out, raw...)
		}
	}
	return out, nil
}

// segments fills in.charges: charges[k] is the static price charged right
// before instruction k, i.e. at the head of the segment starting there.
// Boundaries are the places control can enter other than by falling
// through: loop headers, then/else arms and the code after any end. A
// segment after br, br_table, return or unreachable is dead until the next
// boundary and is not charged, nor is a segment made only of end/else.
func (in *instrumenter) segments(declaredLocals uint64) {
	n := len(in.instrs)
	if cap(in.charges) < n {
		in.charges = make([]uint64, n)
	}
	in.charges = in.charges[:n]
	clear(in.charges)
	start := 0
	cost := satAdd(satMul(declaredLocals, in.s.Local), in.s.Segment)
	work := declaredLocals > 0 // the entry segment pays for zeroing locals
	dead := false
	for k := range in.instrs {
		x := &in.instrs[k]
		switch x.op {
		case opEnd, opElse:
			// Structural markers that do no work: a segment of nothing
			// but these (Go emits long runs of end) is not charged.
		default:
			cost = satAdd(cost, in.s.instrCost(x))
			work = true
		}
		switch x.op {
		case opLoop, opIf, opElse, opEnd, opBr, opBrTable, opReturn, opUnreachable:
		default:
			continue
		}
		if !dead && work && start < n {
			in.charges[start] = satAdd(in.charges[start], cost)
		}
		start, cost, work = k+1, in.s.Segment, false
		dead = x.op == opBr || x.op == opBrTable || x.op == opReturn || x.op == opUnreachable
	}
}

// maxCharge caps one static charge. Validated modules never come near it
// (bodies ≤ 256 KiB, prices ≤ 2^24); it only keeps a hostile unvalidated
// input from wrapping a charge into a negative one, i.e. a refill.
const maxCharge = 1 << 62

func satAdd(a, b uint64) uint64 {
	if c := a + b; c >= a && c <= maxCharge {
		return c
	}
	return maxCharge
}

func satMul(a, b uint64) uint64 {
	if hi, lo := bits.Mul64(a, b); hi == 0 && lo <= maxCharge {
		return lo
	}
	return maxCharge
}

// checkGas stores the new gas value left on the stack by the callers below,
// then traps if it is negative. The trap leaves gas negative, which is how
// the host tells out-of-gas from other traps.
func (in *instrumenter) checkGas(out []byte) []byte {
	out = append(out, opGlobalSet)
	out = appendU32(out, in.gas)
	out = append(out, opGlobalGet)
	out = appendU32(out, in.gas)
	return append(out, opI64Const, 0, opI64LtS, opIf, 0x40, opUnreachable, opEnd)
}

// charge emits: gas -= c; if gas < 0 { unreachable }.
func (in *instrumenter) charge(out []byte, c uint64) []byte {
	out = append(out, opGlobalGet)
	out = appendU32(out, in.gas)
	out = append(out, opI64Const)
	out = appendS64(out, int64(c))
	out = append(out, opI64Sub)
	return in.checkGas(out)
}

// chargeLocal emits: gas -= price * f(local); trap if negative. With
// round16 the operand is first rounded up to 16-byte units.
func (in *instrumenter) chargeLocal(out []byte, local uint32, price uint64, round16 bool) []byte {
	out = append(out, opGlobalGet)
	out = appendU32(out, in.gas)
	out = append(out, opLocalGet)
	out = appendU32(out, local)
	out = append(out, opI64ExtendU)
	if round16 {
		out = append(out, opI64Const, 15, opI64Add, opI64Const, 4, opI64ShrU)
	}
	if price != 1 {
		out = append(out, opI64Const)
		out = appendS64(out, int64(price))
		out = append(out, opI64Mul)
	}
	out = append(out, opI64Sub)
	return in.checkGas(out)
}

func (in *instrumenter) enterCall(out []byte) []byte {
	out = append(out, opGlobalGet)
	out = appendU32(out, in.depth)
	out = append(out, opI32Const, 1, opI32Sub, opGlobalSet)
	out = appendU32(out, in.depth)
	out = append(out, opGlobalGet)
	out = appendU32(out, in.depth)
	return append(out, opI32Const, 0, opI32LtS, opIf, 0x40, opUnreachable, opEnd)
}

func (in *instrumenter) leaveCall(out []byte) []byte {
	out = append(out, opGlobalGet)
	out = appendU32(out, in.depth)
	out = append(out, opI32Const, 1, opI32Add, opGlobalSet)
	return appendU32(out, in.depth)
}

// memoryGrow replaces memory.grow: charge the requested pages, then grow
// only if the result stays within __amp_pages, else yield -1 like a failed
// grow.
func (in *instrumenter) memoryGrow(out []byte, t uint32) []byte {
	out = append(out, opLocalSet)
	out = appendU32(out, t)
	if in.s.MemoryGrowPage > 0 {
		out = in.chargeLocal(out, t, in.s.MemoryGrowPage, false)
	}
	out = append(out, opMemorySize, 0, opI64ExtendU, opLocalGet)
	out = appendU32(out, t)
	out = append(out, opI64ExtendU, opI64Add, opGlobalGet)
	out = appendU32(out, in.pages)
	out = append(out, opI64GtU, opIf, valI32, opI32Const, 0x7f, opElse, opLocalGet)
	out = appendU32(out, t)
	return append(out, opMemoryGrow, 0, opEnd)
}

// bulk charges the length operand (top of stack) of a bulk memory or table
// instruction and puts it back.
func (in *instrumenter) bulk(out []byte, x *instr, t uint32) []byte {
	price, round16 := in.s.TableElement, false
	switch x.sub {
	case fcMemoryInit, fcMemoryCopy, fcMemoryFill:
		price, round16 = in.s.Bulk16Bytes, true
	}
	if price == 0 {
		return out
	}
	out = append(out, opLocalSet)
	out = appendU32(out, t)
	out = in.chargeLocal(out, t, price, round16)
	out = append(out, opLocalGet)
	return appendU32(out, t)
}
