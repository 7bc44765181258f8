package contracts

import (
	"bytes"
	"testing"
)

func pooledRegions() int {
	memPool.Lock()
	defer memPool.Unlock()
	return len(memPool.free)
}

// A recycled region must be indistinguishable from a fresh one: everything
// the previous guest could reach is zero again, including beyond keepWarm.
func TestRecycledMemoryIsZero(t *testing.T) {
	// Set the pool aside so that the region freed below is the one reused,
	// whatever other tests left in it.
	memPool.Lock()
	saved := memPool.free
	memPool.free = nil
	memPool.Unlock()
	t.Cleanup(func() {
		memPool.Lock()
		memPool.free = append(memPool.free, saved...)
		memPool.Unlock()
	})
	a := &memAllocator{ceiling: 16 << 20}
	const big = keepWarm + 3<<16 // crosses the part returned to the kernel
	lm := a.Allocate(0, 1<<32)
	buf := lm.Reallocate(big)
	for i := range buf {
		buf[i] = 0xa5
	}
	region := lm.(*mmapMemory).region
	lm.Free()
	lm2 := a.Allocate(0, 1<<32)
	if got := lm2.(*mmapMemory).region; &got[0] != &region[0] {
		t.Fatal("a freed region was not recycled")
	}
	buf = lm2.Reallocate(16 << 20)
	if !bytes.Equal(buf, make([]byte, len(buf))) {
		t.Fatal("recycled memory is not zero")
	}
	if lm2.Reallocate(16<<20+1) != nil {
		t.Fatal("grew past the ceiling")
	}
	lm2.Free()
}
