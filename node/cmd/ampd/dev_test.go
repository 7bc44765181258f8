package main

import (
	"strings"
	"testing"
)

// The help of ampd dev describes the demo identities of its genesis.
func TestDevHelpDescribesIdentities(t *testing.T) {
	out, err := runAmpd(t, "dev", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"alice-phone", "alice-watch", "helper", "agent-1", "Demo Shop", "manage_devices", "p256"} {
		if !strings.Contains(out, want) {
			t.Errorf("ampd dev --help lacks %q:\n%s", want, out)
		}
	}
}
