package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/amp-ledger/amp/node/home"
	"github.com/amp-ledger/amp/testnet/loadgen"
)

func TestTableAndMedian(t *testing.T) {
	c, err := home.DefaultConfig(t.TempDir(), home.NodeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	DefaultSettings().Apply(c)
	amp := []*loadgen.Result{{TPS: 3000}, {TPS: 5000, P50: time.Second}, {TPS: 4000, P50: 2 * time.Second}}
	kv := []*loadgen.Result{{TPS: 8000, OtherCPU: 0.5}}
	r := &Report{Config: c, Machine: "m", Runs: map[string][]*loadgen.Result{"amp": amp, "kvstore": kv},
		Results: map[string]*loadgen.Result{"amp": median(amp), "kvstore": median(kv)}}
	if r.Results["amp"].TPS != 4000 {
		t.Fatalf("median %v", r.Results["amp"].TPS)
	}
	out := r.Table()
	for _, want := range []string{"timeout_commit 500ms", "ratio AMP / kvstore (tx/s)", "0.50", "kvstore: key=value *", "not a fair comparison", "amp: 3 runs, tx/s 3000, 5000, 4000"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestTableValidators(t *testing.T) {
	c, err := home.DefaultConfig(t.TempDir(), home.NodeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{Config: c, Machine: "m", Validators: []int{1, 4}, Results: map[string]*loadgen.Result{
		"amp": {TPS: 4000}, "kvstore": {TPS: 8000},
		Key("amp", 4): {TPS: 1500}, Key("kvstore", 4): {TPS: 2000},
	}}
	out := r.Table()
	for _, want := range []string{"system (1 validator, 127.0.0.1)", "system (4 validators, 127.0.0.1)", "0.50", "0.75"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if Key("amp", 1) != "amp" || Key("kvstore", 4) != "kvstore-4v" {
		t.Errorf("keys %q %q", Key("amp", 1), Key("kvstore", 4))
	}
}

func TestTablePay(t *testing.T) {
	c, err := home.DefaultConfig(t.TempDir(), home.NodeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rr := &loadgen.RevokeResult{Mandates: []loadgen.RevokedMandate{{Mandate: "mandate-1", Height: 9, Sent: time.Unix(10, 0), Committed: time.Unix(11, 0)}}, Rejected: 4}
	r := &Report{Config: c, Machine: "m", Validators: []int{1}, Revokes: []*loadgen.RevokeResult{rr}, Results: map[string]*loadgen.Result{
		"amp": {TPS: 4000}, "pay": {TPS: 3000}, "pay-p256": {TPS: 1500}, "kvstore": {TPS: 8000},
	}}
	out := r.Table()
	for _, want := range []string{"AMP ledger: agent payments (MsgPay)", "P-256 agents", "ratio pay / transfer (tx/s)                0.75", "ratio pay / kvstore (tx/s)                 0.38",
		"ratio pay-p256 / pay (tx/s)                0.50", "target >= 0.80", "payments that slipped through after the revoke's block: 0", "submit -> commit of the revoke: 1s"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestTablePayRule(t *testing.T) {
	c, err := home.DefaultConfig(t.TempDir(), home.NodeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{Config: c, Machine: "m", Validators: []int{1}, Results: map[string]*loadgen.Result{
		"amp": {TPS: 4000}, "pay": {TPS: 3000}, "pay-rule": {TPS: 2700}, "kvstore": {TPS: 8000},
	}}
	out := r.Table()
	for _, want := range []string{"AMP: agent payments through a rule", "payments through a rule / without          0.90", "pay-rule / pay tx/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "(MsgPay)"), strings.Index(out, "through a rule  "); i < 0 || j < i {
		t.Errorf("pay-rule is not the row after pay:\n%s", out)
	}
	if o := DefaultOptions(); strings.Join(o.Systems, ",") != "amp,pay,pay-rule,kvstore" {
		t.Errorf("default systems %v", o.Systems)
	}
}
