package contracts

import (
	"encoding/binary"
	"os"
	"testing"
)

// testdata/max-limit.wat is the hand-written rule of docs/rules-abi.md;
// testdata/max-limit.wasm was produced from it with binaryen.js
// (parseText + emitBinary; wat2wasm gives the same module). Keeping both
// in the tree means the documented example is evaluated on every test run.
func TestDocumentedWATExample(t *testing.T) {
	wasm, err := os.ReadFile("testdata/max-limit.wasm")
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t)
	code := deploy(t, wasm)
	h := newMemHost()
	r := mustEval(t, e, code, payCall(t, 10, h))
	if r.Class != ClassOK || r.Decision != DecisionAccept {
		t.Fatalf("accept: %+v", r)
	}
	r = mustEval(t, e, code, payCall(t, 2_000_000, h))
	if c, msg, ok := ReasonCode(r.Output); r.Decision != DecisionReject || !ok || c != 1 || msg != "amount too high" {
		t.Fatalf("reject: %+v", r)
	}
	h.kv["max"] = binary.LittleEndian.AppendUint64(nil, 5)
	if r = mustEval(t, e, code, payCall(t, 10, h)); r.Decision != DecisionReject {
		t.Fatalf("reject under a stored limit: %+v", r)
	}
	r = mustEval(t, e, code, Call{Entry: EntryQuery, Host: h})
	if r.Decision != DecisionOK || binary.LittleEndian.Uint64(r.Output) != 5 {
		t.Fatalf("query: %+v", r)
	}
	claim, _ := Claim{Amount: U128{Lo: 5}}.Encode()
	if r = mustEval(t, e, code, Call{Entry: EntryClaim, Body: claim, Host: h}); r.Decision != DecisionNoAnswer {
		t.Fatalf("claim: %+v", r)
	}
	t.Logf("payment gas %d", mustEval(t, e, code, payCall(t, 10, h)).GasUsed)
}
