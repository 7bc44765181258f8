package params

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/module"
)

// Name is the module's store prefix and query path.
const Name = "params"

// ErrInvalidParam rejects an unknown parameter or a value its module refuses.
var ErrInvalidParam = chain.RegisterError(250, "invalid_param", "a chain parameter is unknown or its value is out of range")

// Def declares one parameter.
type Def struct {
	// Key is "<module>.<name>", e.g. "consortium.voting_period_blocks".
	Key     string
	Default any
	// Doc says what it does, for docs and queries.
	Doc string
	// Validate checks a JSON value; nil accepts any value that decodes into
	// the default's type.
	Validate func(raw json.RawMessage) error
}

// Keeper holds the declared parameters.
type Keeper struct {
	defs map[string]Def
	// defaults holds each default encoded once, at Declare: values are read
	// on hot paths (every payment reads the trust tiers).
	defaults map[string][]byte
	// block holds every value as of the start of the block in progress, so
	// that a payment reads its parameters without going to disk. Values
	// change only through Set, which drops it.
	block atomic.Pointer[blockValues]
}

type blockValues struct {
	height int64
	vals   map[string][]byte
}

// New returns an empty registry; modules Declare their parameters at wiring.
func New() *Keeper { return &Keeper{defs: map[string]Def{}, defaults: map[string][]byte{}} }

func (*Keeper) Name() string { return Name }

// Declare adds a parameter. It panics on a duplicate key or a default that
// does not pass its own validation: both are wiring bugs.
func (k *Keeper) Declare(d Def) {
	if _, dup := k.defs[d.Key]; dup {
		panic("params: " + d.Key + " declared twice")
	}
	raw, err := json.Marshal(d.Default)
	if err != nil {
		panic(fmt.Sprintf("params: default of %s: %v", d.Key, err))
	}
	k.defs[d.Key] = d
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		panic(fmt.Sprintf("params: default of %s: %v", d.Key, err))
	}
	k.defaults[d.Key] = compact.Bytes()
	if err := k.validate(d.Key, raw); err != nil {
		panic(fmt.Sprintf("params: default of %s: %v", d.Key, err))
	}
}

func (k *Keeper) validate(key string, raw json.RawMessage) error {
	d, ok := k.defs[key]
	if !ok {
		return chain.Wrapf(ErrInvalidParam, "no parameter %q", key)
	}
	// The value must decode strictly into the default's type.
	def, _ := json.Marshal(d.Default)
	probe := newLike(def)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(probe); err != nil {
		return chain.Wrapf(ErrInvalidParam, "%s: %v", key, err)
	}
	if d.Validate != nil {
		if err := d.Validate(raw); err != nil {
			return chain.Wrapf(ErrInvalidParam, "%s: %v", key, err)
		}
	}
	return nil
}

// newLike returns a pointer to a fresh value of the JSON shape of def.
func newLike(def []byte) any {
	switch {
	case len(def) > 0 && def[0] == '{':
		return &map[string]json.RawMessage{}
	case len(def) > 0 && def[0] == '[':
		return &[]json.RawMessage{}
	case len(def) > 0 && def[0] == '"':
		return new(string)
	case string(def) == "true" || string(def) == "false":
		return new(bool)
	default:
		return new(json.Number)
	}
}

func key(k string) []byte { return []byte("v/" + k) }

// Raw returns a parameter's current value as compact JSON, without
// decoding it: for callers that cache what they parse from it. The bytes
// must not be modified.
func (k *Keeper) Raw(ctx *module.Context, name string) ([]byte, error) {
	if b := k.block.Load(); b != nil && b.height == ctx.Height {
		if v, ok := b.vals[name]; ok {
			return v, nil
		}
	}
	return k.read(ctx, name)
}

func (k *Keeper) read(ctx *module.Context, name string) ([]byte, error) {
	def, ok := k.defaults[name]
	if !ok {
		return nil, chain.Wrapf(ErrInvalidParam, "no parameter %q", name)
	}
	if raw := ctx.Store(Name + "/").Get(key(name)); raw != nil {
		return raw, nil
	}
	return def, nil
}

// BeginBlock reads every parameter once for the block starting: until the
// block ends, or a Set, Raw and Get answer from memory. Queries of the
// block's height after its commit see the same values, which are the
// committed ones.
func (k *Keeper) BeginBlock(ctx *module.Context) error {
	vals := make(map[string][]byte, len(k.defaults))
	for name := range k.defaults {
		v, err := k.read(ctx, name)
		if err != nil {
			return err
		}
		vals[name] = v
	}
	k.block.Store(&blockValues{height: ctx.Height, vals: vals})
	return nil
}

// Get decodes a parameter's current value into out.
func (k *Keeper) Get(ctx *module.Context, name string, out any) error {
	raw, err := k.Raw(ctx, name)
	if err != nil {
		return err
	}
	// Integers are most parameters and are read on every payment: parse
	// them without the reflection of encoding/json. Anything else, or an
	// integer in a form ParseInt refuses (1e3), takes the general path.
	if p, ok := out.(*int64); ok {
		if v, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			*p = v
			return nil
		}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return chain.Wrapf(chain.ErrInternal, "stored parameter %s: %v", name, err)
	}
	return nil
}

// Set validates and stores a new value.
func (k *Keeper) Set(ctx *module.Context, name string, raw json.RawMessage) error {
	if err := k.validate(name, raw); err != nil {
		return err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return chain.Wrapf(ErrInvalidParam, "%s: %v", name, err)
	}
	k.block.Store(nil)
	ctx.Store(Name+"/").Set(key(name), compact.Bytes())
	ctx.Emit("param_changed", module.Attr{Key: "key", Value: name}, module.Attr{Key: "value", Value: compact.String()})
	return nil
}

// Validate checks a value without storing it (for proposals at submission).
func (k *Keeper) Validate(name string, raw json.RawMessage) error { return k.validate(name, raw) }

// InitGenesis applies overrides: {"consortium.voting_period_blocks": 100}.
func (k *Keeper) InitGenesis(ctx *module.Context, raw json.RawMessage) error {
	var g map[string]json.RawMessage
	if err := json.Unmarshal(raw, &g); err != nil {
		return fmt.Errorf("params genesis: %w", err)
	}
	names := make([]string, 0, len(g))
	for n := range g {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := k.Set(ctx, n, g[n]); err != nil {
			return err
		}
	}
	return nil
}

// View is a parameter as queries show it.
type View struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
	Doc   string          `json:"doc"`
}

// Query answers /params (all) and /params/<key>.
func (k *Keeper) Query(ctx *module.Context, path []string) (any, error) {
	view := func(name string) (View, error) {
		var v json.RawMessage
		if err := k.Get(ctx, name, &v); err != nil {
			return View{}, err
		}
		return View{Key: name, Value: v, Doc: k.defs[name].Doc}, nil
	}
	switch {
	case len(path) == 0 || (len(path) == 1 && path[0] == ""):
		names := make([]string, 0, len(k.defs))
		for n := range k.defs {
			names = append(names, n)
		}
		sort.Strings(names)
		out := make([]View, 0, len(names))
		for _, n := range names {
			v, err := view(n)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case len(path) == 1:
		return view(path[0])
	}
	return nil, chain.Wrapf(chain.ErrNotFound, "no params query %q", strings.Join(path, "/"))
}
