package contracts

import "fmt"

// GasSchedule prices everything a rule can make a validator do. It is a
// chain parameter: every field changes consensus, so the schedule carries a
// Version that is recorded with each deployed rule next to InstrumentVersion.
// Static costs (instructions, locals, calls, br_table targets) are baked into
// the bytecode by Instrument; dynamic ones (memory.grow pages, bulk bytes,
// table elements) are charged by injected code from the run-time operand;
// host calls and instantiation are charged by the host from this schedule,
// never from elapsed time.
type GasSchedule struct {
	Version uint32 `json:"version"`

	// Charged by the injected code.
	Instruction    uint64 `json:"instruction"`      // every instruction, control included
	Segment        uint64 `json:"segment"`          // per straight-line segment entered: the meter's own work and the branch into it
	MemoryAccess   uint64 `json:"memory_access"`    // extra per load or store
	DivRem         uint64 `json:"div_rem"`          // extra per integer division or remainder
	Float          uint64 `json:"float"`            // extra per floating-point arithmetic instruction
	Call           uint64 `json:"call"`             // extra per call or call_indirect
	CallIndirect   uint64 `json:"call_indirect"`    // extra per call_indirect, on top of Call
	BrTableTargets uint64 `json:"br_table_targets"` // extra per br_table: 1 gas per this many targets (0 = free)
	Local          uint64 `json:"local"`            // per declared local at function entry (zeroing)
	MemoryGrowPage uint64 `json:"memory_grow_page"` // per page requested by memory.grow, before growing
	Bulk16Bytes    uint64 `json:"bulk_16_bytes"`    // per started 16 bytes of memory.copy/fill/init
	TableElement   uint64 `json:"table_element"`    // per element of table.grow/fill/copy/init

	// Charged by the host.
	HostCall        uint64 `json:"host_call"`        // every host function call (rules_v1 and WASI)
	HostByte        uint64 `json:"host_byte"`        // per byte copied across the boundary (keys, values, events, messages, fd_write, random_get)
	StateRead       uint64 `json:"state_read"`       // extra per state_get
	StateWrite      uint64 `json:"state_write"`      // extra per state_set or state_del
	Event           uint64 `json:"event"`            // extra per emit_event
	HashByte        uint64 `json:"hash_byte"`        // per byte hashed by sha256 or drawn from random_get
	InstantiateBase uint64 `json:"instantiate_base"` // per fresh instance
	InstantiateByte uint64 `json:"instantiate_byte"` // per byte of the instrumented module, per instance
	InstantiatePage uint64 `json:"instantiate_page"` // per initial memory page, per instance

	// Charged by the deploying module (not by this package) when a rule is
	// stored: validation, instrumentation and the first compilation all scale
	// with the module size.
	DeployByte uint64 `json:"deploy_byte"`
}

// GasScheduleVersion is the version of DefaultGasSchedule. Bump it whenever a
// default changes; deployed rules keep the version they were priced with.
const GasScheduleVersion = 1

// DefaultGasSchedule returns the schedule of GasScheduleVersion. The figures
// were measured on the reference machine (2 shared amd64 cores, wazero
// v1.12.0 compiler); see docs/rules-abi.md "Gas" for the measurements.
func DefaultGasSchedule() GasSchedule {
	return GasSchedule{
		Version:         GasScheduleVersion,
		Instruction:     1,
		Segment:         4,
		MemoryAccess:    2,
		DivRem:          4,
		Float:           1,
		Call:            20,
		CallIndirect:    8,
		BrTableTargets:  64,
		Local:           1,
		MemoryGrowPage:  32768,
		Bulk16Bytes:     2,
		TableElement:    16,
		HostCall:        200,
		HostByte:        1,
		StateRead:       800,
		StateWrite:      3000,
		Event:           400,
		HashByte:        4,
		InstantiateBase: 20_000,
		InstantiateByte: 1,
		InstantiatePage: 16384,
		DeployByte:      4000,
	}
}

// instrCost is the static price of one instruction under s.
func (s *GasSchedule) instrCost(in *instr) uint64 {
	c := s.Instruction
	op := in.op
	switch {
	case op >= 0x28 && op <= 0x3e:
		c += s.MemoryAccess
	case op == 0x6d || op == 0x6e || op == 0x6f || op == 0x70 || // i32 div/rem
		op == 0x7f || op == 0x80 || op == 0x81 || op == 0x82: // i64 div/rem
		c += s.DivRem
	case op >= 0x8b && op <= 0xa6: // f32/f64 arithmetic
		c += s.Float
	case op == opCall:
		c += s.Call
	case op == opCallIndirect:
		c += s.Call + s.CallIndirect
	case op == opBrTable && s.BrTableTargets > 0:
		c += (uint64(in.imm) + 1 + s.BrTableTargets - 1) / s.BrTableTargets
	}
	return c
}

// MaxGasPrice bounds every schedule field. Dynamic charges multiply a price
// by a 32-bit operand inside the guest's i64 arithmetic; with prices below
// 2^24 the product stays below 2^56 and can never wrap into a refund.
const MaxGasPrice = 1 << 24

// Validate reports a schedule that Instrument or the host cannot apply
// safely.
func (s GasSchedule) Validate() error {
	fields := []struct {
		name string
		v    uint64
	}{
		{"instruction", s.Instruction}, {"segment", s.Segment}, {"memory_access", s.MemoryAccess}, {"div_rem", s.DivRem},
		{"float", s.Float}, {"call", s.Call}, {"call_indirect", s.CallIndirect},
		{"br_table_targets", s.BrTableTargets}, {"local", s.Local}, {"memory_grow_page", s.MemoryGrowPage},
		{"bulk_16_bytes", s.Bulk16Bytes}, {"table_element", s.TableElement}, {"host_call", s.HostCall},
		{"host_byte", s.HostByte}, {"state_read", s.StateRead}, {"state_write", s.StateWrite},
		{"event", s.Event}, {"hash_byte", s.HashByte}, {"instantiate_base", s.InstantiateBase},
		{"instantiate_byte", s.InstantiateByte}, {"instantiate_page", s.InstantiatePage},
		{"deploy_byte", s.DeployByte},
	}
	for _, f := range fields {
		if f.v > MaxGasPrice {
			return fmt.Errorf("gas schedule: %s = %d exceeds %d", f.name, f.v, MaxGasPrice)
		}
	}
	if s.Instruction == 0 {
		// A zero instruction price would let a loop run unmetered.
		return fmt.Errorf("gas schedule: instruction must be at least 1")
	}
	if s.HostCall == 0 {
		return fmt.Errorf("gas schedule: host_call must be at least 1")
	}
	return nil
}
