//go:build linux || darwin || freebsd

package contracts

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// mmapMemory is a linear memory inside an anonymous private mapping of its
// ceiling. Pages are committed by the kernel on first touch and returned on
// Free (module close); the address never changes.
type mmapMemory struct {
	region []byte
}

func reserveMemory(n uint64) experimental.LinearMemory {
	if n == 0 || n > 1<<32 {
		return nil
	}
	b, err := syscall.Mmap(-1, 0, int(n), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|mapNoReserve)
	if err != nil {
		return nil // the heap fallback has the same semantics
	}
	return &mmapMemory{region: b}
}

func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.region)) {
		return nil
	}
	return m.region[:size]
}

func (m *mmapMemory) Free() {
	if m.region != nil {
		syscall.Munmap(m.region)
		m.region = nil
	}
}
