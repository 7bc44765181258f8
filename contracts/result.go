package contracts

// Class is how an evaluation ended. Only the class, the decision, the
// validated output, the abort code, the events and GasUsed may enter
// consensus; wazero's error text never does (it differs between versions and
// carries stack traces).
type Class uint8

// Class values are stable: they may be stored. Zero is "unset" so a
// forgotten assignment cannot read as success.
const (
	ClassOK            Class = 1 // evaluate returned a decision valid for the entry, with a well-formed output
	ClassOutOfGas      Class = 2 // the gas limit was reached (GasUsed = the limit)
	ClassTrap          Class = 3 // WebAssembly trap, host-function misuse, proc_exit, failed instantiation
	ClassAbort         Class = 4 // the rule called abort(code, msg)
	ClassInvalidOutput Class = 5 // bad decision for the entry, malformed output, bad rule_buffer
	ClassLimit         Class = 6 // a run-time cap was hit: call depth, events, initial memory
)

func (c Class) String() string {
	switch c {
	case ClassOK:
		return "ok"
	case ClassOutOfGas:
		return "out_of_gas"
	case ClassTrap:
		return "trap"
	case ClassAbort:
		return "abort"
	case ClassInvalidOutput:
		return "invalid_output"
	case ClassLimit:
		return "limit"
	}
	return "unset"
}

// Result is the consensus-relevant outcome of one evaluation. Decision and
// Output are only meaningful with ClassOK; AbortCode and AbortMessage with
// ClassAbort. Events are those emitted before the end, kept for every class
// so that callers may decide (the usual choice is to drop them unless OK).
type Result struct {
	Class        Class
	Decision     Decision
	Output       []byte
	GasUsed      uint64
	AbortCode    uint32
	AbortMessage []byte // at most 256 bytes, as the rule passed it (diagnostic)
	Events       [][]byte
}
