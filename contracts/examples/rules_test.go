package examples_test

// These tests run the committed example rules (contracts/examples/wasm/*.wasm)
// with wazero directly, through a minimal in-test host of the rules_v1 ABI
// (docs/rules-abi.md) and of the deterministic WASI subset Go guests need. They
// check the rules' decisions on crafted inputs without the sandbox of package
// contracts and without npm: rebuild the files with `make rules`.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ABI constants.
const (
	bufferSize = 65536
	maxOutput  = 4096

	entryPayment = 1
	entryClaim   = 2
	entryQuery   = 3

	accept        = 0
	reject        = 1
	hold          = 2
	approveRefund = 10
	deny          = 11
	noAnswer      = 12
	ok            = 20

	reasonUnauthorized = 1
	reasonNotReceived  = 2

	day = 86400
	t0  = 1_767_225_600 // 2026-01-01T00:00:00Z
)

// ---------------------------------------------------------------- inputs

// usd is cents/100 USD in base units (18 decimals).
func usd(cents int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(cents), new(big.Int).Exp(big.NewInt(10), big.NewInt(16), nil))
}

func u128(v *big.Int) []byte {
	if v.Sign() < 0 || v.BitLen() > 128 {
		panic("not a u128")
	}
	be := v.FillBytes(make([]byte, 16))
	le := make([]byte, 16)
	for i := range be {
		le[i] = be[15-i]
	}
	return le
}

func fromU128(b []byte) *big.Int {
	be := make([]byte, 16)
	for i := range b[:16] {
		be[i] = b[15-i]
	}
	return new(big.Int).SetBytes(be)
}

func addr(b byte) [20]byte {
	var a [20]byte
	for i := range a {
		a[i] = b
	}
	return a
}

var (
	alice    = addr(0xa1)
	bob      = addr(0xb0)
	merchant = addr(0x33)
)

func header(entry uint16, blockTime int64, size int) []byte {
	in := make([]byte, size)
	binary.LittleEndian.PutUint16(in[0:], 1)
	binary.LittleEndian.PutUint16(in[2:], entry)
	binary.LittleEndian.PutUint64(in[8:], 1234)
	binary.LittleEndian.PutUint64(in[16:], uint64(blockTime))
	binary.LittleEndian.PutUint32(in[24:], 1)
	return in
}

func paymentIn(payer [20]byte, amount *big.Int, blockTime int64) []byte {
	in := header(entryPayment, blockTime, 152)
	copy(in[32:], u128(amount))
	in[48] = 18
	copy(in[49:56], "USD")
	copy(in[56:76], payer[:])
	copy(in[76:96], merchant[:])
	binary.LittleEndian.PutUint64(in[96:], 7)  // agent-7
	binary.LittleEndian.PutUint64(in[104:], 3) // mandate
	for i := 112; i < 144; i++ {
		in[i] = byte(i)
	}
	binary.LittleEndian.PutUint32(in[144:], 800)
	binary.LittleEndian.PutUint32(in[148:], 2)
	return in
}

func claimIn(claimed *big.Int, reason uint32) []byte {
	in := header(entryClaim, t0, 152)
	copy(in[32:], u128(claimed))
	in[48] = 18
	copy(in[49:56], "USD")
	copy(in[56:76], alice[:])
	copy(in[76:96], merchant[:])
	binary.LittleEndian.PutUint64(in[96:], 7)
	binary.LittleEndian.PutUint64(in[104:], 42) // payment number
	copy(in[112:], u128(claimed))               // payment amount
	binary.LittleEndian.PutUint32(in[128:], reason)
	binary.LittleEndian.PutUint64(in[136:], uint64(t0-3600))
	binary.LittleEndian.PutUint64(in[144:], 9) // claim number
	return in
}

func queryIn(body []byte, blockTime int64) []byte {
	return append(header(entryQuery, blockTime, 32), body...)
}

// ---------------------------------------------------------------- host

// trap is what a host function panics with to end an evaluation.
type trap struct {
	class string // "trap", "abort", "exit"
	code  int32
	msg   string
}

func (t *trap) Error() string { return fmt.Sprintf("%s %d: %s", t.class, t.code, t.msg) }

// host is the in-test rules_v1 host: the merchant's rule state (kept across
// evaluations) and what the current evaluation did.
type host struct {
	state  map[string][]byte
	entry  uint32
	time   int64
	events [][]byte
	ended  *trap
	rand   uint64
}

