package node_test

import (
	"strings"
	"testing"

	"github.com/amp-ledger/amp/chain"
)

// checkGuaranteeCLI drives the money-back guarantee through amp against a
// dev chain, as a wallet, a merchant and an arbiter would: an agent of
// alice's ("guardbot", onboarded here so that the check does not depend on
// helper's rating) pays shop twice; alice claims not_received on the first
// payment and shop accepts — her balance shows the refund at once; she
// claims part of the second, shop contests, and the issuer (alice's wallet
// member, the default arbiter) rules a refund. It also files and answers as
// the wrong parties, reads the claims, the pool, the reports, and bonds and
// unbonds for shop. amp runs amp with the dev chain's global flags and -o
// json. Call it after checkPaymentsCLI and checkIdentityCLI (it grants alice
// a mandate, which changes what they count).
func checkGuaranteeCLI(t *testing.T, amp func(args ...string) (string, string, int)) {
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
			Reason string `json:"reason"`
		}
		decode(t, stdout, &f)
		if code == 0 || f.Reason != reason {
			t.Fatalf("amp %v: exit %d, %s; want %s\n%s", args, code, stdout, reason, stderr)
		}
	}
	type created struct {
		ID   string `json:"id"`
		Code *int64 `json:"code"`
	}
	id := func(args ...string) string {
		t.Helper()
		var c created
		decode(t, ok(args...), &c)
		if c.ID == "" || c.Code == nil || *c.Code != 0 {
			t.Fatalf("amp %v: no id: %+v", args, c)
		}
		return c.ID
	}
	type claimOut struct {
		ID         string            `json:"claim_id"`
		Status     string            `json:"status"`
		Reason     string            `json:"reason"`
		PaymentID  string            `json:"payment_id"`
		Amount     string            `json:"amount"`
		Resolution string            `json:"resolution"`
		Refund     string            `json:"refund"`
		FromEscrow string            `json:"from_escrow"`
		Evidence   string            `json:"evidence_hash"`
		BaseUnits  map[string]string `json:"base_units"`
	}
	claim := func(id string) claimOut {
		var c claimOut
		decode(t, ok("query", "payments", "claim", id), &c)
		return c
	}
	balance := func(who string) chain.Amount {
		var b struct {
			Balances []struct {
				BaseUnits string `json:"base_units"`
			} `json:"balances"`
		}
		decode(t, ok("query", "bank", "balance", who, "--asset", "USD"), &b)
		if len(b.Balances) != 1 {
			return chain.Amount{}
		}
		a, err := chain.ParseBaseUnits(b.Balances[0].BaseUnits)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	usd := func(s string) chain.Amount {
		a, err := chain.ParseDecimal(s, 18)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	plus := func(a, b chain.Amount) chain.Amount {
		s, err := a.Add(b)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// An agent of alice's with a mandate for shop.
	ok("keys", "add", "guardbot", "--type", "p256")
	agent := id("tx", "identity", "onboard-agent", "--from", "issuer", "--agent-key", "guardbot", "--owner", "alice", "--builder", "B",
		"--name", "guardbot", "--level", "2")
	ok("tx", "identity", "bind", "--from", "alice", agent)
	mandate := id("tx", "delegation", "grant", "--from", "alice", "--agent", agent, "--budget", "50USD", "--per-payment", "20USD", "--merchants", "shop")
	pay := func(order, amount string) string {
		return id("tx", "payments", "pay", "--from", "guardbot", "--mandate", mandate, "--merchant", "shop", "--order", order, amount)
	}
	p1, p2 := pay("guarantee-1", "5USD"), pay("guarantee-2", "7USD")

	// Accept: the refund shows in alice's balance at once.
	before := balance("alice")
	fails("not_claimant", "tx", "payments", "claim", "--from", "bob", p1, "--reason", "not_received")
	fails("usage", "tx", "payments", "claim", "--from", "alice", p1, "--reason", "bored")
	c1 := id("tx", "payments", "claim", "--from", "alice", p1, "--reason", "not_received")
	if !strings.HasPrefix(c1, "claim-") {
		t.Fatalf("claim printed id %q", c1)
	}
	if c := claim(c1); c.Status != "open" || c.PaymentID != p1 || c.Amount != "5" || c.Reason != "not_received" {
		t.Fatalf("filed: %+v", c)
	}
	fails("claim_open", "tx", "payments", "claim", "--from", "alice", p1, "--reason", "other")
	fails("not_claim_merchant", "tx", "payments", "respond", "--from", "bob", c1, "accept")
	ok("tx", "payments", "respond", "--from", "shop", c1, "accept")
	if c := claim(c1); c.Status != "refunded" || c.Resolution != "accepted" || c.FromEscrow != "5" {
		t.Fatalf("accepted: %+v", c)
	}
	if got, want := balance("alice"), plus(before, usd("5")); got.Cmp(want) != 0 {
		t.Fatalf("alice has %s after the refund, want %s", got, want)
	}

	// Contest, then the issuer (alice's wallet member) rules a refund.
	c2 := id("tx", "payments", "claim", "--from", "alice", p2, "--reason", "not_as_described", "--amount", "4USD", "--evidence-ref", "photo-1")
	ok("tx", "payments", "respond", "--from", "shop", c2, "contest", "--evidence-ref", "tracking-1")
	if c := claim(c2); c.Status != "contested" || c.Amount != "4" || c.Evidence == "" {
		t.Fatalf("contested: %+v", c)
	}
	fails("not_arbiter", "tx", "payments", "arbitrate", "--from", "bob", c2, "refund")
	ok("tx", "payments", "arbitrate", "--from", "issuer", c2, "refund")
	if c := claim(c2); c.Status != "refunded" || c.Resolution != "arbiter_refund" || c.Refund != "4" {
		t.Fatalf("ruled: %+v", c)
	}
	fails("claim_state", "tx", "payments", "arbitrate", "--from", "issuer", c2, "deny")
	if got, want := balance("alice"), plus(before, usd("9")); got.Cmp(want) != 0 {
		t.Fatalf("alice has %s after both refunds, want %s", got, want)
	}
	var payment struct {
		Status   string `json:"status"`
		Refunded string `json:"refunded"`
	}
	decode(t, ok("query", "payments", "payment", p2), &payment)
	if payment.Status != "escrowed" || payment.Refunded != "4" {
		t.Fatalf("%s after a partial refund: %+v", p2, payment)
	}

	// Lists, pool, reports.
	var claims []claimOut
	decode(t, ok("query", "payments", "claims", p2), &claims)
	if len(claims) != 1 || claims[0].ID != c2 {
		t.Fatalf("claims of %s: %+v", p2, claims)
	}
	decode(t, ok("query", "payments", "claims", "alice"), &claims)
	if len(claims) < 2 || claims[0].ID != c2 || claims[1].ID != c1 {
		t.Fatalf("alice's claims: %+v", claims)
	}
	var pool struct {
		Account string `json:"account"`
		FeeBP   int    `json:"fee_bp"`
	}
	decode(t, ok("query", "payments", "pool"), &pool)
	if !strings.HasPrefix(pool.Account, "amp1") || pool.FeeBP != 10 {
		t.Fatalf("pool: %+v", pool)
	}
	var report struct {
		Kind     string `json:"kind"`
		Filed    int    `json:"claims_filed"`
		Refunded int    `json:"claims_refunded"`
		Lost     int    `json:"claims_lost"`
	}
	decode(t, ok("query", "payments", "report", "guardbot"), &report)
	if report.Kind != "agent" || report.Filed != 2 || report.Refunded != 2 || report.Lost != 1 {
		t.Fatalf("agent report: %+v", report)
	}
	decode(t, ok("query", "payments", "report", "shop"), &report)
	if report.Kind != "merchant" || report.Filed < 2 || report.Lost < 1 {
		t.Fatalf("shop report: %+v", report)
	}

	// Bonds.
	ok("tx", "bank", "send", "--from", "alice", "shop", "10USD")
	ok("tx", "payments", "bond", "--from", "shop", "10USD")
	fails("insufficient_bond", "tx", "payments", "unbond", "--from", "shop", "11USD")
	ok("tx", "payments", "unbond", "--from", "shop", "4USD")
	var bond struct {
		Bonded bool `json:"bonded"`
		Bonds  []struct {
			Active    string `json:"active"`
			Unbonding string `json:"unbonding"`
		} `json:"bonds"`
		Unbondings []struct {
			Amount string `json:"amount"`
		} `json:"unbondings"`
	}
	decode(t, ok("query", "payments", "bond", "shop"), &bond)
	if bond.Bonded || len(bond.Bonds) != 1 || bond.Bonds[0].Active != "6" || bond.Bonds[0].Unbonding != "4" || len(bond.Unbondings) != 1 {
		t.Fatalf("bond: %+v", bond)
	}
	// Text mode, for people.
	if out := ok("query", "payments", "claim", c2, "-o", "text"); !strings.Contains(out, "arbiter_refund") {
		t.Fatalf("text claim:\n%s", out)
	}
}
