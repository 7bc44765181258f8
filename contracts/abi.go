package contracts

// The rules_v1 ABI as code: names, signatures, sizes and codes shared by
// Validate, Instrument and the engine. docs/rules-abi.md is the prose version;
// the two must change together.

// ABI identifiers recorded with each deployed rule.
const (
	ABIVersion  = "rules_v1" // import module name of the host functions
	ABIMinor    = 1          // abi_minor written in the input header
	ABIMarker   = "rules_abi_v1"
	WASIModule  = "wasi_snapshot_preview1"
	MeterPrefix = "__amp_" // reserved for the injected meter; rules may not export or import it
)

// Required and optional exports.
const (
	ExportMemory     = "memory"
	ExportBuffer     = "rule_buffer"
	ExportEvaluate   = "evaluate"
	ExportInitialize = "_initialize"
)

// Exports the instrumenter adds. Names under MeterPrefix are refused in
// user modules, so the host can trust what it reads here.
const (
	exportGas   = MeterPrefix + "gas"   // i64 remaining gas; negative after running out
	exportDepth = MeterPrefix + "depth" // i32 remaining call depth; negative after exceeding it
	exportPages = MeterPrefix + "pages" // i64 memory.grow ceiling in pages, set by the host
)

// Sizes of the I/O buffer and of what may cross it.
const (
	BufferSize  = 65536 // rule_buffer() .. +BufferSize must lie inside memory
	MaxOutput   = 4096  // out_len cap
	MaxMessage  = 200   // UTF-8 message after a reject/deny code
	MaxKey      = 64    // state keys are 1..MaxKey bytes
	MaxValue    = 1024  // state values are 0..MaxValue bytes
	MaxEvents   = 8     // emit_event calls per evaluation
	MaxEvent    = 256   // bytes per event
	MaxQuery    = 1024  // caller bytes after the header of a query
	HeaderSize  = 32
	PaymentSize = 152 // in_len of a payment: header + 120-byte body
	ClaimSize   = 152 // in_len of a claim: header + 120-byte body
	maxAbortMsg = 256 // abort messages are cut here (they are diagnostics)
)

// Entry says which hook the host calls.
type Entry uint32

const (
	EntryPayment Entry = 1 // may read and write state
	EntryClaim   Entry = 2 // may read and write state
	EntryQuery   Entry = 3 // read-only: state_set/state_del trap
)

func (e Entry) String() string {
	switch e {
	case EntryPayment:
		return "payment"
	case EntryClaim:
		return "claim"
	case EntryQuery:
		return "query"
	}
	return "entry(" + itoa(uint64(e)) + ")"
}

// Decision is the low 32 bits of evaluate's result.
type Decision uint32

const (
	DecisionAccept        Decision = 0  // payment: no output
	DecisionReject        Decision = 1  // payment: u32 code + optional message
	DecisionHold          Decision = 2  // payment: u64 seconds to hold in escrow
	DecisionApproveRefund Decision = 10 // claim: empty (full claimed amount) or u128 amount ≤ claimed
	DecisionDeny          Decision = 11 // claim: u32 code + optional message
	DecisionNoAnswer      Decision = 12 // claim: no output
	DecisionOK            Decision = 20 // query: the answer
)

// ctx_get fields.
const (
	CtxHeight      = 1
	CtxTime        = 2
	CtxRuleVersion = 3
)

// Header offsets (little-endian).
const (
	offABIMinor    = 0
	offEntry       = 2
	offHeight      = 8
	offTime        = 16
	offRuleVersion = 24
)

// Value types in signatures, spelled like api.ValueType but local so the
// checker does not depend on wazero.
type sig struct {
	params, results string // one letter per value: i=i32 I=i64 f=f32 F=f64
}

func (s sig) String() string {
	return "(" + s.params + ")->(" + s.results + ")"
}

func sigOf(t funcType) sig {
	return sig{params: letters(t.params), results: letters(t.results)}
}

func letters(ts []byte) string {
	b := make([]byte, len(ts))
	for i, t := range ts {
		switch t {
		case valI32:
			b[i] = 'i'
		case valI64:
			b[i] = 'I'
		case valF32:
			b[i] = 'f'
		case valF64:
			b[i] = 'F'
		default:
			b[i] = 'r'
		}
	}
	return string(b)
}

// hostSigs is the rules_v1 import set.
var hostSigs = map[string]sig{
	"state_get":  {"iiii", "i"},
	"state_set":  {"iiii", "i"},
	"state_del":  {"ii", ""},
	"ctx_get":    {"i", "I"},
	"emit_event": {"ii", "i"},
	"abort":      {"iii", ""},
	"sha256":     {"iii", ""},
}

// wasiSigs is the deterministic WASI subset. Go's wasip1 runtime imports the
// first ten unconditionally and the fd_* ones as soon as package os is
// linked (fmt does), so all of them must be importable; see wasi.go for what
// each one does.
var wasiSigs = map[string]sig{
	"args_get":            {"ii", "i"},
	"args_sizes_get":      {"ii", "i"},
	"environ_get":         {"ii", "i"},
	"environ_sizes_get":   {"ii", "i"},
	"clock_time_get":      {"iIi", "i"},
	"clock_res_get":       {"ii", "i"},
	"random_get":          {"ii", "i"},
	"fd_write":            {"iiii", "i"},
	"proc_exit":           {"i", ""},
	"sched_yield":         {"", "i"},
	"poll_oneoff":         {"iiii", "i"},
	"fd_close":            {"i", "i"},
	"fd_fdstat_get":       {"ii", "i"},
	"fd_fdstat_set_flags": {"ii", "i"},
	"fd_prestat_get":      {"ii", "i"},
	"fd_prestat_dir_name": {"iii", "i"},
}

// requiredExports are the functions every rule exports, with signatures.
var requiredExports = []struct {
	name string
	sig  sig
}{
	{ABIMarker, sig{"", ""}},
	{ExportBuffer, sig{"", "i"}},
	{ExportEvaluate, sig{"ii", "I"}},
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
