package contracts

import (
	"context"
	"reflect"
	"testing"
)

// ctxRules are rules that read the block context in every way the ABI
// allows, for comparing the inlined ctx_get with the host function.
func ctxRules() []struct {
	name    string
	wasm    []byte
	inlined bool // a direct call exists, so the engine must inline
} {
	fields := rule(func(m *tMod) []byte {
		ctx := m.imp(ABIVersion, "ctx_get", "i", "I")
		return cat(
			i32c(testBuf),
			i32c(CtxHeight), call(ctx),
			i32c(CtxTime), call(ctx), i64c(3), op(opI64Mul), op(opI64Add),
			i32c(CtxRuleVersion), call(ctx), i64c(7), op(opI64Mul), op(opI64Add),
			i64store(0),
			ret64(8, DecisionHold),
		)
	})
	unknown := func(f int32) []byte {
		return rule(func(m *tMod) []byte {
			ctx := m.imp(ABIVersion, "ctx_get", "i", "I")
			return cat(i32c(f), call(ctx), op(0x1a), ret64(0, DecisionAccept))
		}).bytes()
	}
	// fifty reads in a loop: a gas sweep ends inside any of them.
	loop50 := rule(func(m *tMod) []byte {
		ctx := m.imp(ABIVersion, "ctx_get", "i", "I")
		return cat(
			i32c(50), lset(2),
			block(), loop(),
			lget(2), op(0x45), brIf(1), // i32.eqz
			lget(2), i32c(1), op(opI32Sub), lset(2),
			lget(6), i32c(CtxTime), call(ctx), op(opI64Add), lset(6),
			br(0),
			end(), end(),
			i32c(testBuf), lget(6), i64store(0),
			ret64(8, DecisionHold),
		)
	})
	// _initialize keeps the block time in a global; evaluate returns it.
	withInit := rule(func(m *tMod) []byte {
		ctx := m.imp(ABIVersion, "ctx_get", "i", "I")
		m.globals = append(m.globals, []byte{valI64, 1, opI64Const, 0, opEnd})
		m.export(ExportInitialize, kindFunc, m.fn("", "", nil, i32c(CtxTime), call(ctx), gset(0)))
		return cat(i32c(testBuf), gget(0), i64store(0), ret64(8, DecisionHold))
	})
	// Only through a table: nothing to redirect, the host function answers.
	table := rule(func(m *tMod) []byte {
		ctx := m.imp(ABIVersion, "ctx_get", "i", "I")
		m.tables = append(m.tables, []byte{valFuncref, 0, 1})
		m.elems = append(m.elems, cat([]byte{0}, i32c(0), end(), appendU32(nil, 1), appendU32(nil, ctx)))
		return cat(
			i32c(testBuf), i32c(CtxHeight), i32c(0),
			op(opCallIndirect), appendU32(nil, m.typ("i", "I")), op(0),
			i64store(0), ret64(8, DecisionHold),
		)
	})
	// Both: a direct call (inlined) and one through the table (host).
	both := rule(func(m *tMod) []byte {
		ctx := m.imp(ABIVersion, "ctx_get", "i", "I")
		m.tables = append(m.tables, []byte{valFuncref, 0, 1})
		m.elems = append(m.elems, cat([]byte{0}, i32c(0), end(), appendU32(nil, 1), appendU32(nil, ctx)))
		return cat(
			i32c(testBuf),
			i32c(CtxHeight), i32c(0), op(opCallIndirect), appendU32(nil, m.typ("i", "I")), op(0),
			i32c(CtxRuleVersion), call(ctx), op(opI64Add),
			i64store(0), ret64(8, DecisionHold),
		)
	})
	return []struct {
		name    string
		wasm    []byte
		inlined bool
	}{
		{"fields", fields.bytes(), true},
		{"field 0", unknown(0), true},
		{"field 4", unknown(4), true},
		{"field -1", unknown(-1), true},
		{"loop", loop50.bytes(), true},
		{"_initialize", withInit.bytes(), true},
		{"table only", table.bytes(), false},
		{"direct and table", both.bytes(), true},
		{"daily total", dailyTotalRule(), true},
	}
}

// TestInlineCtxMatchesHost runs every rule on an engine that inlines
// ctx_get and on one that keeps the host function, with the same calls —
// several block contexts, and every gas limit around the end of the run so
// that out_of_gas falls on each charge — and requires identical results.
func TestInlineCtxMatchesHost(t *testing.T) {
	ctx := context.Background()
	inl, host := inlineAndHostEngines(t)
	for _, r := range ctxRules() {
		t.Run(r.name, func(t *testing.T) {
			code := deploy(t, r.wasm)
			ci, err := inl.compile(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			ch, err := host.compile(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			if ci.ctxGet != r.inlined || ch.ctxGet {
				t.Fatalf("inlined: %v on the inlining engine (want %v), %v on the host one", ci.ctxGet, r.inlined, ch.ctxGet)
			}
			calls := []Call{
				payCall(t, 5, nil),
				{Entry: EntryPayment, Height: 1<<63 + 5, Time: -1, RuleVersion: 1<<32 - 1, Body: paymentBody(t, 5)},
				{Entry: EntryClaim, Height: 0, Time: 0, RuleVersion: 0, Body: paymentBody(t, 5)},
			}
			for _, c := range calls {
				c.Host = newMemHost()
				want := mustEval(t, host, code, c)
				c.Host = newMemHost()
				got := mustEval(t, inl, code, c)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("height %d time %d version %d:\ninlined %+v\nhost    %+v", c.Height, c.Time, c.RuleVersion, got, want)
				}
				// Every limit over the last 1,200 gas of the run (and a
				// little past it): each host-call charge and each injected
				// charge is where the meter runs out once.
				for l := want.GasUsed - min(want.GasUsed, 1200); l <= want.GasUsed+2; l++ {
					c.GasLimit = max(l, 1)
					c.Host = newMemHost()
					w := mustEval(t, host, code, c)
					c.Host = newMemHost()
					g := mustEval(t, inl, code, c)
					if !reflect.DeepEqual(g, w) {
						t.Fatalf("gas limit %d:\ninlined %+v\nhost    %+v", c.GasLimit, g, w)
					}
				}
			}
		})
	}
}

// TestInlineCtxPooled: the pooled path (what consensus runs) gives the same
// results with the inlined ctx_get, block after block, as the host function
// on fresh instances.
func TestInlineCtxPooled(t *testing.T) {
	ctx := context.Background()
	inl, host := inlineAndHostEngines(t)
	for _, r := range ctxRules() {
		code := deploy(t, r.wasm)
		p := inl.NewPool()
		hi, hh := newMemHost(), newMemHost()
		for block := uint64(1); block <= 3; block++ {
			p.Reset(ctx)
			for tx := 0; tx < 3; tx++ {
				c := Call{Entry: EntryPayment, Height: block, Time: int64(1000 * block), RuleVersion: uint32(tx + 1), Body: paymentBody(t, 5), Host: hi}
				got, err := p.Evaluate(ctx, code, c)
				if err != nil {
					t.Fatal(err)
				}
				c.Host = hh
				want := mustEval(t, host, code, c)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s, block %d tx %d:\npooled, inlined %+v\nfresh, host     %+v", r.name, block, tx, got, want)
				}
			}
		}
		p.Reset(ctx)
	}
}

// inlineAndHostEngines returns an engine that inlines ctx_get and one that
// keeps the host function.
func inlineAndHostEngines(t *testing.T) (inl, host *Engine) {
	inl, host = newTestEngine(t), newTestEngine(t)
	host.hostCtxGet = true
	return inl, host
}
