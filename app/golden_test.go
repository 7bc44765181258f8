package app

import (
	"encoding/hex"
	"testing"
)

// goldenAppHash pins the app hash after a fixed script of blocks. It changes
// only when the state machine changes what it writes or how it hashes: if
// this test fails, either revert the accidental change or, for a deliberate
// one, bump AppVersion and update the value with a note in the changelog.
const goldenAppHash = "bb7c0273a1c6e85af014a668ec273c74df58094e1cc4d9369472079443df05bf"

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
