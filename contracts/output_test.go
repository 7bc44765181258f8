package contracts

import (
	"context"
	"testing"
)

// A claim rule may approve a partial refund: 16 bytes, at most the claimed
// amount (not the payment's). The check reads the claimed amount from the
// call's body, which the engine wrote into guest memory and the rule may
// since have overwritten.
func TestClaimRefundBound(t *testing.T) {
	e := newTestEngine(t)
	refundRule := func(delta int64) []byte {
		return rule(func(m *tMod) []byte {
			return cat(
				// refund.lo = claimed.lo + delta; refund.hi = claimed.hi
				i32c(testBuf), i32c(testBuf), i64load(32), i64c(delta), op(opI64Add), i64store(0),
				i32c(testBuf), i32c(testBuf), i64load(40), i64store(8),
				ret64(16, DecisionApproveRefund),
			)
		}).bytes()
	}
	body, err := Claim{Amount: U128{Lo: 5000, Hi: 1}, Decimals: 6, Asset: "USDC", PaymentAmount: U128{Lo: 9000, Hi: 1}, Claim: 3}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		delta int64
		want  Class
	}{
		{-1, ClassOK},
		{0, ClassOK},
		{1, ClassInvalidOutput},
		{3000, ClassInvalidOutput}, // still below the payment's amount
	} {
		code := deploy(t, refundRule(tc.delta))
		c := Call{Entry: EntryClaim, Height: 3, Time: 1_700_000_000, RuleVersion: 1, Body: body}
		fresh := mustEval(t, e, code, c)
		p := e.NewPool()
		pooled, err := p.Evaluate(context.Background(), code, c)
		p.Reset(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []Result{fresh, pooled} {
			if r.Class != tc.want {
				t.Errorf("refund claimed%+d: class %v, want %v", tc.delta, r.Class, tc.want)
			}
			if tc.want == ClassOK && (r.Decision != DecisionApproveRefund || len(r.Output) != 16) {
				t.Errorf("refund claimed%+d: %+v", tc.delta, r)
			}
		}
	}
}
