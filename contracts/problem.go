package contracts

import "fmt"

// Problem is one reason a module is refused at deploy. Code is stable and may
// enter consensus (e.g. as a deploy failure code); Message is for people and
// may change between releases, so it must never be hashed into state.
type Problem struct {
	Code    ProblemCode `json:"code"`
	Message string      `json:"message"`
}

func (p Problem) String() string { return string(p.Code) + ": " + p.Message }

// ProblemCode classifies deploy-time rejections.
type ProblemCode string

// Problem codes. They are part of the rules ABI (docs/rules-abi.md): add new
// ones freely, never rename or reuse one.
const (
	ProblemSize         ProblemCode = "size"          // module larger than Limits.MaxCodeBytes
	ProblemParse        ProblemCode = "parse"         // not a well-formed WebAssembly binary
	ProblemInvalid      ProblemCode = "invalid"       // well-formed but fails WebAssembly validation
	ProblemStart        ProblemCode = "start_section" // start sections run before the host can meter
	ProblemFeature      ProblemCode = "feature"       // SIMD, threads, tail calls, multi-memory, memory64, exceptions, GC…
	ProblemLocals       ProblemCode = "locals"        // too many params+locals in one function
	ProblemBodySize     ProblemCode = "body_size"     // one function body too large
	ProblemFunctions    ProblemCode = "functions"     // too many functions
	ProblemTable        ProblemCode = "table"         // table too large, or more than one
	ProblemBrTable      ProblemCode = "br_table"      // br_table with too many targets
	ProblemMemory       ProblemCode = "memory"        // initial memory too large, missing or imported memory
	ProblemImport       ProblemCode = "import"        // import outside the allowed set or with the wrong signature
	ProblemExport       ProblemCode = "export"        // required export missing or of the wrong kind
	ProblemSignature    ProblemCode = "signature"     // required export with the wrong signature
	ProblemMeter        ProblemCode = "meter"         // touches the injected meter (reserved names or indices)
	ProblemInstrumented ProblemCode = "instrument"    // metering could not be injected
)

func problemf(code ProblemCode, format string, args ...any) Problem {
	return Problem{Code: code, Message: fmt.Sprintf(format, args...)}
}

// moduleError carries a Problem out of the parser and instrumenter so both
// Validate and Instrument report the same class for the same defect.
type moduleError struct{ p Problem }

func (e *moduleError) Error() string { return e.p.String() }

func errorf(code ProblemCode, format string, args ...any) error {
	return &moduleError{problemf(code, format, args...)}
}
