package contracts

// Instruction decoding for function bodies. Only the encodings of the
// features rules may use are understood (WebAssembly 2.0 without SIMD, plus
// nothing from threads, tail calls, exceptions, typed function references or
// GC); everything else is refused here so that the instrumenter never copies
// an instruction it cannot account for.

// Opcodes the instrumenter and checker care about by name.
const (
	opUnreachable  byte = 0x00
	opBlock        byte = 0x02
	opLoop         byte = 0x03
	opIf           byte = 0x04
	opElse         byte = 0x05
	opEnd          byte = 0x0b
	opBr           byte = 0x0c
	opBrIf         byte = 0x0d
	opBrTable      byte = 0x0e
	opReturn       byte = 0x0f
	opCall         byte = 0x10
	opCallIndirect byte = 0x11
	opLocalGet     byte = 0x20
	opLocalSet     byte = 0x21
	opLocalTee     byte = 0x22
	opGlobalGet    byte = 0x23
	opGlobalSet    byte = 0x24
	opMemorySize   byte = 0x3f
	opMemoryGrow   byte = 0x40
	opI32Const     byte = 0x41
	opI64Const     byte = 0x42
	opI32Eq        byte = 0x46
	opI32LtS       byte = 0x48
	opI32Add       byte = 0x6a
	opI32Sub       byte = 0x6b
	opI64LtS       byte = 0x53
	opI64GtU       byte = 0x56
	opI64Add       byte = 0x7c
	opI64Sub       byte = 0x7d
	opI64Mul       byte = 0x7e
	opI64ShrU      byte = 0x88
	opI64ExtendU   byte = 0xad // i64.extend_i32_u
	opPrefixFC     byte = 0xfc
)

// 0xFC sub-opcodes that move a dynamic number of bytes or elements.
const (
	fcMemoryInit uint32 = 8
	fcMemoryCopy uint32 = 10
	fcMemoryFill uint32 = 11
	fcTableInit  uint32 = 12
	fcTableCopy  uint32 = 14
	fcTableGrow  uint32 = 15
	fcTableFill  uint32 = 17
)

// instr is one decoded instruction: its byte range in the body and the
// immediates the instrumenter needs.
type instr struct {
	pos, end int    // [pos, end) in the expression bytes
	op       byte   // first byte
	sub      uint32 // 0xFC sub-opcode
	imm      uint32 // function, local or global index; br_table target count
}

// decodeInstrs appends the instructions of expr to buf. It checks nesting
// (every block closed, nothing after the final end) because the instrumenter
// relies on it, and index ranges that could reach the injected meter.
func decodeInstrs(expr []byte, buf []instr, numLocals uint64, numGlobals uint32) ([]instr, error) {
	r := &reader{b: expr}
	depth := 1 // the function body itself
	for !r.eof() {
		if depth == 0 {
			return buf, parseErr("instructions after the end of the function")
		}
		in := instr{pos: r.pos}
		op, _ := r.byte1()
		in.op = op
		var err error
		switch {
		case op == opBlock || op == opLoop || op == opIf:
			err = r.blockType()
			depth++
		case op == opEnd:
			depth--
		case op == opElse, op == opUnreachable, op == 0x01, op == opReturn, op == 0x1a, op == 0x1b:
		case op == opBr || op == opBrIf:
			_, err = r.u32()
		case op == opBrTable:
			var n uint32
			if n, err = r.count("br_table"); err == nil {
				in.imm = n
				for i := uint32(0); i <= n && err == nil; i++ {
					_, err = r.u32()
				}
			}
		case op == opCall:
			in.imm, err = r.u32()
		case op == opCallIndirect:
			if _, err = r.u32(); err == nil {
				_, err = r.u32()
			}
		case op == 0x1c: // select t*
			var n uint32
			if n, err = r.u32(); err == nil {
				if n != 1 {
					return buf, parseErr("select with %d types", n)
				}
				var t byte
				if t, err = r.byte1(); err == nil {
					err = checkValType(t)
				}
			}
		case op >= opLocalGet && op <= opLocalTee:
			if in.imm, err = r.u32(); err == nil && uint64(in.imm) >= numLocals {
				return buf, errorf(ProblemMeter, "local %d out of range", in.imm)
			}
		case op == opGlobalGet || op == opGlobalSet:
			if in.imm, err = r.u32(); err == nil && in.imm >= numGlobals {
				return buf, errorf(ProblemMeter, "global %d out of range (the meter lives there)", in.imm)
			}
		case op == 0x25 || op == 0x26: // table.get/set
			_, err = r.u32()
		case op >= 0x28 && op <= 0x3e: // loads and stores
			var align uint32
			if align, err = r.u32(); err == nil {
				if align >= 64 {
					return buf, featureErr("multi-memory memarg is not allowed")
				}
				_, err = r.u32()
			}
		case op == opMemorySize || op == opMemoryGrow:
			err = r.zeroByte()
		case op == opI32Const:
			_, err = r.sleb(5)
		case op == opI64Const:
			_, err = r.sleb(10)
		case op == 0x43:
			_, err = r.bytes(4)
		case op == 0x44:
			_, err = r.bytes(8)
		case op >= 0x45 && op <= 0xc4: // numeric, no immediates
		case op == 0xd0: // ref.null t
			var t byte
			if t, err = r.byte1(); err == nil && t != valFuncref && t != valExternref {
				return buf, featureErr("ref.null 0x%02x is not allowed", t)
			}
		case op == 0xd1: // ref.is_null
		case op == 0xd2: // ref.func
			_, err = r.u32()
		case op == opPrefixFC:
			in.sub, err = r.fcImmediates()
		default:
			return buf, opcodeErr(op)
		}
		if err != nil {
			return buf, wrapParse(err, "instruction")
		}
		in.end = r.pos
		buf = append(buf, in)
	}
	if depth != 0 {
		return buf, parseErr("function body ends inside a block")
	}
	return buf, nil
}

