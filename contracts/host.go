package contracts

// Host is implemented by the caller (modules/rules) to give a rule its state.
// Keys and values are the rule's own: the implementation scopes them to the
// merchant that owns the binding and buffers writes per transaction (commit
// on ClassOK, discard otherwise) — that policy is the caller's, the engine
// only forwards calls in guest order.
//
// The slices passed to Get, Set and Delete are views into the rule's memory,
// valid only until the method returns: an implementation that keeps a key or
// value copies it (the engine does not, so nothing is copied twice). Get's
// result is copied before the call returns, so the callee may return its
// internal buffer. An error is a node fault (the store failed), never a guest
// error: Evaluate stops and returns it.
type Host interface {
	Get(key []byte) (value []byte, found bool, err error)
	Set(key, value []byte) error
	Delete(key []byte) error
}

// Call is one evaluation request. The engine writes the 32-byte header from
// Entry, Height, Time and RuleVersion, followed by Body, into the rule's
// buffer.
type Call struct {
	Entry       Entry
	Height      uint64 // block height
	Time        int64  // block time, Unix seconds (also what WASI clocks return)
	RuleVersion uint32 // binding version, starts at 1
	Body        []byte // payment/claim: exactly 120 bytes (see Payment, Claim); query: ≤ 1024 bytes

	// GasLimit is the gas available to this evaluation, instantiation
	// included; 0 means Limits.MaxGas, and larger values are capped there.
	GasLimit uint64
	// Limits are the chain's current limits; nil means DefaultLimits().
	Limits *Limits
	// Host serves state; nil behaves as an empty, read-only-safe store
	// whose writes are dropped (useful for simulations).
	Host Host
}

func (c *Call) limits() Limits {
	if c.Limits == nil {
		return DefaultLimits()
	}
	return *c.Limits
}

// gasLimit applies the defaults and the cap.
func (c *Call) gasLimit(l *Limits) uint64 {
	if c.GasLimit == 0 || c.GasLimit > l.MaxGas {
		return l.MaxGas
	}
	return c.GasLimit
}

type nopHost struct{}

func (nopHost) Get([]byte) ([]byte, bool, error) { return nil, false, nil }
func (nopHost) Set(_, _ []byte) error            { return nil }
func (nopHost) Delete([]byte) error              { return nil }
