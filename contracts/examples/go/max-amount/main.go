//go:build wasip1

// Command max-amount is the max-amount example rule written with the Go SDK:
// it rejects payments above the maximum the merchant stored in rule state
// under "max" (16 bytes u128 LE in base units, or decimal text in whole units
// such as "10" or "12.5"), 5 units of the asset (5 USD) when unset, with
// reason code 1. It behaves as contracts/examples/assemblyscript/max-amount.ts
// but weighs about 1.5–2 MB instead of 2 KB: the price of the Go runtime.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags="-s -w" -trimpath -o max-amount-go.wasm .
package main

import "github.com/amp-ledger/amp/contracts/sdk/go/rules"

const (
	defaultMaxUnits = 5
	codeOverMax     = 1
)

// The module is a WASI reactor: _initialize runs init, never main.
func init() { rules.Handle(evaluate) }

func main() {}

func evaluate(in rules.Input) rules.Decision {
	if in.Entry() != rules.EntryPayment {
		return rules.Default(in.Entry())
	}
	p := in.Payment()
	max := rules.GetAmount("max", p.Decimals(), rules.Units(defaultMaxUnits, p.Decimals()))
	if p.Amount().Cmp(max) > 0 {
		return rules.Reject(codeOverMax, "amount above the merchant's maximum")
	}
	return rules.Accept()
}
