package node_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/payments"
)

// checkPaymentsCLI drives AMP's three-step flow through amp against the
// dev chain, exactly as a wallet and an agent would script it: (1) alice
// grants helper (bound to her in the genesis) an AUTONOMOUS mandate;
// (2) helper pays shop under it, above the approval threshold with her
// watch co-signing; (3) alice watches the mandate and its bills, lowers the
// budget and revokes from her phone. It also pays under the genesis demo
// mandate the way the dev summary (summary) suggests, and authorises and
// captures a payment token. amp runs amp with the dev chain's global flags
// and -o json.
func checkPaymentsCLI(t *testing.T, amp func(args ...string) (string, string, int), summary string) {
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
			Code    int64  `json:"code"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		}
		decode(t, stdout, &f)
		if code != 1 || f.Reason != reason || f.Code <= 0 || f.Message == "" {
			t.Fatalf("amp %v: exit %d, %s; want %s\n%s", args, code, stdout, reason, stderr)
		}
	}
	type paymentOut struct {
		ID         string  `json:"payment_id"`
		Status     string  `json:"status"`
		MandateID  string  `json:"mandate_id"`
		AgentID    string  `json:"agent_id"`
		Merchant   string  `json:"merchant"`
		Amount     string  `json:"amount"`
		Asset      string  `json:"asset"`
		TokenID    string  `json:"token_id"`
		ApprovedBy *string `json:"approved_by"`
	}
	type txOut struct {
		ID      string      `json:"id"`
		TxHash  string      `json:"txhash"`
		Code    *int64      `json:"code"`
		Payment *paymentOut `json:"payment"`
		Token   *struct {
			ID     string `json:"token_id"`
			Amount string `json:"amount"`
		} `json:"token"`
	}
	type mandateOut struct {
		ID          string `json:"mandate_id"`
		Type        string `json:"type"`
		Status      string `json:"status"`
		AgentID     string `json:"agent_id"`
		Budget      string `json:"budget"`
		Consumed    string `json:"consumed"`
		Available   string `json:"available"`
		Utilisation int    `json:"utilisation_bp"`
		Payments    int    `json:"payments"`
		Constraints *struct {
			Merchants     []string `json:"merchants"`
			MaxPayment    string   `json:"max_payment"`
			ApprovalAbove string   `json:"approval_above"`
		} `json:"constraints"`
	}
	address := func(name string) string {
		var k struct {
			Address string `json:"address"`
		}
		decode(t, ok("keys", "show", name), &k)
		return k.Address
	}
	balance := func(who string) chain.Amount {
		var b struct {
			Balances []struct {
				BaseUnits string `json:"base_units"`
			} `json:"balances"`
		}
		decode(t, ok("query", "bank", "balance", who, "--asset", "USD"), &b)
		if len(b.Balances) != 1 {
			t.Fatalf("balance of %s: %+v", who, b)
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
	pay := func(mandate, order, amount string, extra ...string) txOut {
		t.Helper()
		var r txOut
		decode(t, ok(append([]string{"tx", "payments", "pay", "--from", "helper", "--mandate", mandate, "--merchant", "shop", "--order", order, amount}, extra...)...), &r)
		if r.Code == nil || *r.Code != 0 || r.Payment == nil || r.ID == "" || r.Payment.ID != r.ID {
			t.Fatalf("pay %s %s: %+v", mandate, amount, r)
		}
		return r
	}
	mandate := func(id string) mandateOut {
		var m mandateOut
		decode(t, ok("query", "delegation", "mandate", id), &m)
		return m
	}
	shop, watch := address("shop"), address("alice-watch")
	escrow := payments.EscrowAccount.String()

	// The dev chain's demo mandate, as its summary shows it.
	for _, want := range []string{"mandate-1", "tx payments pay --from helper --mandate mandate-1 --merchant shop --order demo-1 5USD", "query delegation mandate mandate-1"} {
		if !strings.Contains(summary, want) {
			t.Errorf("dev summary lacks %q:\n%s", want, summary)
		}
	}
	demo := mandate("mandate-1")
	if demo.Type != "AUTONOMOUS" || demo.Status != "activated" || demo.AgentID != "agent-1" || demo.Budget != "100" || demo.Consumed != "0" ||
		demo.Constraints == nil || demo.Constraints.MaxPayment != "25" || demo.Constraints.ApprovalAbove != "20" ||
		len(demo.Constraints.Merchants) != 1 || demo.Constraints.Merchants[0] != shop {
		t.Fatalf("demo mandate: %+v", demo)
	}
	aliceBefore, escrowBefore := balance("alice"), balance(escrow)

	// (1) alice grants helper an AUTONOMOUS mandate.
	var granted txOut
	decode(t, ok("tx", "delegation", "grant", "--from", "alice", "--agent", "helper", "--budget", "50USD", "--per-payment", "20USD",
		"--approval-above", "15USD", "--merchants", "shop", "--description", "groceries"), &granted)
	id := granted.ID
	if id != "mandate-2" {
		t.Fatalf("grant printed id %q", id)
	}

	// (2) helper pays: within the threshold at once, above it only with
	// alice's watch co-signing.
	p1 := pay(id, "order-1", "10USD")
	if p1.Payment.Status != "escrowed" || p1.Payment.Amount != "10" || p1.Payment.MandateID != id || p1.Payment.Merchant != shop || p1.Payment.ApprovedBy != nil {
		t.Fatalf("first payment: %+v", p1.Payment)
	}
	fails("approval_required", "tx", "payments", "pay", "--from", "helper", "--mandate", id, "--merchant", "shop", "--order", "order-2", "18USD")
	p2 := pay(id, "order-3", "18USD", "--approve-with", "alice-watch")
	if p2.Payment.Status != "escrowed" || p2.Payment.ApprovedBy == nil || *p2.Payment.ApprovedBy != watch {
		t.Fatalf("approved payment: %+v", p2.Payment)
	}
	fails("payment_out_of_range", "tx", "payments", "pay", "--from", "helper", "--mandate", id, "--merchant", "shop", "--order", "order-4", "21USD", "--approve-with", "alice-watch")

	// The tx reads back field by field, co-signer included.
	var shown struct {
		Tx struct {
			CoSigners []string `json:"co_signers"`
			Messages  []struct {
				Type   string            `json:"type"`
				Fields map[string]string `json:"fields"`
			} `json:"messages"`
		} `json:"tx"`
	}
	decode(t, ok("query", "tx", p2.TxHash), &shown)
	if len(shown.Tx.Messages) != 1 || shown.Tx.Messages[0].Type != "amp.payments.v1.MsgPay" || shown.Tx.Messages[0].Fields["merchant"] != shop ||
		shown.Tx.Messages[0].Fields["amount"] != "18USD" || shown.Tx.Messages[0].Fields["mandate_id"] != id || len(shown.Tx.CoSigners) != 1 || shown.Tx.CoSigners[0] != watch {
		t.Fatalf("query tx of a payment: %+v", shown.Tx)
	}

	// (3) alice watches: the mandate, its bills, her balance and the escrow.
	m := mandate(id)
	if m.Status != "activated" || m.Budget != "50" || m.Consumed != "28" || m.Available != "22" || m.Payments != 2 || m.Utilisation != 5600 {
		t.Fatalf("mandate after payments: %+v", m)
	}
	var bills []paymentOut
	decode(t, ok("query", "payments", "bills", id), &bills)
	if len(bills) != 2 || bills[0].ID != p2.ID || bills[0].Amount != "18" || bills[1].ID != p1.ID || bills[1].Status != "escrowed" {
		t.Fatalf("bills: %+v", bills)
	}
	var one paymentOut
	decode(t, ok("query", "payments", "payment", p1.ID), &one)
	if one != *p1.Payment {
		t.Fatalf("payment query %+v, pay printed %+v", one, *p1.Payment)
	}
	if got, want := balance("alice"), mustSub(t, aliceBefore, usd("28")); got.Cmp(want) != 0 {
		t.Fatalf("alice has %s base units, want %s", got, want)
	}
	if got, want := balance(escrow), mustAdd(t, escrowBefore, usd("28")); got.Cmp(want) != 0 {
		t.Fatalf("escrow holds %s base units, want %s", got, want)
	}
	var listed []mandateOut
	decode(t, ok("query", "delegation", "mandates", "helper"), &listed)
	if len(listed) != 2 || listed[0].ID != id || listed[1].ID != "mandate-1" {
		t.Fatalf("helper's mandates: %+v", listed)
	}
	var limits struct {
		Asset         string `json:"asset"`
		MaxPerMandate string `json:"max_per_mandate"`
		Own           bool   `json:"own"`
	}
	decode(t, ok("query", "delegation", "limits", "alice"), &limits)
	if limits.Asset != "USD" || limits.MaxPerMandate == "" || limits.Own {
		t.Fatalf("alice's limits: %+v", limits)
	}

	// She lowers the budget (not below what is spent): the next payment is
	// over it. She revokes from her phone: the next one is refused as
	// revoked.
	fails("invalid_mandate", "tx", "delegation", "update", "--from", "alice", id, "--budget", "20USD")
	ok("tx", "delegation", "update", "--from", "alice", id, "--budget", "30USD")
	if m := mandate(id); m.Budget != "30" || m.Available != "2" {
		t.Fatalf("after update: %+v", m)
	}
	fails("over_budget", "tx", "payments", "pay", "--from", "helper", "--mandate", id, "--merchant", "shop", "--order", "order-5", "5USD")
	ok("tx", "delegation", "revoke", "--from", "alice-phone", id)
	fails("mandate_revoked", "tx", "payments", "pay", "--from", "helper", "--mandate", id, "--merchant", "shop", "--order", "order-6", "1USD")
	if m := mandate(id); m.Status != "revoked" || m.Consumed != "28" {
		t.Fatalf("after revoke: %+v", m)
	}

	// The dev summary's example, in text mode.
	stdout := ok("tx", "payments", "pay", "--from", "helper", "--mandate", "mandate-1", "--merchant", "shop", "--order", "demo-1", "5USD", "-o", "text")
	if !strings.Contains(stdout, "id:") || !strings.Contains(stdout, "is escrowed: 5 USD to "+shop) {
		t.Fatalf("text pay:\n%s", stdout)
	}
	// The capture reads as one line with the payment's id and amount,
	// which its event leaves to the tx's created and escrow transfer events.
	if !regexp.MustCompile(`payment payment-\d+ of 5USD under mandate-1 to merchant ` + shop + `, in escrow until \d{4}-`).MatchString(stdout) {
		t.Fatalf("text pay, capture line:\n%s", stdout)
	}
	stdout = ok("query", "delegation", "mandate", "mandate-1", "-o", "text")
	for _, want := range []string{"activated", "5 USD (5%) in 1 payment(s)", "available:", "95 USD", "(shop)"} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("text mandate lacks %q:\n%s", want, stdout)
		}
	}
	stdout = ok("query", "payments", "bills", id, "-o", "text")
	if !strings.Contains(stdout, "PAYMENT") || strings.Count(stdout, "escrowed") != 2 {
		t.Fatalf("text bills:\n%s", stdout)
	}

	// A payment token: authorised by the agent, captured by the merchant
	// for less, with the same order.
	var auth txOut
	decode(t, ok("tx", "payments", "authorize", "--from", "helper", "--mandate", "mandate-1", "--merchant", "shop", "--order", "cart-1", "4USD"), &auth)
	if auth.Token == nil || auth.ID == "" || auth.Token.ID != auth.ID || auth.Token.Amount != "4" {
		t.Fatalf("authorize: %+v", auth)
	}
	fails("order_inconsistent", "tx", "payments", "capture", "--from", "shop", auth.ID, "--order", "cart-2", "3USD")
	var captured txOut
	decode(t, ok("tx", "payments", "capture", "--from", "shop", auth.ID, "--order", "cart-1", "3USD"), &captured)
	if captured.Payment == nil || captured.Payment.TokenID != auth.ID || captured.Payment.Amount != "3" || captured.Payment.Status != "escrowed" {
		t.Fatalf("capture: %+v", captured)
	}
	if m := mandate("mandate-1"); m.Consumed != "8" || m.Payments != 2 {
		t.Fatalf("demo mandate after the token: %+v", m)
	}
	if got, want := balance("alice"), mustSub(t, aliceBefore, usd("36")); got.Cmp(want) != 0 {
		t.Fatalf("alice has %s base units, want %s", got, want)
	}
}

func mustSub(t *testing.T, a, b chain.Amount) chain.Amount {
	t.Helper()
	d, err := a.Sub(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustAdd(t *testing.T, a, b chain.Amount) chain.Amount {
	t.Helper()
	s, err := a.Add(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
