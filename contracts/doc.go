// Package contracts is the sandbox for merchant rules: WebAssembly modules
// that every validator runs inside the replicated state machine with
// identical results. It is standalone (wazero is its only dependency) and
// knows nothing about the chain: the rules module supplies state through
// Host, the block context and the limits through Call, and decides what to
// do with a Result.
//
// The life of a rule:
//
//	ps := contracts.Validate(code, params.Limits)         // deploy: [] or the problems
//	inst, err := contracts.Instrument(code, params.Gas)   // deploy: inject the meter
//	// store inst, sha256(code), ABIVersion, params.Gas.Version, InstrumentVersion
//	res, err := engine.Evaluate(ctx, contracts.NewCode(inst), contracts.Call{...})
//	// res.Class and res.GasUsed (and, if OK, Decision/Output/Events) enter state
//	pool := engine.NewPool()                              // consensus: the same results,
//	res, err = pool.Evaluate(ctx, code, call)             // instances reset between calls
//
// Determinism rests on: a fixed wazero version with its compiler engine on
// one architecture (amd64), WebAssembly 2.0 without SIMD, metering injected
// into the bytecode (wazero has no fuel) so gas depends only on the
// instructions executed, host functions priced by schedule and never by
// time, every evaluation starting from the state right after preparation (a
// fresh instance, or a pooled one reset to it: pool.go), and results reduced
// to a class — wazero's error text never enters state.
//
// The ABI (rules_v1) is documented in docs/rules-abi.md; abi.go is its
// executable form. Files: module.go and opcode.go parse binaries, validate.go
// checks them, instrument.go injects the meter, engine.go and instance.go
// run rules, pool.go and poolplan.go reset prepared instances between calls,
// globalslot.go reaches the meter without wazero's interface calls,
// hostfuncs.go and wasi.go are what rules may import, gas.go and limits.go
// are the chain parameters, memalloc*.go keep linear memories from being
// copied as they grow.
package contracts