func (h *host) fail(t *trap) {
	h.ended = t
	panic(t)
}

func mem(h *host, m api.Module, ptr, n uint32) []byte {
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		h.fail(&trap{class: "trap", msg: fmt.Sprintf("out of bounds %d+%d", ptr, n)})
	}
	return b
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

type hostFunc struct {
	params, results []api.ValueType
	fn              func(h *host, m api.Module, s []uint64)
}

// The rules_v1 import module.
var rulesV1 = map[string]hostFunc{
	"state_get": {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, func(h *host, m api.Module, s []uint64) {
		key := h.key(m, uint32(s[0]), uint32(s[1]))
		v, found := h.state[string(key)]
		if !found {
			s[0] = api.EncodeI32(-1)
			return
		}
		n := min(uint32(len(v)), uint32(s[3]))
		copy(mem(h, m, uint32(s[2]), uint32(s[3]))[:n], v)
		s[0] = api.EncodeI32(int32(len(v)))
	}},
	"state_set": {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, func(h *host, m api.Module, s []uint64) {
		if h.entry == entryQuery {
			h.fail(&trap{class: "trap", msg: "state_set in a query"})
		}
		key := h.key(m, uint32(s[0]), uint32(s[1]))
		if uint32(s[3]) > 1024 {
			h.fail(&trap{class: "trap", msg: "value too long"})
		}
		h.state[string(key)] = bytes.Clone(mem(h, m, uint32(s[2]), uint32(s[3])))
		s[0] = 0
	}},
	"state_del": {[]api.ValueType{i32, i32}, nil, func(h *host, m api.Module, s []uint64) {
		if h.entry == entryQuery {
			h.fail(&trap{class: "trap", msg: "state_del in a query"})
		}
		delete(h.state, string(h.key(m, uint32(s[0]), uint32(s[1]))))
	}},
	"ctx_get": {[]api.ValueType{i32}, []api.ValueType{i64}, func(h *host, m api.Module, s []uint64) {
		switch int32(s[0]) {
		case 1:
			s[0] = 1234
		case 2:
			s[0] = uint64(h.time)
		case 3:
			s[0] = 1
		default:
			h.fail(&trap{class: "trap", msg: "ctx_get field"})
		}
	}},
	"emit_event": {[]api.ValueType{i32, i32}, []api.ValueType{i32}, func(h *host, m api.Module, s []uint64) {
		if len(h.events) >= 8 || uint32(s[1]) > 256 {
			h.fail(&trap{class: "trap", msg: "too many or too long events"})
		}
		h.events = append(h.events, bytes.Clone(mem(h, m, uint32(s[0]), uint32(s[1]))))
		s[0] = 0
	}},
	"abort": {[]api.ValueType{i32, i32, i32}, nil, func(h *host, m api.Module, s []uint64) {
		msg := mem(h, m, uint32(s[1]), uint32(s[2]))
		h.fail(&trap{class: "abort", code: int32(s[0]), msg: string(msg)})
	}},
	"sha256": {[]api.ValueType{i32, i32, i32}, nil, func(h *host, m api.Module, s []uint64) {
		sum := sha256.Sum256(mem(h, m, uint32(s[0]), uint32(s[1])))
		copy(mem(h, m, uint32(s[2]), 32), sum[:])
	}},
}

func (h *host) key(m api.Module, p, n uint32) []byte {
	if n < 1 || n > 64 {
		h.fail(&trap{class: "trap", msg: fmt.Sprintf("key length %d", n)})
	}
	return mem(h, m, p, n)
}

