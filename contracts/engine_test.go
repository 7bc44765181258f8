package contracts

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// maxAmountRule rejects payments above 1000 base units with code 7 and a
// message, holds those above 500 for 60 s, accepts the rest.
func maxAmountRule() []byte {
	m := rule(func(m *tMod) []byte {
		return cat(
			i32c(testBuf), i64load(32), i64c(1000), op(0x56), // i64.gt_u
			ifv(),
			i32c(testBuf), i32c(7), i32store(0),
			i32c(testBuf), i32c('n'|'o'<<8), op(0x3b, 1), appendU32(nil, 4), // i32.store16
			ret64(6, DecisionReject), op(opReturn),
			end(),
			i32c(testBuf), i64load(32), i64c(500), op(0x56),
			ifv(),
			i32c(testBuf), i64c(60), i64store(0),
			ret64(8, DecisionHold), op(opReturn),
			end(),
			ret64(0, DecisionAccept),
		)
	})
	return m.bytes()
}

func TestEvaluateDecisions(t *testing.T) {
	e := newTestEngine(t)
	code := deploy(t, maxAmountRule())
	r := mustEval(t, e, code, payCall(t, 10, nil))
	if r.Class != ClassOK || r.Decision != DecisionAccept || len(r.Output) != 0 || r.GasUsed == 0 {
		t.Fatalf("accept: %+v", r)
	}
	r = mustEval(t, e, code, payCall(t, 600, nil))
	if s, ok := HoldSeconds(r.Output); r.Class != ClassOK || r.Decision != DecisionHold || !ok || s != 60 {
		t.Fatalf("hold: %+v", r)
	}
	r = mustEval(t, e, code, payCall(t, 5000, nil))
	c, msg, ok := ReasonCode(r.Output)
	if r.Class != ClassOK || r.Decision != DecisionReject || !ok || c != 7 || msg != "no" {
		t.Fatalf("reject: %+v", r)
	}
	t.Logf("gas: accept path %d", mustEval(t, e, code, payCall(t, 10, nil)).GasUsed)
}

// counterRule keeps a per-merchant counter under key "n", emits it as an
// event, and answers queries with it.
func counterRule() []byte {
	m := rule(func(m *tMod) []byte {
		get := m.imp(ABIVersion, "state_get", "iiii", "i")
		set := m.imp(ABIVersion, "state_set", "iiii", "i")
		ev := m.imp(ABIVersion, "emit_event", "ii", "i")
		// key "n" at 16, value (u64) at 24
		return cat(
			i32c(16), i32c('n'), i32store8(0),
			i32c(16), i32c(1), i32c(24), i32c(8), call(get), op(0x1a),
			lget(0), i32c(int32(EntryQuery)), op(0x46), // i32.eq
			ifv(),
			i32c(testBuf), i32c(24), i64load(0), i64store(0),
			ret64(8, DecisionOK), op(opReturn),
			end(),
			i32c(24), i32c(24), i64load(0), i64c(1), op(opI64Add), i64store(0),
			i32c(16), i32c(1), i32c(24), i32c(8), call(set), op(0x1a),
			i32c(24), i32c(8), call(ev), op(0x1a),
			ret64(0, DecisionAccept),
		)
	})
	return m.bytes()
}

func TestEvaluateState(t *testing.T) {
	e := newTestEngine(t)
	code := deploy(t, counterRule())
	h := newMemHost()
	for i := 1; i <= 3; i++ {
		r := mustEval(t, e, code, payCall(t, 1, h))
		if r.Class != ClassOK || len(r.Events) != 1 || binary.LittleEndian.Uint64(r.Events[0]) != uint64(i) {
			t.Fatalf("call %d: %+v", i, r)
		}
	}
	r := mustEval(t, e, code, Call{Entry: EntryQuery, Body: []byte("count"), Host: h})
	if r.Class != ClassOK || r.Decision != DecisionOK || !bytes.Equal(r.Output, binary.LittleEndian.AppendUint64(nil, 3)) {
		t.Fatalf("query: %+v", r)
	}
}

// A rule's own schedule prices its host calls: doubling HostCall adds
// exactly one HostCall per call made (3 here: state_get, state_set,
// emit_event).
func TestCodeSchedule(t *testing.T) {
	e := newTestEngine(t)
	code := deploy(t, counterRule())
	base := mustEval(t, e, code, payCall(t, 1, newMemHost())).GasUsed
	s := DefaultGasSchedule()
	s.HostCall *= 2
	code.Schedule = &s
	got := mustEval(t, e, code, payCall(t, 1, newMemHost())).GasUsed
	if want := base + 3*DefaultGasSchedule().HostCall; got != want {
		t.Fatalf("gas %d, want %d", got, want)
	}
}
