package module

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
)

// Module is a domain of the ledger. Beyond a name it implements whichever of
// HasMsgs, HasGenesis, HasQueries, HasEndBlock and HasInvariants it needs.
type Module interface {
	// Name is the module's key prefix in the store and its query path.
	Name() string
}

// HasMsgs is a module that handles tx messages.
type HasMsgs interface {
	Routes() []Route
}

// HasGenesis is a module with state in the genesis file's app_state under
// its name.
type HasGenesis interface {
	InitGenesis(ctx *Context, raw json.RawMessage) error
}

// HasQueries is a module that answers ABCI queries at /<name>/<path>. The
// answer is encoded as JSON.
type HasQueries interface {
	Query(ctx *Context, path []string) (any, error)
}

// HasBeginBlock is a module with work before the first tx of every block.
type HasBeginBlock interface {
	BeginBlock(ctx *Context) error
}

// HasEndBlock is a module with work at the end of every block; its cost
// must follow what happened in the block, not the size of the state.
type HasEndBlock interface {
	EndBlock(ctx *Context) error
}

// Invariant checks one property that must hold after every block.
type Invariant struct {
	Name  string
	Check func(ctx *Context) error
}

// HasInvariants is a module that states its invariants.
type HasInvariants interface {
	Invariants() []Invariant
}

// Route binds a message type to its stateless validation and its handler.
type Route struct {
	Type     string
	decode   func([]byte) (proto.Message, error)
	validate func(proto.Message) error
	handle   func(*Context, proto.Message) error
}

// NewRoute makes a typed route. validate must check everything that needs no
// state (formats, ranges); it runs in CheckTx. handle runs in FinalizeBlock
// and may fail with a chain.Error; its writes are discarded if it does.
func NewRoute[T proto.Message](validate func(T) error, handle func(*Context, T) error) Route {
	var zero T
	mt := zero.ProtoReflect().Type()
	return Route{
		Type: string(mt.Descriptor().FullName()),
		decode: func(b []byte) (proto.Message, error) {
			m := mt.New().Interface()
			if err := chain.UnmarshalCanonical(b, m); err != nil {
				return nil, err
			}
			return m, nil
		},
		validate: func(m proto.Message) error { return validate(m.(T)) },
		handle:   func(ctx *Context, m proto.Message) error { return handle(ctx, m.(T)) },
	}
}

// Decode decodes and validates a message of the route's type.
func (r Route) Decode(b []byte) (proto.Message, error) {
	m, err := r.decode(b)
	if err != nil {
		return nil, chain.Wrapf(chain.ErrMsgDecode, "%s: %v", r.Type, err)
	}
	if err := r.validate(m); err != nil {
		return nil, fmt.Errorf("%s: %w", r.Type, err)
	}
	return m, nil
}

// Handle runs the handler.
func (r Route) Handle(ctx *Context, m proto.Message) error { return r.handle(ctx, m) }

// ValidatorUpdate changes one validator's voting power; power 0 removes it.
type ValidatorUpdate struct {
	PubKey []byte // 32-byte ed25519 consensus key
	Power  int64
}

// HasValidatorUpdates is a module that changes the validator set. The app
// calls it after every module's EndBlock; what it returns takes effect in
// CometBFT two blocks later. It must not return one key twice.
type HasValidatorUpdates interface {
	ValidatorUpdates(ctx *Context) ([]ValidatorUpdate, error)
}

// HasTxGuard is a module that may refuse a whole tx before any of its
// messages runs, from facts about its signers (the identity module refuses
// every tx a suspended agent's key signs). The guard runs on every tx, so
// it must be cheap: a read or two per signer.
type HasTxGuard interface {
	GuardTx(ctx *Context) error
}

// HasSparseKeys is a module with key spaces that are read far more often for
// keys that are absent than for keys that are there: the payments module's
// order index, which every payment reads to check that its order is new.
// The app keeps a filter of the keys stored under these prefixes (relative
// to the module's store) and answers reads it rules out without the disk.
type HasSparseKeys interface {
	SparseKeyPrefixes() []string
}

// HasPriorityMsgs is a module whose listed message types a block proposer
// puts first — revocations, suspensions — so that they take effect before
// the payments racing them into the same block.
type HasPriorityMsgs interface {
	PriorityMsgTypes() []string
}
