package app

import (
	"encoding/hex"
	"testing"
)

// goldenAppHash pins the app hash after a fixed script of blocks. It changes
// only when the state machine changes what it writes or how it hashes: if
// this test fails, either revert the accidental change or, for a deliberate
// one, update the value with a note in docs/changelog.md (and, once a
// network runs a release, bump AppVersion).
const goldenAppHash = "a0e38d07a31cc023e83094fb1ac91e056f6297607385ebb7ee938dd0d28a80d7"

func TestGoldenAppHash(t *testing.T) {
	c := newTestChain(t)
	c.block()
	c.block(c.tx(c.alice, send(t, c.alice, c.bob, "12.5")), c.tx(c.bob, send(t, c.bob, c.alice, "0.000001")))
	iss, al := c.issuer.PubKey().Address(), c.alice.PubKey().Address()
	r := c.block(c.tx(c.issuer, mintMsg(t, iss, al, "3")))
	got := hex.EncodeToString(r.AppHash)
	if got != goldenAppHash {
		t.Fatalf("app hash after the golden script is %s, pinned %s", got, goldenAppHash)
	}
}
