// Package rules is the registry of merchants' WebAssembly rules and the
// hooks that run them: a merchant (or its acquirer) deploys code, which is
// validated and metered at deploy (package contracts), binds a rule to a
// hook — payment, claim or query — upgrades or unbinds it, and keeps the
// rule's state. Payments call the payment hook during capture and claims
// the claim hook; a rule that traps or runs out of gas decides
// deterministically, never halts the chain. See docs/rules.md.
package rules
