package contracts

import "fmt"

// Limits bound what a rule may be and do. They are a chain parameter:
// deploy-time caps are applied by Validate, run-time caps by Evaluate (passed
// per call, so a governance change takes effect without re-instrumenting).
type Limits struct {
	// Deploy time.
	MaxCodeBytes         uint32 `json:"max_code_bytes"`          // whole module
	MaxFunctionBodyBytes uint32 `json:"max_function_body_bytes"` // one function body (compile time grows with it)
	MaxFunctions         uint32 `json:"max_functions"`           // imported + defined
	MaxLocals            uint32 `json:"max_locals"`              // params + declared locals of one function
	MaxTableSize         uint32 `json:"max_table_size"`          // initial elements of the table
	MaxBrTableTargets    uint32 `json:"max_br_table_targets"`    // labels of one br_table
	MaxMemoryPages       uint32 `json:"max_memory_pages"`        // initial memory at deploy; the memory.grow ceiling at run time

	// Run time.
	MaxCallDepth uint32 `json:"max_call_depth"` // nested wasm calls, counted by the injected depth meter
	MaxGas       uint64 `json:"max_gas"`        // per evaluation, instantiation included
}

// DefaultLimits are sized for the rules we expect: C, AssemblyScript and WAT
// rules are a few KiB; Go (wasip1) rules are 1.5–2.6 MB with ~1,300–1,800
// functions, 33–39 initial pages and a table of ~5,400 entries, so the caps
// leave them room while refusing the abuse cases measured in
// ../shared/notes/wasm-rules.md (7.5 MiB modules, 1M-instruction bodies,
// 50k locals, 60,000 initial pages).
func DefaultLimits() Limits {
	return Limits{
		MaxCodeBytes:         4 << 20,
		MaxFunctionBodyBytes: 256 << 10,
		MaxFunctions:         16384,
		MaxLocals:            4096,
		MaxTableSize:         65536,
		MaxBrTableTargets:    16384,
		MaxMemoryPages:       512, // 32 MiB
		MaxCallDepth:         512,
		MaxGas:               DefaultMaxGas,
	}
}

// DefaultMaxGas is the per-evaluation gas cap: about 1 ms of CPU on the
// reference machine for the most expensive metered code we measured (see
// docs/rules-abi.md "Gas").
const DefaultMaxGas = 3_000_000

// Validate checks that the limits are usable.
func (l Limits) Validate() error {
	switch {
	case l.MaxCodeBytes < 8:
		return fmt.Errorf("limits: max_code_bytes %d too small", l.MaxCodeBytes)
	case l.MaxMemoryPages == 0 || l.MaxMemoryPages > 65536:
		return fmt.Errorf("limits: max_memory_pages must be 1..65536")
	case l.MaxCallDepth == 0 || l.MaxCallDepth > 1<<20:
		return fmt.Errorf("limits: max_call_depth must be 1..%d", 1<<20)
	case l.MaxGas == 0 || l.MaxGas > 1<<62:
		return fmt.Errorf("limits: max_gas must be 1..2^62")
	case l.MaxLocals == 0:
		return fmt.Errorf("limits: max_locals must be positive")
	}
	return nil
}