// The deterministic WASI subset of the ABI. Any other WASI function a module
// imports is provided but traps when called.
var wasiSubset = map[string]func(h *host, m api.Module, s []uint64){
	"clock_time_get": func(h *host, m api.Module, s []uint64) { // (id, precision, *time) errno
		binary.LittleEndian.PutUint64(mem(h, m, uint32(s[2]), 8), uint64(h.time)*1e9)
		s[0] = 0
	},
	"random_get": func(h *host, m api.Module, s []uint64) { // (buf, len) errno
		b := mem(h, m, uint32(s[0]), uint32(s[1]))
		for i := range b {
			h.rand = h.rand*6364136223846793005 + 1442695040888963407
			b[i] = byte(h.rand >> 56)
		}
		s[0] = 0
	},
	"fd_write": func(h *host, m api.Module, s []uint64) { // (fd, iovs, iovsLen, *nwritten) errno
		if fd := uint32(s[0]); fd != 1 && fd != 2 {
			s[0] = 8 // EBADF
			return
		}
		iovs := mem(h, m, uint32(s[1]), uint32(s[2])*8)
		var n uint32
		for i := uint32(0); i < uint32(s[2]); i++ {
			n += binary.LittleEndian.Uint32(iovs[i*8+4:])
		}
		binary.LittleEndian.PutUint32(mem(h, m, uint32(s[3]), 4), n)
		s[0] = 0
	},
	"proc_exit": func(h *host, m api.Module, s []uint64) {
		h.fail(&trap{class: "exit", code: int32(s[0])})
	},
	"args_sizes_get":    sizesGet,
	"environ_sizes_get": sizesGet,
	"args_get":          func(h *host, m api.Module, s []uint64) { s[0] = 0 },
	"environ_get":       func(h *host, m api.Module, s []uint64) { s[0] = 0 },
}

func sizesGet(h *host, m api.Module, s []uint64) { // (*count, *size) errno
	binary.LittleEndian.PutUint32(mem(h, m, uint32(s[0]), 4), 0)
	binary.LittleEndian.PutUint32(mem(h, m, uint32(s[1]), 4), 0)
	s[0] = 0
}

// ---------------------------------------------------------------- rule runner

// rule is a compiled example with its host; each evaluation runs in a fresh
// instance, as the sandbox does.
type rule struct {
	name     string
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	h        *host
}

// result is one evaluation's outcome.
type result struct {
	decision uint32
	out      []byte
	err      error
}

func (r result) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("decision %d output %x", r.decision, r.out)
}

var (
	cacheOnce sync.Once
	cache     wazero.CompilationCache
)

func load(t *testing.T, file string) *rule {
	t.Helper()
	bin, err := os.ReadFile(filepath.Join("wasm", file))
	if err != nil {
		t.Fatalf("%v (build the examples with `make rules`)", err)
	}
	checkStatic(t, file, bin)
	ctx := context.Background()
	cacheOnce.Do(func() { cache = wazero.NewCompilationCache() })
	cfg := wazero.NewRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2 &^ api.CoreFeatureSIMD).
		WithMemoryLimitPages(256).
		WithCompilationCache(cache)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	t.Cleanup(func() { rt.Close(ctx) })
	compiled, err := rt.CompileModule(ctx, bin)
	if err != nil {
		t.Fatalf("%s: compile: %v", file, err)
	}
	r := &rule{name: file, rt: rt, compiled: compiled, h: &host{state: map[string][]byte{}}}
	r.checkSignatures(t)
	r.instantiateHosts(t)
	return r
}

// checkStatic checks what wazero does not: no start section, and the import
// modules the ABI allows.
func checkStatic(t *testing.T, file string, bin []byte) {
	t.Helper()
	if len(bin) < 8 || !bytes.Equal(bin[:8], []byte("\x00asm\x01\x00\x00\x00")) {
		t.Fatalf("%s: not a wasm module", file)
	}
	for p := 8; p < len(bin); {
		id := bin[p]
		size, n := binary.Uvarint(bin[p+1:])
		if n <= 0 {
			t.Fatalf("%s: bad section at %d", file, p)
		}
		if id == 8 {
			t.Errorf("%s: has a start section (the ABI forbids it; AssemblyScript needs --exportStart _initialize)", file)
		}
		p += 1 + n + int(size)
	}
}

