package node_test

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// checkRulesCLI is the merchant's side of rules through the binaries: check
// a rule locally, deploy it, bind it, and see an agent's payment rejected by
// it — the README's walkthrough.
func checkRulesCLI(t *testing.T, amp func(args ...string) (string, string, int)) {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	wasm := filepath.Join(filepath.Dir(self), "..", "contracts", "examples", "wasm", "max-amount.wasm")
	ok := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := amp(args...)
		if code != 0 {
			t.Fatalf("amp %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		return stdout
	}
	var check struct {
		OK       bool `json:"ok"`
		Problems []struct {
			Code string `json:"code"`
		} `json:"problems"`
		Checked string `json:"checked_with"`
	}
	decode(t, ok("rules", "check", wasm), &check)
	if !check.OK || check.Checked != "the chain's parameters" {
		t.Fatalf("rules check: %+v", check)
	}
	var created struct {
		ID string `json:"id"`
	}
	decode(t, ok("tx", "rules", "deploy", "--from", "shop", wasm, "--label", "max 5 USD"), &created)
	if !strings.HasPrefix(created.ID, "rule-") {
		t.Fatalf("deploy printed id %q", created.ID)
	}
	ok("tx", "rules", "bind", "--from", "shop", created.ID, "--hook", "payment")
	var merchant struct {
		Bindings []struct {
			Hook   string `json:"hook"`
			RuleID string `json:"rule_id"`
		} `json:"bindings"`
	}
	decode(t, ok("query", "rules", "merchant", "shop"), &merchant)
	if len(merchant.Bindings) != 1 || merchant.Bindings[0].RuleID != created.ID || merchant.Bindings[0].Hook != "payment" {
		t.Fatalf("shop's rules: %+v", merchant)
	}
	// The demo mandate allows 25 USD per payment; the shop's rule 5.
	stdout, stderr, code := amp("tx", "payments", "pay", "--from", "helper", "--mandate", "mandate-1", "--merchant", "shop", "--order", "rule-6", "6USD")
	var f struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	decode(t, stdout, &f)
	if code != 1 || f.Reason != "rule_rejected" || !strings.Contains(f.Message, "code 1") {
		t.Fatalf("6 USD through max-amount: exit %d %s %s", code, stdout, stderr)
	}
	ok("tx", "payments", "pay", "--from", "helper", "--mandate", "mandate-1", "--merchant", "shop", "--order", "rule-5", "5USD")
	// The merchant raises its limit in the rule's state; 6 USD passes.
	ok("tx", "rules", "set-state", "--from", "shop", "max", "--amount", "10USD")
	ok("tx", "payments", "pay", "--from", "helper", "--mandate", "mandate-1", "--merchant", "shop", "--order", "rule-6b", "6USD")
	ok("tx", "rules", "unbind", "--from", "shop", "--hook", "payment")
	// A module that is not a rule is refused by check, with exit 1.
	_, _, code = amp("rules", "check", wasm+".missing")
	if code == 0 {
		t.Fatal("checking a missing file succeeded")
	}
}
