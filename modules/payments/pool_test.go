package payments

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/module"
)

// sortedStore is a read-only store over sorted keys whose Iterate seeks to
// its prefix, as badger does, and counts the keys it visits; layered is a
// write buffer over it, as the app's per-block overlay is over badger. A
// MemStore would sort the whole state on each Iterate, measuring itself.
type sortedStore struct {
	keys    []string
	vals    map[string][]byte
	visited int
}

func freeze(m *module.MemStore) *sortedStore {
	s := &sortedStore{vals: map[string][]byte{}}
	m.Iterate(nil, func(k, v []byte) bool {
		s.keys = append(s.keys, string(k))
		s.vals[string(k)] = v
		return true
	})
	return s
}

func (s *sortedStore) Get(k []byte) []byte { return s.vals[string(k)] }
func (s *sortedStore) Set(_, _ []byte)     { panic("read-only") }
func (s *sortedStore) Delete(_ []byte)     { panic("read-only") }
func (s *sortedStore) Iterate(prefix []byte, fn func(k, v []byte) bool) {
	for i := sort.SearchStrings(s.keys, string(prefix)); i < len(s.keys) && strings.HasPrefix(s.keys[i], string(prefix)); i++ {
		s.visited++
		if !fn([]byte(s.keys[i]), s.vals[s.keys[i]]) {
			return
		}
	}
}

type layered struct {
	parent module.Store
	w      map[string][]byte // nil: deleted
}

func (l *layered) Get(k []byte) []byte {
	if v, ok := l.w[string(k)]; ok {
		return v
	}
	return l.parent.Get(k)
}
func (l *layered) Set(k, v []byte) {
	if v == nil {
		v = []byte{}
	}
	l.w[string(k)] = v
}
func (l *layered) Delete(k []byte) { l.w[string(k)] = nil }
func (l *layered) Iterate(prefix []byte, fn func(k, v []byte) bool) {
	var mine []string
	for k := range l.w {
		if strings.HasPrefix(k, string(prefix)) {
			mine = append(mine, k)
		}
	}
	sort.Strings(mine)
	i, stopped := 0, false
	emit := func(limit []byte) bool {
		for ; i < len(mine) && (limit == nil || mine[i] < string(limit)); i++ {
			if v := l.w[mine[i]]; v != nil && !fn([]byte(mine[i]), v) {
				return false
			}
		}
		return true
	}
	l.parent.Iterate(prefix, func(k, v []byte) bool {
		if !emit(k) {
			stopped = true
			return false
		}
		if i < len(mine) && mine[i] == string(k) {
			v = l.w[mine[i]]
			i++
			if v == nil {
				return true
			}
		}
		if !fn(k, v) {
			stopped = true
			return false
		}
		return true
	})
	if !stopped {
		emit(nil)
	}
}

// outstanding builds a state with n escrowed payments of 0.000001 USD of
// agent-1 to shop, due of them releasing at w.now and the rest over the
// next 100 days, and returns it frozen.
func outstanding(t testing.TB, n, due int) (*kworld, *sortedStore) {
	w := newKWorld(t)
	ctx := w.ctx(w.store)
	s := st(ctx)
	alice, shop := w.alice.PubKey().Address(), w.shop.PubKey().Address()
	amt := chain.NewAmount(1_000_000_000_000)
	now := w.now.Unix()
	for i := 1; i <= n; i++ {
		release := now - 1
		if i > due {
			release = now + 1 + int64(i)*100*86400/int64(n)
		}
		p := &pb.Payment{Id: uint64(i), Mandate: 1, Agent: 1, Person: alice[:], Merchant: shop[:], Settlement: shop[:], Asset: "USD",
			Amount: amt.String(), OrderHash: bytes.Repeat([]byte{byte(i)}, 32), Status: StatusEscrowed, CapturedAt: release - 7*86400,
			CapturedHeight: 1, ReleaseAt: release}
		save(ctx, paymentKey(p.Id), p)
		s.Set(billKey(1, p.Id), []byte{})
		s.Set(releaseKey(p.ReleaseAt, p.Id), []byte{})
	}
	s.Set([]byte("n/payment"), binary.BigEndian.AppendUint64(nil, uint64(n)))
	total, _ := amt.MulDiv(uint64(n), 1)
	if err := w.bk.Mint(ctx, EscrowAccount, chain.Coin{Asset: "USD", Amount: total}); err != nil {
		t.Fatal(err)
	}
	return w, freeze(w.store)
}

// TestEndBlockDoesNotScan: releasing 100 of 20,000 outstanding payments
// visits about 100 keys of the committed state, not 20,000 (and every
// payment due is released, its fee in the pool).
func TestEndBlockDoesNotScan(t *testing.T) {
	w, base := outstanding(t, 20_000, 100)
	l := &layered{parent: base, w: map[string][]byte{}}
	ctx := module.NewContext("bench", 2, w.now, l, nil, w.authorizers)
	if err := w.pay.EndBlock(ctx); err != nil {
		t.Fatal(err)
	}
	if base.visited > 100+20 {
		t.Fatalf("end of block visited %d stored keys to release 100 payments", base.visited)
	}
	released := 0
	for i := uint64(1); i <= 20_000; i++ {
		p, err := w.pay.Payment(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status == StatusReleased {
			released++
		}
		if (p.Status == StatusReleased) != (i <= 100) {
			t.Fatalf("payment-%d: %s", i, StatusName(p.Status))
		}
	}
	pool, _ := w.pay.Pool(ctx, "USD")
	if released != 100 || optAmount(pool.Balance).String() != "100000000000" { // 100 × 0.1% of 10^12
		t.Fatalf("%d released, pool %+v", released, pool)
	}
}

// BenchmarkEndBlockRelease is the end of a block with 100,000 escrowed
// payments outstanding of which 1,000 release (fee to the pool, merchant
// paid, trust and reports updated), over a sorted store with a per-block
// write buffer as in the app; for comparison the same with 10,000
// outstanding. It reports µs per released payment and the stored keys the
// block visits.
func BenchmarkEndBlockRelease(b *testing.B) {
	for _, n := range []int{100_000, 10_000} {
		b.Run(fmt.Sprintf("outstanding=%d", n), func(b *testing.B) { benchRelease(b, n, 1_000) })
	}
}

func benchRelease(b *testing.B, n, due int) {
	w, base := outstanding(b, n, due)
	runtime.GC() // the set-up's garbage is not the end of block's
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := &layered{parent: base, w: map[string][]byte{}}
		ctx := module.NewContext("bench", 2, w.now, l, nil, w.authorizers)
		if err := w.ps.BeginBlock(ctx); err != nil {
			b.Fatal(err)
		}
		if err := w.pay.EndBlock(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*due), "µs/released")
	b.ReportMetric(float64(base.visited)/float64(b.N), "keys-visited/block")
}