func (r *rule) checkSignatures(t *testing.T) {
	t.Helper()
	exports := r.compiled.ExportedFunctions()
	want := map[string]string{
		"rules_abi_v1": "()->()",
		"rule_buffer":  "()->(i32)",
		"evaluate":     "(i32,i32)->(i64)",
	}
	for name, sig := range want {
		def, ok := exports[name]
		if !ok {
			t.Fatalf("%s: export %s missing", r.name, name)
		}
		if got := signature(def); got != sig {
			t.Fatalf("%s: export %s is %s, want %s", r.name, name, got, sig)
		}
	}
	if def, ok := exports["_initialize"]; ok && signature(def) != "()->()" {
		t.Fatalf("%s: _initialize is %s", r.name, signature(def))
	}
	if _, ok := r.compiled.ExportedMemories()["memory"]; !ok {
		t.Fatalf("%s: memory not exported", r.name)
	}
	var wasi []string
	for _, def := range r.compiled.ImportedFunctions() {
		mod, name, _ := def.Import()
		switch mod {
		case "rules_v1":
			f, ok := rulesV1[name]
			if !ok {
				t.Fatalf("%s: imports unknown rules_v1.%s", r.name, name)
			}
			if got, want := signature(def), sigOf(f.params, f.results); got != want {
				t.Fatalf("%s: imports rules_v1.%s as %s, want %s", r.name, name, got, want)
			}
		case "wasi_snapshot_preview1":
			wasi = append(wasi, name)
		default:
			t.Fatalf("%s: imports %s.%s", r.name, mod, name)
		}
	}
	if len(wasi) > 0 {
		sort.Strings(wasi)
		t.Logf("%s imports WASI: %s", r.name, strings.Join(wasi, " "))
	}
}

func signature(def api.FunctionDefinition) string {
	return sigOf(def.ParamTypes(), def.ResultTypes())
}

func sigOf(params, results []api.ValueType) string {
	names := func(vs []api.ValueType) string {
		s := make([]string, len(vs))
		for i, v := range vs {
			s[i] = api.ValueTypeName(v)
		}
		return strings.Join(s, ",")
	}
	return "(" + names(params) + ")->(" + names(results) + ")"
}

