package node_test

import (
	"strings"
	"testing"
)

// checkIdentityCLI drives the identity commands against the dev chain's
// demo identities, as a person, a wallet, an issuer and an agent would.
// amp runs amp with the dev chain's global flags and -o json.
func checkIdentityCLI(t *testing.T, amp func(args ...string) (string, string, int)) {
	t.Helper()
	ok := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := amp(args...)
		if code != 0 {
			t.Fatalf("amp %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		return stdout
	}
	fails := func(reason string, args ...string) {
		t.Helper()
		stdout, stderr, code := amp(args...)
		var f struct {
			Code   int64  `json:"code"`
			Reason string `json:"reason"`
		}
		decode(t, stdout, &f)
		if code != 1 || f.Reason != reason {
			t.Fatalf("amp %v: exit %d, %s; want %s\n%s", args, code, stdout, reason, stderr)
		}
	}
	type agentOut struct {
		AgentID          string `json:"agent_id"`
		Owner            string `json:"owner"`
		Issuer           string `json:"issuer"`
		Status           string `json:"status"`
		AttestationLevel int    `json:"attestation_level"`
		Key              struct {
			Type string `json:"type"`
		} `json:"key"`
	}
	type keyOut struct {
		Address string `json:"address"`
	}
	address := func(name string) string {
		var k keyOut
		decode(t, ok("keys", "show", name), &k)
		return k.Address
	}
	alice, issuer := address("alice"), address("issuer")

	var a agentOut
	decode(t, ok("query", "identity", "agent", "helper"), &a)
	if a.AgentID != "agent-1" || a.Owner != alice || a.Issuer != issuer || a.Status != "active" || a.AttestationLevel != 2 || a.Key.Type != "p256" {
		t.Fatalf("demo agent: %+v", a)
	}
	var person struct {
		Devices []struct {
			Kind   string   `json:"kind"`
			Scopes []string `json:"scopes"`
		} `json:"devices"`
		Bindings []struct {
			ID      string `json:"binding_id"`
			AgentID string `json:"agent_id"`
		} `json:"bindings"`
	}
	decode(t, ok("query", "identity", "person", "alice"), &person)
	if len(person.Devices) != 2 || len(person.Bindings) != 1 || person.Bindings[0].AgentID != "agent-1" {
		t.Fatalf("alice: %+v", person)
	}

	// The phone adds a car key with a scope it holds; the watch may not
	// manage devices; the phone cannot grant approval it lacks.
	ok("keys", "add", "alice-car", "--type", "p256")
	fails("device_scope", "tx", "identity", "add-device", "--from", "alice-watch", "--device", "alice-car", "--kind", "car", "--label", "car", "--scopes", "revoke")
	fails("device_scope", "tx", "identity", "add-device", "--from", "alice-phone", "--device", "alice-car", "--kind", "car", "--label", "car", "--scopes", "approve")
	ok("tx", "identity", "add-device", "--from", "alice-phone", "--device", "alice-car", "--kind", "car", "--label", "Alice's car", "--scopes", "revoke")
	var who struct{ Kind, Of string }
	decode(t, ok("query", "identity", "whois", "alice-car"), &who)
	if who.Kind != "device" || who.Of != alice {
		t.Fatalf("whois alice-car: %+v", who)
	}
	// bob's binding of helper prints its id; bob cannot unbind alice's.
	var created struct {
		ID string `json:"id"`
	}
	decode(t, ok("tx", "identity", "bind", "--from", "bob", "helper"), &created)
	if created.ID != "binding-2" {
		t.Fatalf("bind printed id %q", created.ID)
	}
	fails("binding_not_owned", "tx", "identity", "unbind", "--from", "bob", "binding-1")

	// A new agent onboarded by the issuer gets the next Agent ID; a
	// non-issuer cannot onboard.
	ok("keys", "add", "agent2", "--type", "p256")
	fails("not_member", "tx", "identity", "onboard-agent", "--from", "bob", "--agent-key", "agent2", "--owner", "bob", "--builder", "B", "--name", "a2", "--level", "1")
	decode(t, ok("tx", "identity", "onboard-agent", "--from", "issuer", "--agent-key", "agent2", "--owner", "bob", "--builder", "B", "--name", "a2", "--level", "1", "--capabilities", "travel"), &created)
	if created.ID != "agent-2" {
		t.Fatalf("onboard printed id %q", created.ID)
	}

	// The trust rating explains itself.
	type scoreOut struct {
		AgentID string `json:"agent_id"`
		Score   int    `json:"score"`
		Tier    string `json:"tier"`
		Factors []struct {
			Name   string `json:"name"`
			Points int    `json:"points"`
		} `json:"factors"`
	}
	var before, during, after scoreOut
	decode(t, ok("query", "trust", "score", "helper"), &before)
	if before.AgentID != "agent-1" || before.Score <= 0 || before.Tier == "" || before.Tier == "T0" || len(before.Factors) < 3 {
		t.Fatalf("helper's rating: %+v", before)
	}

	// Suspension stops every tx the agent signs and drops it to T0 in the
	// same block; reinstatement restores it, with the suspension on record.
	ok("tx", "identity", "suspend", "--from", "issuer", "helper", "--reason", "reported by a merchant")
	decode(t, ok("query", "trust", "score", "helper"), &during)
	if during.Tier != "T0" {
		t.Fatalf("suspended agent's rating: %+v", during)
	}
	decode(t, ok("query", "identity", "agent", "agent-1"), &a)
	if a.Status != "suspended" {
		t.Fatalf("status after suspend: %s", a.Status)
	}
	fails("agent_suspended", "tx", "identity", "unbind", "--from", "helper", "binding-2")
	ok("tx", "identity", "reinstate", "--from", "issuer", "agent-1")
	ok("tx", "identity", "unbind", "--from", "helper", "binding-2")
	decode(t, ok("query", "identity", "agent", "helper"), &a)
	if a.Status != "active" {
		t.Fatalf("status after reinstate: %s", a.Status)
	}
	decode(t, ok("query", "trust", "score", "helper"), &after)
	if after.Score >= before.Score {
		t.Fatalf("a past suspension costs nothing: %d before, %d after", before.Score, after.Score)
	}

	// Text mode shows the agent for people.
	stdout, _, code := amp("query", "identity", "agent", "helper", "-o", "text")
	if code != 0 || !strings.Contains(stdout, "agent-1") || !strings.Contains(stdout, "attestation level") {
		t.Fatalf("text agent view:\n%s", stdout)
	}
	stdout, _, code = amp("query", "trust", "score", "helper", "-o", "text")
	if code != 0 || !strings.Contains(stdout, "factors:") || !strings.Contains(stdout, "tier") {
		t.Fatalf("text trust score:\n%s", stdout)
	}
}
