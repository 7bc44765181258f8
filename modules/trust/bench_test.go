package trust

import (
	"fmt"
	"testing"
	"time"

	"github.com/amp-ledger/amp/modules/module"
)

// BenchmarkRescore measures EndBlock's cost per touched agent: a store of
// 10,000 rated agents, of which 1,000 settle a payment in each block and
// are rescored at its end. Recording the payments (tx work) is outside the
// timed part. The figure includes the in-memory store's iteration, which
// scans every key of the store for each prefix (the app's store seeks).
func BenchmarkRescore(b *testing.B) {
	const agents, touched = 10_000, 1_000
	s := newSim(b, map[string]any{ParamRescoreInterval: 1_000_000})
	ids := make([]string, agents)
	for i := range ids {
		ids[i] = fmt.Sprintf("agent-%d", i+1)
		s.onboard(ids[i], 3650, 1+uint32(i%3))
	}
	s.endBlock(s.now + 1)
	one := usd(b, "12.5")
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		for i := range touched {
			if err := s.k.RecordSettledPayment(s.ctx(), ids[(n*touched+i)%agents], one); err != nil {
				b.Fatal(err)
			}
		}
		ctx := s.ctx()
		b.StartTimer()
		if err := s.k.EndBlock(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.height++
		s.now += 3600
		s.inBlock = nil
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*touched), "ns/agent")
}

// BenchmarkRescoreOne is the part of BenchmarkRescore that does not depend
// on the store's iteration: one agent's Get, decode, evaluation, encode and
// Set.
func BenchmarkRescoreOne(b *testing.B) {
	s := newSim(b, nil)
	s.onboard("agent-1", 3650, 2)
	s.pay("agent-1", 40, usd(b, "99.99"))
	s.endBlock(s.now + 1)
	c, err := s.k.config(s.ctx())
	if err != nil {
		b.Fatal(err)
	}
	for n := range b.N {
		s.height++
		s.now += 10
		ctx := module.NewContext("test", s.height, time.Unix(s.now, 0), s.store, nil, nil)
		e := endBlock{ctx: ctx, s: store(ctx), c: c}
		if err := e.rescore("agent-1", false, n%2 == 0); err != nil {
			b.Fatal(err)
		}
	}
}
