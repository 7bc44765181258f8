package contracts

import "errors"

// errMalformed is the single error value the byte reader reports: the binary
// is truncated or a LEB128 number is over-long. Callers wrap it with context.
var errMalformed = errors.New("malformed binary")

// reader walks a WebAssembly binary. It never panics on hostile input: every
// read checks bounds and LEB128 numbers are limited to their type's width, as
// the spec requires, so a crafted 10-byte "u32" is rejected rather than
// silently truncated.
type reader struct {
	b   []byte
	pos int
}

func (r *reader) eof() bool { return r.pos >= len(r.b) }

func (r *reader) byte1() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errMalformed
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) bytes(n uint32) ([]byte, error) {
	if uint64(n) > uint64(len(r.b)-r.pos) {
		return nil, errMalformed
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s, nil
}

// u32 reads an unsigned LEB128 of at most 5 bytes whose value fits 32 bits.
func (r *reader) u32() (uint32, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		c, err := r.byte1()
		if err != nil {
			return 0, err
		}
		if i == 4 && c&0xf0 != 0 { // unused high bits must be zero
			return 0, errMalformed
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errMalformed
}

// sleb skips a signed LEB128 of at most maxBytes bytes (5 for i32, 10 for i64,
// 5 for the s33 block type) and returns its value sign-extended to int64.
func (r *reader) sleb(maxBytes int) (int64, error) {
	var v int64
	var shift uint
	for i := 0; i < maxBytes; i++ {
		c, err := r.byte1()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
	return 0, errMalformed
}

// name reads a length-prefixed UTF-8 name. Validity of the UTF-8 is left to
// wazero's validation; we only need the bytes for comparisons.
func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(n)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}
