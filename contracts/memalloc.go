package contracts

import "github.com/tetratelabs/wazero/experimental"

// Linear memories are reserved once at their ceiling and never move.
//
// wazero's default grows a memory by append, which re-allocates and copies
// the whole memory every ~25% of growth and leaves the old copies to the GC:
// measured here, growing one page at a time to 512 pages took 45–120 ms,
// i.e. ~100 µs a page, far more than anything else a rule can buy with gas.
// Reserving the ceiling (Limits.MaxMemoryPages, 32 MiB by default) up front
// makes growth a length change (see memalloc_linux.go). Semantics are
// unchanged: memory.grow still fails exactly at the ceiling the injected
// code checks, so where reserving is unavailable the heap fallback below
// behaves identically, only slower.

// memAllocator makes the linear memory of one instance.
type memAllocator struct {
	ceiling uint64 // bytes: Limits.MaxMemoryPages pages
	// mem is the memory handed out, so that a failed instantiation (which
	// wazero abandons without closing) can still release it.
	mem experimental.LinearMemory
	// cur is the memory's current buffer, the same slice wazero runs the
	// guest on (it takes every buffer from Reallocate), so host functions
	// reach guest memory without going through api.Module/api.Memory.
	cur []byte
}

func (a *memAllocator) Allocate(capBytes, maxBytes uint64) experimental.LinearMemory {
	reserve := min(maxBytes, a.ceiling)
	if m := reserveMemory(reserve, &a.cur); m != nil {
		a.mem = m
		return m
	}
	a.mem = &heapMemory{limit: reserve, view: &a.cur}
	return a.mem
}

// heapMemory is the portable fallback: a Go slice grown by copying.
type heapMemory struct {
	buf   []byte
	limit uint64
	view  *[]byte // memAllocator.cur
}

func (m *heapMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
	} else {
		nb := make([]byte, size, min(max(size, uint64(cap(m.buf))*2), m.limit))
		copy(nb, m.buf)
		m.buf = nb
	}
	*m.view = m.buf
	return m.buf
}

func (m *heapMemory) Free() { m.buf, *m.view = nil, nil }
