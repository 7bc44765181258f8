package contracts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/tetratelabs/wazero"
)

// Engine runs instrumented rules. One per node; safe for concurrent use
// (consensus, CheckTx and queries may share it: instances are never shared).
//
// Consensus depends on the engine being the same everywhere: wazero v1.12.0,
// the compiler engine, amd64 (NaN bit patterns and native stack behaviour
// are per architecture), Features, InstrumentVersion and the GasSchedule the
// rule was instrumented with. The compilation cache is node-local and only
// saves time.
type Engine struct {
	rt    wazero.Runtime
	cache wazero.CompilationCache
	sched GasSchedule

	mu       sync.Mutex
	compiled map[[32]byte]*compiled

	// hostCtxGet keeps ctx_get a host call (tests compare the two).
	hostCtxGet bool
}

// compiled is one instrumented module compiled by this node.
type compiled struct {
	cm       wazero.CompiledModule
	size     int
	minPages uint32
	hasInit  bool
	pool     poolPlan // whether and how a Pool may reset its instances
	ctxGet   bool     // ctx_get is inlined (inlinectx.go)
}

// Code is a deployed rule as the engine runs it: the output of Instrument
// and its SHA-256, the key of the per-node compilation. Build it with
// NewCode (hashing a 2 MB Go rule on every call would cost ~1 ms).
type Code struct {
	Hash [32]byte
	Wasm []byte
	// Schedule is the gas schedule the rule was instrumented with. Its
	// host-call and instantiation prices apply to the rule, so that a
	// schedule change by governance does not re-price deployed rules
	// halfway (their injected prices are baked in). nil: the engine's.
	Schedule *GasSchedule
}

// NewCode hashes instrumented bytes once.
func NewCode(instrumented []byte) Code {
	return Code{Hash: sha256.Sum256(instrumented), Wasm: instrumented}
}

// ErrUnsupportedPlatform is returned where wazero has no compiler.
var ErrUnsupportedPlatform = errors.New("contracts: the wazero compiler does not support this platform")

// NewEngine starts a wazero runtime with the compiler engine and a
// compilation cache in cacheDir (in memory if empty), and installs the
// rules_v1 and WASI host modules. Host calls are priced with
// DefaultGasSchedule; use NewEngineWithSchedule when the chain's schedule
// differs.
func NewEngine(ctx context.Context, cacheDir string) (*Engine, error) {
	return NewEngineWithSchedule(ctx, cacheDir, DefaultGasSchedule())
}

// NewEngineWithSchedule is NewEngine with the host-side prices of s (the
// injected prices are already in the instrumented code).
func NewEngineWithSchedule(ctx context.Context, cacheDir string, s GasSchedule) (*Engine, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	switch runtime.GOARCH {
	case "amd64", "arm64":
	default:
		return nil, ErrUnsupportedPlatform
	}
	var cache wazero.CompilationCache
	if cacheDir == "" {
		cache = wazero.NewCompilationCache()
	} else {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cacheDir); err != nil {
			return nil, fmt.Errorf("contracts: compilation cache: %w", err)
		}
	}
	cfg := wazero.NewRuntimeConfigCompiler().
		WithCoreFeatures(Features).
		WithCompilationCache(cache).
		WithDebugInfoEnabled(false).
		// Never: context cancellation is not deterministic; gas bounds time.
		WithCloseOnContextDone(false)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	e := &Engine{rt: rt, cache: cache, sched: s, compiled: map[[32]byte]*compiled{}}
	if err := instantiateHost(ctx, rt, ABIVersion, rulesHostFuncs()); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("contracts: host module: %w", err)
	}
	if err := instantiateHost(ctx, rt, WASIModule, wasiHostFuncs()); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("contracts: wasi module: %w", err)
	}
	return e, nil
}

// Schedule returns the host-side gas schedule.
func (e *Engine) Schedule() GasSchedule { return e.sched }

// Close releases the runtime and the in-memory cache.
func (e *Engine) Close(ctx context.Context) error {
	err := e.rt.Close(ctx)
	if cerr := e.cache.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

// Compile compiles code ahead of its first evaluation (e.g. at deploy or
// node start). Errors are node faults or a module that never passed
// Validate/Instrument.
func (e *Engine) Compile(ctx context.Context, code Code) error {
	_, err := e.compile(ctx, code)
	return err
}

// Forget drops a compiled module (e.g. when a rule is removed).
func (e *Engine) Forget(ctx context.Context, hash [32]byte) {
	e.mu.Lock()
	c := e.compiled[hash]
	delete(e.compiled, hash)
	e.mu.Unlock()
	if c != nil {
		c.cm.Close(ctx)
	}
}

func (e *Engine) compile(ctx context.Context, code Code) (*compiled, error) {
	e.mu.Lock()
	c := e.compiled[code.Hash]
	e.mu.Unlock()
	if c != nil {
		return c, nil
	}
	// Compiling outside the lock lets other rules run meanwhile; two
	// goroutines racing on the same new rule both compile and one result
	// is dropped, which is harmless.
	wasm, inlined := code.Wasm, false
	if !e.hostCtxGet {
		wasm, inlined = inlineCtx(wasm)
	}
	wasm, plan := planPool(wasm)
	cm, err := e.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("contracts: compile %s: %w", short(code.Hash), err)
	}
	// size is the stored metered module's, which instantiation is priced
	// on; what inlineCtx and planPool add is node-local.
	c = &compiled{cm: cm, size: len(code.Wasm), pool: plan, ctxGet: inlined}
	mem, ok := cm.ExportedMemories()[ExportMemory]
	if !ok {
		cm.Close(ctx)
		return nil, fmt.Errorf("contracts: module %s exports no memory", short(code.Hash))
	}
	c.minPages = mem.Min()
	_, c.hasInit = cm.ExportedFunctions()[ExportInitialize]
	e.mu.Lock()
	if prev := e.compiled[code.Hash]; prev != nil {
		e.mu.Unlock()
		cm.Close(ctx)
		return prev, nil
	}
	e.compiled[code.Hash] = c
	e.mu.Unlock()
	return c, nil
}

// short names a module in errors. It takes the hash by value so that
// callers' Code does not escape to the heap on their fast paths.
func short(h [32]byte) string { return hex.EncodeToString(h[:8]) }
