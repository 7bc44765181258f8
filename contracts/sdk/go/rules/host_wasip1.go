//go:build wasip1

package rules

import (
	"encoding/binary"
	"unsafe"
)

// Host functions of the rules_v1 import module. Offsets are pointers into the
// module's memory; an out-of-bounds range traps.

//go:wasmimport rules_v1 state_get
//go:noescape
func hostStateGet(key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valCap uint32) int32

//go:wasmimport rules_v1 state_set
//go:noescape
func hostStateSet(key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32) int32

//go:wasmimport rules_v1 state_del
//go:noescape
func hostStateDel(key unsafe.Pointer, keyLen uint32)

//go:wasmimport rules_v1 ctx_get
func hostCtxGet(field int32) int64

//go:wasmimport rules_v1 emit_event
//go:noescape
func hostEmitEvent(p unsafe.Pointer, n uint32) int32

//go:wasmimport rules_v1 abort
//go:noescape
func hostAbort(code int32, msg unsafe.Pointer, msgLen uint32)

//go:wasmimport rules_v1 sha256
//go:noescape
func hostSha256(p unsafe.Pointer, n uint32, out unsafe.Pointer)

// Required exports.

//go:wasmexport rules_abi_v1
//lint:ignore U1000 exported to the host
func rulesABIv1() {}

//go:wasmexport rule_buffer
//lint:ignore U1000 exported to the host
func ruleBuffer() int32 { return int32(uintptr(unsafe.Pointer(&buffer[0]))) }

//go:wasmexport evaluate
//lint:ignore U1000 exported to the host
func evaluate(entry int32, inLen int32) int64 {
	if handler == nil {
		Abort(-2, "rules: no handler registered (call rules.Handle in an init function)")
	}
	return int64(handler(Input{entry: Entry(entry), n: int(inLen)}))
}

var handler func(Input) Decision

// Handle registers the rule. Call it from an init function of the main
// package: the module is a reactor, whose _initialize runs the init functions
// but never main.
func Handle(h func(Input) Decision) { handler = h }

// Key is the type of a state key: a string, a byte slice or a KeyBuf, of 1 to
// 64 bytes (else the host traps).
type Key interface {
	string | []byte | KeyBuf
}

func keyRef[K Key](k *K) (unsafe.Pointer, uint32) {
	switch v := any(k).(type) {
	case *string:
		return unsafe.Pointer(unsafe.StringData(*v)), uint32(len(*v))
	case *[]byte:
		return unsafe.Pointer(unsafe.SliceData(*v)), uint32(len(*v))
	case *KeyBuf:
		return unsafe.Pointer(&v.b[0]), uint32(v.n)
	}
	panic("unreachable")
}

func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// scratch holds values read or written by the typed helpers.
var scratch [MaxValue]byte

// Get copies the value of key into dst (as much as fits) and returns the
// value's length, or ok=false if the key is absent.
func Get[K Key](key K, dst []byte) (n int, ok bool) {
	kp, kn := keyRef(&key)
	r := hostStateGet(kp, kn, ptr(dst), uint32(len(dst)))
	return int(r), r >= 0
}

// GetBytes returns a copy of the value of key, or nil if absent.
func GetBytes[K Key](key K) []byte {
	n, ok := Get(key, scratch[:])
	if !ok {
		return nil
	}
	return append([]byte{}, scratch[:min(n, MaxValue)]...)
}

// Has reports whether key is set.
func Has[K Key](key K) bool {
	kp, kn := keyRef(&key)
	return hostStateGet(kp, kn, nil, 0) >= 0
}

// Set sets key to value (at most 1024 bytes). It traps in a query.
func Set[K Key](key K, value []byte) {
	kp, kn := keyRef(&key)
	hostStateSet(kp, kn, ptr(value), uint32(len(value)))
}

// Del deletes key. It traps in a query.
func Del[K Key](key K) {
	kp, kn := keyRef(&key)
	hostStateDel(kp, kn)
}

// GetU64 is a u64 stored little-endian (shorter values are zero-extended), or
// def if absent; a longer value aborts with AbortBadState.
func GetU64[K Key](key K, def uint64) uint64 {
	clear(scratch[:8])
	n, ok := Get(key, scratch[:8])
	if !ok {
		return def
	}
	if n > 8 {
		Abort(AbortBadState, "state value is not a u64")
	}
	return binary.LittleEndian.Uint64(scratch[:8])
}

// SetU64 stores v as 8 bytes little-endian.
func SetU64[K Key](key K, v uint64) {
	binary.LittleEndian.PutUint64(scratch[:8], v)
	Set(key, scratch[:8])
}

// GetU128 is a u128 stored as 16 bytes little-endian (shorter values are
// zero-extended), or def if absent; a longer value aborts with AbortBadState.
func GetU128[K Key](key K, def U128) U128 {
	clear(scratch[:16])
	n, ok := Get(key, scratch[:16])
	if !ok {
		return def
	}
	if n > 16 {
		Abort(AbortBadState, "state value is not a u128")
	}
	return U128From(scratch[:16])
}

// SetU128 stores v as 16 bytes little-endian.
func SetU128[K Key](key K, v U128) {
	v.Put(scratch[:16])
	Set(key, scratch[:16])
}

// GetAmount is an amount a merchant stored under key, in base units of an
// asset with decimals decimals (the forms of ParseAmount), or def if absent;
// a malformed value aborts with AbortBadState.
func GetAmount[K Key](key K, decimals uint8, def U128) U128 {
	n, ok := Get(key, scratch[:])
	if !ok {
		return def
	}
	v, ok := ParseAmount(scratch[:min(n, MaxValue)], decimals)
	if !ok {
		Abort(AbortBadState, "state value is not an amount")
	}
	return v
}

// Ctx is the host's ctx_get: CtxHeight, CtxTime or CtxRuleVersion (other
// fields trap). The same values are in the input header.
func Ctx(field int32) int64 { return hostCtxGet(field) }

// Emit emits an event (at most 8 per evaluation of at most 256 bytes; beyond
// traps).
func Emit(b []byte) { hostEmitEvent(ptr(b), uint32(len(b))) }

// EmitString emits a text event.
func EmitString(s string) { hostEmitEvent(unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))) }

// Abort ends the evaluation with result class abort and code. It does not
// return.
func Abort(code int32, msg string) {
	msg = cutText(msg, MaxMessage)
	hostAbort(code, unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	panic("rules: abort returned")
}

// Sha256 is the SHA-256 of b, computed by the host.
func Sha256(b []byte) (h [32]byte) {
	hostSha256(ptr(b), uint32(len(b)), unsafe.Pointer(&h[0]))
	return h
}
