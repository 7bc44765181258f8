package rules

import (
	"encoding/binary"
	"math/bits"
	"strconv"
)

// U128 is an unsigned 128-bit integer: amounts are u128 base units of their
// asset. Arithmetic that overflows (or a subtraction below zero) panics, which
// ends the evaluation as a trap.
type U128 struct{ Lo, Hi uint64 }

// U64 is v as a U128.
func U64(v uint64) U128 { return U128{Lo: v} }

// U128From reads 16 little-endian bytes.
func U128From(b []byte) U128 {
	_ = b[15]
	return U128{Lo: binary.LittleEndian.Uint64(b), Hi: binary.LittleEndian.Uint64(b[8:])}
}

// Units is whole·10^decimals: Units(5, 18) is 5 USD in base units.
func Units(whole uint64, decimals uint8) U128 {
	v := U64(whole)
	for i := uint8(0); i < decimals; i++ {
		v = v.MulU64(10)
	}
	return v
}

// Put writes v as 16 little-endian bytes.
func (v U128) Put(b []byte) {
	_ = b[15]
	binary.LittleEndian.PutUint64(b, v.Lo)
	binary.LittleEndian.PutUint64(b[8:], v.Hi)
}

// Bytes is v as 16 little-endian bytes.
func (v U128) Bytes() (b [16]byte) {
	v.Put(b[:])
	return b
}

// IsZero reports whether v is 0.
func (v U128) IsZero() bool { return v.Lo|v.Hi == 0 }

// Cmp returns -1, 0 or 1.
func (v U128) Cmp(o U128) int {
	switch {
	case v.Hi != o.Hi:
		if v.Hi < o.Hi {
			return -1
		}
		return 1
	case v.Lo != o.Lo:
		if v.Lo < o.Lo {
			return -1
		}
		return 1
	}
	return 0
}

// AddOK is v+o and whether it did not overflow.
func (v U128) AddOK(o U128) (U128, bool) {
	lo, c := bits.Add64(v.Lo, o.Lo, 0)
	hi, c := bits.Add64(v.Hi, o.Hi, c)
	return U128{lo, hi}, c == 0
}

// Add is v+o; it panics on overflow.
func (v U128) Add(o U128) U128 {
	r, ok := v.AddOK(o)
	if !ok {
		panic("rules: u128 overflow")
	}
	return r
}

// SubOK is v-o and whether o ≤ v.
func (v U128) SubOK(o U128) (U128, bool) {
	lo, b := bits.Sub64(v.Lo, o.Lo, 0)
	hi, b := bits.Sub64(v.Hi, o.Hi, b)
	return U128{lo, hi}, b == 0
}

// Sub is v-o; it panics if o > v.
func (v U128) Sub(o U128) U128 {
	r, ok := v.SubOK(o)
	if !ok {
		panic("rules: u128 underflow")
	}
	return r
}

// MulU64OK is v·m and whether it did not overflow.
func (v U128) MulU64OK(m uint64) (U128, bool) {
	h1, lo := bits.Mul64(v.Lo, m)
	h2, l2 := bits.Mul64(v.Hi, m)
	hi, c := bits.Add64(l2, h1, 0)
	return U128{lo, hi}, h2 == 0 && c == 0
}

// MulU64 is v·m; it panics on overflow.
func (v U128) MulU64(m uint64) U128 {
	r, ok := v.MulU64OK(m)
	if !ok {
		panic("rules: u128 overflow")
	}
	return r
}

// String is v in decimal (base units).
func (v U128) String() string {
	if v.Hi == 0 {
		return strconv.FormatUint(v.Lo, 10)
	}
	var buf [40]byte
	i := len(buf)
	for !v.IsZero() {
		var r uint64
		v.Hi, r = bits.Div64(0, v.Hi, 10)
		v.Lo, r = bits.Div64(r, v.Lo, 10)
		i--
		buf[i] = byte('0' + r)
	}
	return string(buf[i:])
}

// ParseAmount parses a stored amount, in base units of an asset with
// decimals decimals. Two forms are accepted:
//   - exactly 16 bytes that are not all ASCII digits or '.': a u128
//     little-endian in base units (what SetU128 writes);
//   - otherwise ASCII decimal text in whole units of the asset with an optional
//     fraction: "10", "10.5", "0.25" (at most decimals fraction digits).
func ParseAmount(b []byte, decimals uint8) (U128, bool) {
	text := len(b) > 0
	for _, c := range b {
		if (c < '0' || c > '9') && c != '.' {
			text = false
			break
		}
	}
	if !text {
		if len(b) == 16 {
			return U128From(b), true
		}
		return U128{}, false
	}
	var v U128
	frac, digits, dot := uint8(0), 0, false
	for _, c := range b {
		if c == '.' {
			if dot {
				return U128{}, false
			}
			dot = true
			continue
		}
		if dot {
			if frac >= decimals {
				return U128{}, false
			}
			frac++
		}
		var ok bool
		if v, ok = v.MulU64OK(10); !ok {
			return U128{}, false
		}
		if v, ok = v.AddOK(U64(uint64(c - '0'))); !ok {
			return U128{}, false
		}
		digits++
	}
	if digits == 0 {
		return U128{}, false
	}
	for ; frac < decimals; frac++ {
		var ok bool
		if v, ok = v.MulU64OK(10); !ok {
			return U128{}, false
		}
	}
	return v, true
}