func (r *rule) instantiateHosts(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	h := r.h
	b := r.rt.NewHostModuleBuilder("rules_v1")
	for name, f := range rulesV1 {
		fn := f.fn
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
			fn(h, m, s)
		}), f.params, f.results).Export(name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	w := r.rt.NewHostModuleBuilder("wasi_snapshot_preview1")
	hasWASI := false
	for _, def := range r.compiled.ImportedFunctions() {
		mod, name, _ := def.Import()
		if mod != "wasi_snapshot_preview1" {
			continue
		}
		hasWASI = true
		fn, ok := wasiSubset[name]
		if !ok {
			name := name
			fn = func(h *host, m api.Module, s []uint64) {
				h.fail(&trap{class: "trap", msg: "WASI " + name + " is not provided"})
			}
		}
		w.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
			fn(h, m, s)
		}), def.ParamTypes(), def.ResultTypes()).Export(name)
	}
	if hasWASI {
		if _, err := w.Instantiate(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// eval runs one evaluation in a fresh instance: _initialize, rule_buffer, the
// input written at the buffer, evaluate, the output read back.
func (r *rule) eval(t *testing.T, in []byte) result {
	t.Helper()
	ctx := context.Background()
	h := r.h
	h.entry = uint32(binary.LittleEndian.Uint16(in[2:]))
	h.time = int64(binary.LittleEndian.Uint64(in[16:]))
	h.events, h.ended = nil, nil
	h.rand = binary.LittleEndian.Uint64(in[8:]) ^ uint64(len(in))
	mod, err := r.rt.InstantiateModule(ctx, r.compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		t.Fatalf("%s: instantiate: %v", r.name, err)
	}
	defer mod.Close(ctx)
	call := func(name string, params ...uint64) ([]uint64, error) {
		res, err := mod.ExportedFunction(name).Call(ctx, params...)
		if err != nil && h.ended != nil {
			err = h.ended
		}
		return res, err
	}
	if mod.ExportedFunction("_initialize") != nil {
		if _, err := call("_initialize"); err != nil {
			t.Fatalf("%s: _initialize: %v", r.name, err)
		}
	}
	res, err := call("rule_buffer")
	if err != nil {
		t.Fatalf("%s: rule_buffer: %v", r.name, err)
	}
	buf := uint32(res[0])
	if uint64(buf)+bufferSize > uint64(mod.Memory().Size()) {
		t.Fatalf("%s: buffer %d+64KiB outside memory of %d bytes", r.name, buf, mod.Memory().Size())
	}
	if !mod.Memory().Write(buf, in) {
		t.Fatal("write input")
	}
	res, err = call("evaluate", uint64(h.entry), uint64(len(in)))
	if err != nil {
		return result{err: err}
	}
	n := uint32(res[0] >> 32)
	if n > maxOutput {
		t.Fatalf("%s: output of %d bytes", r.name, n)
	}
	out, _ := mod.Memory().Read(buf, n)
	return result{decision: uint32(res[0]), out: bytes.Clone(out)}
}

// ---------------------------------------------------------------- assertions

func wantDecision(t *testing.T, what string, got result, decision uint32) {
	t.Helper()
	if got.err != nil || got.decision != decision {
		t.Fatalf("%s: got %v, want decision %d", what, got, decision)
	}
	switch decision {
	case accept, noAnswer:
		if len(got.out) != 0 {
			t.Fatalf("%s: unexpected output %x", what, got.out)
		}
	case reject, deny:
		if len(got.out) < 4 || len(got.out) > 204 || !utf8.Valid(got.out[4:]) {
			t.Fatalf("%s: malformed reject/deny output %q", what, got.out)
		}
	}
}

func wantReject(t *testing.T, what string, got result, code uint32) {
	t.Helper()
	wantDecision(t, what, got, reject)
	if c := binary.LittleEndian.Uint32(got.out); c != code {
		t.Fatalf("%s: reject code %d, want %d (message %q)", what, c, code, got.out[4:])
	}
	if len(got.out) == 4 {
		t.Fatalf("%s: reject without a message", what)
	}
}

func wantAbort(t *testing.T, what string, got result, code int32) {
	t.Helper()
	var tr *trap
	if !errors.As(got.err, &tr) || tr.class != "abort" || tr.code != code {
		t.Fatalf("%s: got %v, want abort %d", what, got, code)
	}
}

// ---------------------------------------------------------------- tests

func TestMaxAmount(t *testing.T) {
	for _, file := range []string{"max-amount.wasm", "max-amount-go.wasm"} {
		t.Run(file, func(t *testing.T) {
			r := load(t, file)
			pay := func(cents int64) result { return r.eval(t, paymentIn(alice, usd(cents), t0)) }

			// Default maximum: 5 USD.
			wantReject(t, "6 USD, default max", pay(600), 1)
			wantReject(t, "5.01 USD, default max", pay(501), 1)
			wantDecision(t, "5 USD, default max", pay(500), accept)
			wantDecision(t, "0.01 USD, default max", pay(1), accept)

			// A stored maximum of 10 USD as a u128 LE.
			r.h.state["max"] = u128(usd(1000))
			wantDecision(t, "6 USD, max 10 USD", pay(600), accept)
			wantDecision(t, "10 USD, max 10 USD", pay(1000), accept)
			wantReject(t, "11 USD, max 10 USD", pay(1100), 1)

			// As decimal text in whole units.
			r.h.state["max"] = []byte("10.5")
			wantDecision(t, "10.50 USD, max \"10.5\"", pay(1050), accept)
			wantReject(t, "10.51 USD, max \"10.5\"", pay(1051), 1)
			r.h.state["max"] = []byte("20")
			wantDecision(t, "19 USD, max \"20\"", pay(1900), accept)
			wantReject(t, "21 USD, max \"20\"", pay(2100), 1)

			// A malformed maximum ends the evaluation (fail closed).
			r.h.state["max"] = []byte("ten")
			wantAbort(t, "max \"ten\"", pay(100), -1)
			delete(r.h.state, "max")

			// Other entries: the neutral decisions.
			wantDecision(t, "claim", r.eval(t, claimIn(usd(300), reasonNotReceived)), noAnswer)
			q := r.eval(t, queryIn([]byte("hi"), t0))
			wantDecision(t, "query", q, ok)
			if len(q.out) != 0 {
				t.Fatalf("query answered %x", q.out)
			}
		})
	}
}

func TestHoldLarge(t *testing.T) {
	r := load(t, "hold-large.wasm")
	got := r.eval(t, paymentIn(alice, usd(15000), t0))
	wantDecision(t, "150 USD", got, hold)
	if len(got.out) != 8 || binary.LittleEndian.Uint64(got.out) != 2_592_000 {
		t.Fatalf("150 USD: hold output %x, want 2592000 seconds", got.out)
	}
	wantDecision(t, "100.01 USD", r.eval(t, paymentIn(alice, usd(10001), t0)), hold)
	wantDecision(t, "100 USD", r.eval(t, paymentIn(alice, usd(10000), t0)), accept)
	wantDecision(t, "50 USD", r.eval(t, paymentIn(alice, usd(5000), t0)), accept)
	wantDecision(t, "claim", r.eval(t, claimIn(usd(15000), reasonNotReceived)), noAnswer)
}

func TestRefundSmall(t *testing.T) {
	r := load(t, "refund-small.wasm")
	wantDecision(t, "3 USD not_received", r.eval(t, claimIn(usd(300), reasonNotReceived)), approveRefund)
	wantDecision(t, "4.99 USD not_received", r.eval(t, claimIn(usd(499), reasonNotReceived)), approveRefund)
	wantDecision(t, "5 USD not_received", r.eval(t, claimIn(usd(500), reasonNotReceived)), noAnswer)
	wantDecision(t, "6 USD not_received", r.eval(t, claimIn(usd(600), reasonNotReceived)), noAnswer)
	wantDecision(t, "3 USD unauthorized", r.eval(t, claimIn(usd(300), reasonUnauthorized)), noAnswer)
	for reason := uint32(3); reason <= 6; reason++ {
		wantDecision(t, fmt.Sprintf("3 USD reason %d", reason), r.eval(t, claimIn(usd(300), reason)), noAnswer)
	}
	wantDecision(t, "payment", r.eval(t, paymentIn(alice, usd(100000), t0)), accept)
}

func TestDailyTotals(t *testing.T) {
	r := load(t, "daily-totals.wasm")
	pay := func(who [20]byte, cents int64, at int64) result { return r.eval(t, paymentIn(who, usd(cents), at)) }
	total := func(who [20]byte, at int64) *big.Int {
		t.Helper()
		got := r.eval(t, queryIn(who[:], at))
		wantDecision(t, "query", got, ok)
		if len(got.out) != 16 {
			t.Fatalf("query answered %d bytes, want 16", len(got.out))
		}
		return fromU128(got.out)
	}
	wantTotal := func(who [20]byte, at int64, cents int64) {
		t.Helper()
		if got := total(who, at); got.Cmp(usd(cents)) != 0 {
			t.Fatalf("total %v, want %v", got, usd(cents))
		}
	}
	noon := int64(t0 + 12*3600)

	wantTotal(alice, noon, 0)
	wantDecision(t, "alice 20", pay(alice, 2000, noon), accept)
	wantDecision(t, "alice 20 more", pay(alice, 2000, noon+60), accept)
	wantTotal(alice, noon, 4000)
	wantReject(t, "alice 15 over 50", pay(alice, 1500, noon+120), 2)
	wantTotal(alice, noon, 4000) // a rejected payment does not count
	wantDecision(t, "alice 10 up to 50", pay(alice, 1000, noon+180), accept)
	wantReject(t, "alice 0.01 over 50", pay(alice, 1, noon+240), 2)
	wantTotal(alice, noon, 5000)

	// Another payer has their own total.
	wantDecision(t, "bob 30", pay(bob, 3000, noon), accept)
	wantTotal(bob, noon, 3000)
	wantTotal(alice, noon, 5000)

	// The state key is payer ++ day (u64 LE); the value a u128 LE.
	key := append(alice[:], make([]byte, 8)...)
	binary.LittleEndian.PutUint64(key[20:], uint64(noon/day))
	if v := r.h.state[string(key)]; len(v) != 16 || fromU128(v).Cmp(usd(5000)) != 0 {
		t.Fatalf("state[%x] = %x", key, v)
	}

	// A new UTC day starts from zero.
	tomorrow := int64(t0 + day)
	wantTotal(alice, tomorrow, 0)
	wantDecision(t, "alice 20 tomorrow", pay(alice, 2000, tomorrow), accept)
	wantTotal(alice, tomorrow, 2000)
	wantTotal(alice, noon, 5000)

	// A single payment over the limit, and a merchant-set limit.
	wantReject(t, "bob 60 alone", pay(bob, 6000, tomorrow), 2)
	r.h.state["limit"] = []byte("100")
	wantDecision(t, "bob 60, limit 100", pay(bob, 6000, tomorrow), accept)
	wantReject(t, "bob 41 more, limit 100", pay(bob, 4100, tomorrow), 2)
	r.h.state["limit"] = u128(usd(10000))
	wantDecision(t, "bob 40 more, limit 100 (u128)", pay(bob, 4000, tomorrow), accept)
	wantTotal(bob, tomorrow, 10000)

	// A malformed query body answers zero; claims get no answer.
	if got := r.eval(t, queryIn([]byte("short"), noon)); got.decision != ok || fromU128(got.out).Sign() != 0 {
		t.Fatalf("short query: %v", got)
	}
	wantDecision(t, "claim", r.eval(t, claimIn(usd(300), reasonNotReceived)), noAnswer)
}

// TestExamplesComplete checks that every example source has its committed
// build, so that `make rules` was run after the last change of a source's name.
func TestExamplesComplete(t *testing.T) {
	srcs, _ := filepath.Glob("assemblyscript/*.ts")
	gos, _ := filepath.Glob("go/*")
	if len(srcs) == 0 {
		t.Fatal("no AssemblyScript examples")
	}
	for _, s := range srcs {
		name := strings.TrimSuffix(filepath.Base(s), ".ts") + ".wasm"
		if _, err := os.Stat(filepath.Join("wasm", name)); err != nil {
			t.Errorf("%s has no wasm/%s: run make rules", s, name)
		}
	}
	for _, g := range gos {
		name := filepath.Base(g) + "-go.wasm"
		if _, err := os.Stat(filepath.Join("wasm", name)); err != nil {
			t.Errorf("%s has no wasm/%s: run make rules", g, name)
		}
	}
}

// ---------------------------------------------------------------- SDK self-test

// step is one evaluation of the self-test rule as the host saw it.
type step struct {
	what   string
	res    result
	events [][]byte
	state  map[string][]byte
}

func (s step) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", s.what)
	var tr *trap
	if errors.As(s.res.err, &tr) {
		fmt.Fprintf(&b, "%s %d %q", tr.class, tr.code, tr.msg)
	} else {
		b.WriteString(s.res.String())
	}
	for _, e := range s.events {
		fmt.Fprintf(&b, "\n  event %x", e)
	}
	keys := make([]string, 0, len(s.state))
	for k := range s.state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  state %x = %x", k, s.state[k])
	}
	return b.String()
}

