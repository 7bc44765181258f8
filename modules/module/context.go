package module

import (
	"time"

	"github.com/amp-ledger/amp/chain"
)

// Event reports a state change; the app passes events to CometBFT, which
// indexes them, and the gateway streams them.
type Event struct {
	Type  string
	Attrs []Attr
}

// Attr is one key-value pair of an event. Indexed attributes can be
// searched with CometBFT's tx_search (e.g. transfer.to='amp1…'); index only
// what someone searches by, since every index entry costs storage per tx.
type Attr struct {
	Key, Value string
	Index      bool
}

// Authorizer lets a module vouch for a signer acting for an account that is
// not its own — the identity module's device keys acting for their person
// within their scopes. It must be deterministic and read only the store.
type Authorizer func(ctx *Context, account chain.Address, signer chain.PubKey, scope string) bool

// Context is what a handler, a genesis step or end-of-block work sees: the
// block, the state and the tx's signers. A Context is used by one goroutine.
type Context struct {
	ChainID string
	Height  int64
	// Time is the block time from the header: the only clock state-machine
	// code may read.
	Time time.Time

	store       Store
	signers     []chain.PubKey
	events      []Event
	authorizers []Authorizer
	gas         uint64
}

// UseGas records gas the tx used — deploy bytes, rule evaluations — which
// the app reports in the tx result. It saturates rather than wraps.
func (c *Context) UseGas(n uint64) {
	if c.gas+n < c.gas {
		c.gas = ^uint64(0)
		return
	}
	c.gas += n
}

// GasUsed is the gas recorded so far.
func (c *Context) GasUsed() uint64 { return c.gas }

// NewContext makes a context over store. The app makes one per tx; tests
// make them directly.
func NewContext(chainID string, height int64, t time.Time, store Store, signers []chain.PubKey, authorizers []Authorizer) *Context {
	return &Context{ChainID: chainID, Height: height, Time: t, store: store, signers: signers, authorizers: authorizers}
}

// Store returns the view of the state under a module's key prefix.
func (c *Context) Store(prefix string) Store { return Prefixed(c.store, prefix) }

// Signers returns the keys whose signatures the tx carries (verified).
func (c *Context) Signers() []chain.PubKey { return c.signers }

// Emit records an event of this tx or block.
func (c *Context) Emit(typ string, attrs ...Attr) {
	c.events = append(c.events, Event{Type: typ, Attrs: attrs})
}

// Events returns the events emitted so far.
func (c *Context) Events() []Event { return c.events }

// SignedBy reports whether the account's own key signed the tx.
func (c *Context) SignedBy(account chain.Address) bool {
	for _, k := range c.signers {
		if k.Address() == account {
			return true
		}
	}
	return false
}

// Authorize returns nil if the tx is signed by the account's own key or by a
// key that a registered Authorizer accepts for the account and scope, and
// chain.ErrUnauthorized otherwise.
func (c *Context) Authorize(account chain.Address, scope string) error {
	if c.SignedBy(account) {
		return nil
	}
	for _, k := range c.signers {
		for _, a := range c.authorizers {
			if a(c, account, k, scope) {
				return nil
			}
		}
	}
	return chain.Wrapf(chain.ErrUnauthorized, "no signature of the tx may act for %s (scope %q)", account, scope)
}
