// Package rules is the Go SDK for AMP merchant rules: WebAssembly modules that
// every validator runs in a metered sandbox on payments, refund claims and
// read-only queries (the rules_v1 ABI, docs/rules-abi.md).
//
// A rule is a main package built for GOOS=wasip1 as a WASI reactor:
//
//	//go:build wasip1
//
//	package main
//
//	import "github.com/amp-ledger/amp/contracts/sdk/go/rules"
//
//	func init() { rules.Handle(evaluate) }
//
//	func main() {}
//
//	func evaluate(in rules.Input) rules.Decision {
//		if in.Entry() != rules.EntryPayment {
//			return rules.Default(in.Entry())
//		}
//		p := in.Payment()
//		max := rules.GetAmount("max", p.Decimals(), rules.Units(5, p.Decimals()))
//		if p.Amount().Cmp(max) > 0 {
//			return rules.Reject(1, "amount above the merchant's maximum")
//		}
//		return rules.Accept()
//	}
//
// built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags="-s -w" -trimpath -o rule.wasm .
//
// The module's _initialize export (run once by the host) runs the package
// init functions, which is where Handle must be called: a reactor never runs
// main. This package exports memory, rules_abi_v1, rule_buffer and evaluate;
// evaluate calls the registered handler.
//
// The input is read in place from the I/O buffer (Input, Payment, Claim and
// Query allocate nothing); the decision helpers write the output over it, so
// call them last. The Go runtime makes a module of about 1.5–2 MB and a fresh
// instance costs milliseconds, against a few kilobytes and tens of microseconds
// for the same rule in AssemblyScript (docs/rules-sdk.md).
//
// The files that call the host carry the wasip1 build tag; the types, the
// input accessors and U128 build everywhere, so they can be unit-tested on the
// host.
package rules