// selfTest runs the self-test rule of contracts/sdk/*/selftest on a fixed
// sequence of inputs.
func selfTest(t *testing.T, file string) []step {
	r := load(t, filepath.Join("..", "testdata", file))
	run := func(what string, in []byte) step {
		res := r.eval(t, in)
		return step{what: what, res: res, events: r.h.events, state: maps.Clone(r.h.state)}
	}
	var steps []step
	pay := paymentIn(alice, usd(1234), t0+100)
	steps = append(steps, run("payment 12.34", pay))
	r.h.state["amt"] = []byte("1.5")
	trusted := paymentIn(alice, usd(1234), t0+200)
	binary.LittleEndian.PutUint32(trusted[144:], 1000)
	steps = append(steps, run("payment trusted", trusted))
	steps = append(steps, run("payment 0", paymentIn(alice, usd(0), t0+300)))
	steps = append(steps, run("claim 3", claimIn(usd(300), reasonNotReceived)))
	steps = append(steps, run("claim other", claimIn(usd(300), 6)))
	steps = append(steps, run("query hello", queryIn([]byte("hello"), t0+400)))
	steps = append(steps, run("query write", queryIn([]byte("write"), t0+400)))
	steps = append(steps, run("query del", queryIn([]byte("del"), t0+400)))
	return steps
}

