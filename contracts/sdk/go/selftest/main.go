//go:build wasip1

// Command selftest is the Go twin of
// contracts/sdk/assemblyscript/selftest/selftest.ts (see there): it exercises
// every accessor and host function of the Go SDK and must produce the same
// events, state and outputs. Built by `make rules` into
// contracts/examples/testdata/sdk-selftest-go.wasm.
package main

import (
	"encoding/binary"
	"strings"

	"github.com/amp-ledger/amp/contracts/sdk/go/rules"
)

func init() { rules.Handle(evaluate) }

func main() {}

var le = binary.LittleEndian

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func emitHeader(in rules.Input) {
	var b []byte
	b = le.AppendUint32(b, uint32(in.ABIMinor()))
	b = le.AppendUint64(b, in.Height())
	b = le.AppendUint64(b, uint64(in.Time()))
	b = le.AppendUint64(b, in.Day())
	b = le.AppendUint32(b, in.RuleVersion())
	b = le.AppendUint64(b, uint64(rules.Ctx(rules.CtxHeight)))
	b = le.AppendUint64(b, uint64(rules.Ctx(rules.CtxTime)))
	b = le.AppendUint64(b, uint64(rules.Ctx(rules.CtxRuleVersion)))
	rules.Emit(b)
}

func evaluate(in rules.Input) rules.Decision {
	switch in.Entry() {
	case rules.EntryPayment:
		p := in.Payment()
		if p.Amount().IsZero() {
			rules.Abort(77, "zero amount")
		}
		emitHeader(in)
		var b []byte
		amount := p.Amount().Bytes()
		b = append(b, amount[:]...)
		b = append(b, p.Decimals())
		payer, merchant := p.Payer(), p.Merchant()
		b = append(b, payer[:]...)
		b = append(b, merchant[:]...)
		b = le.AppendUint64(b, p.Agent())
		b = le.AppendUint64(b, p.Mandate())
		oh := p.OrderHash()
		b = append(b, oh[:]...)
		b = le.AppendUint32(b, p.TrustScore())
		b = le.AppendUint32(b, p.TrustTier())
		b = append(b, b2u(p.AssetIs("USD")), b2u(p.AssetIs("EUR")))
		rules.Emit(b)
		calc := rules.Units(3, 2).Add(rules.U64(4)).MulU64(2).Sub(rules.U64(8))
		rules.EmitString(p.Asset() + " " + p.Amount().String() + " " + calc.String())
		h := rules.Sha256(oh[:])
		rules.Emit(h[:])

		rules.Set([]byte("k1"), []byte{1, 2, 3})
		rules.Set("s", []byte("héllo"))
		rules.SetU64("n", rules.GetU64("n", 40)+2)
		rules.SetU128("big", p.Amount().Add(rules.GetU128("big", rules.U64(1))))
		rules.SetU128(rules.KeyBuf{}.Addr(payer).U64(in.Day()).String("/").U32(9).U8(1), p.Amount())
		rules.SetU64("gone", 1)
		rules.Del("gone")
		got := rules.GetBytes("s")
		var q []byte
		q = append(q, b2u(rules.Has("gone")), b2u(rules.Has("n")), b2u(rules.GetBytes("missing") == nil))
		q = append(q, got...)
		var small [2]byte
		n, _ := rules.Get("s", small[:])
		q = le.AppendUint32(q, uint32(n))
		q = append(q, small[:]...)
		amt := rules.GetAmount("amt", 18, rules.U64(99)).Bytes()
		q = append(q, amt[:]...)
		rules.Emit(q)

		if p.TrustScore() == 1000 {
			return rules.Hold(60)
		}
		return rules.Reject(7, "x"+strings.Repeat("é", 100)+"yyy")
	case rules.EntryClaim:
		c := in.Claim()
		emitHeader(in)
		var b []byte
		amount := c.Amount().Bytes()
		b = append(b, amount[:]...)
		b = append(b, c.Decimals())
		payer, merchant := c.Payer(), c.Merchant()
		b = append(b, payer[:]...)
		b = append(b, merchant[:]...)
		b = le.AppendUint64(b, c.Agent())
		b = le.AppendUint64(b, c.Payment())
		pa := c.PaymentAmount().Bytes()
		b = append(b, pa[:]...)
		b = le.AppendUint32(b, uint32(c.Reason()))
		b = le.AppendUint64(b, uint64(c.CapturedAt()))
		b = le.AppendUint64(b, c.Number())
		b = append(b, b2u(c.AssetIs("USD")))
		rules.Emit(b)
		rules.EmitString(c.Asset())
		if c.Reason() == rules.ReasonOther {
			return rules.Deny(5, "\xed\xa0\x80bad") // a UTF-8-encoded surrogate: U+FFFD
		}
		return rules.ApproveRefundAmount(c.Amount().Sub(rules.U64(1)))
	}
	body := in.Query()
	switch string(body) {
	case "write":
		rules.SetU64("x", 1)
	case "del":
		rules.Del("x")
	}
	h := rules.Sha256(body)
	out := append([]byte{}, h[:]...)
	var k [64]byte
	if n, ok := rules.Get("k1", k[:]); ok && n > 0 {
		out = append(out, k[:n]...)
	}
	out = le.AppendUint64(out, rules.GetU64("n", 0))
	big := rules.GetU128("big", rules.U128{}).Bytes()
	out = append(out, big[:]...)
	out = append(out, b2u(rules.Has("gone")))
	out = append(out, "ok"...)
	return rules.Answer(out)
}