func opcodeErr(op byte) error {
	switch op {
	case 0x12, 0x13:
		return featureErr("tail calls are not allowed")
	case 0x06, 0x07, 0x08, 0x09, 0x0a, 0x18, 0x19, 0x1f:
		return featureErr("exception handling is not allowed")
	case 0x14, 0x15, 0xd3, 0xd4, 0xd5, 0xd6:
		return featureErr("typed function references are not allowed")
	case 0xfb:
		return featureErr("GC instructions are not allowed")
	case 0xfd:
		return featureErr("SIMD is not allowed")
	case 0xfe:
		return featureErr("threads (atomics) are not allowed")
	}
	return parseErr("unknown opcode 0x%02x", op)
}

func (r *reader) zeroByte() error {
	c, err := r.byte1()
	if err != nil {
		return err
	}
	if c != 0 {
		return featureErr("memory index %d: multi-memory is not allowed", c)
	}
	return nil
}

// blockType reads the empty type, a value type or a type index (s33).
func (r *reader) blockType() error {
	if r.pos >= len(r.b) {
		return errMalformed
	}
	switch c := r.b[r.pos]; c {
	case 0x40:
		r.pos++
		return nil
	case valI32, valI64, valF32, valF64, valFuncref, valExternref:
		r.pos++
		return nil
	case valV128:
		return featureErr("SIMD block type is not allowed")
	}
	v, err := r.sleb(5)
	if err != nil {
		return err
	}
	if v < 0 {
		return featureErr("block type %d is not allowed", v)
	}
	return nil
}

func (r *reader) fcImmediates() (uint32, error) {
	sub, err := r.u32()
	if err != nil {
		return 0, err
	}
	switch {
	case sub <= 7: // saturating truncations
	case sub == fcMemoryInit:
		if _, err = r.u32(); err == nil {
			err = r.zeroByte()
		}
	case sub == 9, sub == 13: // data.drop, elem.drop
		_, err = r.u32()
	case sub == fcMemoryCopy:
		if err = r.zeroByte(); err == nil {
			err = r.zeroByte()
		}
	case sub == fcMemoryFill:
		err = r.zeroByte()
	case sub == fcTableInit, sub == fcTableCopy:
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
	case sub == fcTableGrow, sub == 16, sub == fcTableFill:
		_, err = r.u32()
	default:
		return sub, featureErr("instruction 0xfc %d is not allowed", sub)
	}
	return sub, err
}