// TestSDKSelfTest checks both SDKs against the ABI through the self-test
// rules, and that they behave identically.
func TestSDKSelfTest(t *testing.T) {
	as := selfTest(t, "sdk-selftest.wasm")
	goSteps := selfTest(t, "sdk-selftest-go.wasm")
	for i := range as {
		if a, g := as[i].String(), goSteps[i].String(); a != g {
			t.Errorf("AssemblyScript and Go SDKs differ:\nAS: %s\nGo: %s", a, g)
		}
	}

	amount := usd(1234)
	le := binary.LittleEndian
	hdr := func(blockTime int64) []byte {
		var b []byte
		b = le.AppendUint32(b, 1)
		b = le.AppendUint64(b, 1234)
		b = le.AppendUint64(b, uint64(blockTime))
		b = le.AppendUint64(b, uint64(blockTime/day))
		b = le.AppendUint32(b, 1)
		b = le.AppendUint64(b, 1234)
		b = le.AppendUint64(b, uint64(blockTime))
		return le.AppendUint64(b, 1)
	}

	// Payment: reject 7 with the message cut at 199 bytes (not inside a rune).
	p := as[0]
	wantReject(t, p.what, p.res, 7)
	if msg := string(p.res.out[4:]); msg != "x"+strings.Repeat("é", 99) {
		t.Errorf("message %q (%d bytes)", msg, len(msg))
	}
	pay := paymentIn(alice, amount, t0+100)
	fields := append(bytes.Clone(pay[32:49]), pay[56:152]...)
	fields = append(fields, 1, 0) // asset is USD, not EUR
	orderHash := sha256.Sum256(pay[112:144])
	probe := append([]byte{0, 1, 1}, "héllo"...)
	probe = le.AppendUint32(probe, 6)
	probe = append(probe, "h\xc3"...)
	probe = append(probe, u128(big.NewInt(99))...)
	wantEvents := [][]byte{hdr(t0 + 100), fields, []byte("USD 12340000000000000000 600"), orderHash[:], probe}
	if len(p.events) != len(wantEvents) {
		t.Fatalf("%s", p)
	}
	for i := range wantEvents {
		if !bytes.Equal(p.events[i], wantEvents[i]) {
			t.Errorf("event %d: %x, want %x", i, p.events[i], wantEvents[i])
		}
	}
	dayKey := append(alice[:], make([]byte, 8)...)
	le.PutUint64(dayKey[20:], uint64((t0+100)/day))
	dayKey = append(dayKey, '/', 9, 0, 0, 0, 1)
	wantState := map[string][]byte{
		"k1":           {1, 2, 3},
		"s":            []byte("héllo"),
		"n":            le.AppendUint64(nil, 42),
		"big":          u128(new(big.Int).Add(amount, big.NewInt(1))),
		string(dayKey): u128(amount),
	}
	if !maps.EqualFunc(p.state, wantState, bytes.Equal) {
		t.Errorf("state after payment:\n%s", p)
	}

	// Trusted payment: hold 60 s; getAmount reads "1.5" as 1.5·10^18.
	p = as[1]
	wantDecision(t, p.what, p.res, hold)
	if le.Uint64(p.res.out) != 60 {
		t.Errorf("%s", p)
	}
	if got := fromU128(p.events[4][len(p.events[4])-16:]); got.Cmp(usd(150)) != 0 {
		t.Errorf("getAmount(\"1.5\") = %v", got)
	}
	if n := le.Uint64(p.state["n"]); n != 44 {
		t.Errorf("n = %d", n)
	}

	// Zero amount: abort 77.
	wantAbort(t, as[2].what, as[2].res, 77)

	// Claim: fields, asset, refund of claimed − 1.
	c := as[3]
	wantDecision(t, c.what, c.res, approveRefund)
	if want := new(big.Int).Sub(usd(300), big.NewInt(1)); len(c.res.out) != 16 || fromU128(c.res.out).Cmp(want) != 0 {
		t.Errorf("%s", c)
	}
	claim := claimIn(usd(300), reasonNotReceived)
	cf := append(bytes.Clone(claim[32:49]), claim[56:132]...) // not the reserved u32 at 132
	cf = append(cf, claim[136:152]...)
	cf = append(cf, 1)
	if len(c.events) != 3 || !bytes.Equal(c.events[0], hdr(t0)) || !bytes.Equal(c.events[1], cf) || string(c.events[2]) != "USD" {
		t.Errorf("%s", c)
	}

	// Deny: the lone surrogate became U+FFFD.
	c = as[4]
	wantDecision(t, c.what, c.res, deny)
	if le.Uint32(c.res.out) != 5 || string(c.res.out[4:]) != "\uFFFDbad" {
		t.Errorf("%s", c)
	}

	// Query: read-only state, sha256.
	q := as[5]
	wantDecision(t, q.what, q.res, ok)
	sum := sha256.Sum256([]byte("hello"))
	want := append(sum[:], 1, 2, 3)
	want = le.AppendUint64(want, 44)
	want = append(want, as[1].state["big"]...)
	want = append(want, 0, 'o', 'k')
	if !bytes.Equal(q.res.out, want) {
		t.Errorf("query answer %x, want %x", q.res.out, want)
	}
	for _, s := range as[6:] {
		var tr *trap
		if !errors.As(s.res.err, &tr) || tr.class != "trap" {
			t.Errorf("%s: want a trap", s)
		}
	}
}
