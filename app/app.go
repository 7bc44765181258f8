package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/contracts"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
	"github.com/amp-ledger/amp/modules/payments"
	"github.com/amp-ledger/amp/modules/rules"
	"github.com/amp-ledger/amp/modules/trust"
)

// Version is the application's software version, reported by Info.
const Version = "0.1.0"

// AppVersion is the state-machine protocol version: it changes whenever the
// same blocks could produce different state.
const AppVersion uint64 = 1

// Keys the app keeps for itself. Meta keys start with 0x00, which no module
// prefix does, and are not part of the app hash.
var (
	metaHeight  = []byte("\x00meta/height")
	metaAppHash = []byte("\x00meta/apphash")
	metaChainID = []byte("\x00meta/chain_id")
	metaTime    = []byte("\x00meta/time") // block time of the last commit, Unix nanoseconds
)

// nonceKey holds a signing key's next nonce (8 bytes big-endian). Nonces are
// state like any other and are part of the app hash.
var noncePrefix = []byte("auth/n/")

func nonceKey(a chain.Address) []byte { return append(append([]byte(nil), noncePrefix...), a[:]...) }

// Options configure an App.
type Options struct {
	// Dir is the badger directory of the app state.
	Dir    string
	Logger cmtlog.Logger
	// CheckInvariants runs every module invariant after every block, which
	// scans the whole state: for tests and the dev chain, not production.
	CheckInvariants bool
	// WasmCacheDir keeps the node's compiled merchant rules across restarts
	// (node-local: it never affects results); empty keeps them in memory.
	WasmCacheDir string
}

// App is the AMP ledger's ABCI application.
type App struct {
	abci.BaseApplication

	log     cmtlog.Logger
	db      *badger.DB
	hasher  Hasher
	checked *txCache
	invOnce bool

	modules     []module.Module
	routes      map[string]module.Route
	authorizers []module.Authorizer
	guards      []module.HasTxGuard
	priority    map[string]bool // message types proposers put first
	bank        *bank.Keeper
	identity    *identity.Keeper
	trust       *trust.Keeper
	delegation  *delegation.Keeper
	payments    *payments.Keeper
	rules       *rules.Keeper
	engine      *contracts.Engine
	members     *consortium.Module
	params      *params.Keeper

	// Committed state, read by CheckTx and Query while a block executes.
	mu         sync.RWMutex
	chainID    string
	lastHeight int64
	lastHash   []byte
	// lastTime is the block time of the last commit: the clock of queries,
	// so that what depends on time (an expired attestation, an agent's
	// age) reads as of the state they see.
	lastTime time.Time

	// Node IDs of the genesis members: the peer filter's answer while no
	// block is committed yet (a fresh or wiped node must reach them to sync).
	genesisPeers map[string]bool

	// The block in progress, touched only by the consensus connection.
	genesis       *overlay // InitChain's writes, committed with the first block
	block         *blockState
	initialHeight int64

	// The mempool's view of nonces: the next nonce of each signer counting
	// txs CheckTx admitted since the last commit.
	checkMu sync.Mutex
	pending map[chain.Address]uint64
	// nonces caches committed nonces for CheckTx; Commit updates the ones
	// its block changed.
	nonces map[chain.Address]uint64

	// Touched only by the consensus connection: the committed values the
	// last block read (see cachedSnapshot), and how many keys it wrote.
	carried    map[string][]byte
	lastWrites int
	absent     *absentKeys
}

type blockState struct {
	height  int64
	time    time.Time
	read    *badger.Txn
	snap    *cachedSnapshot
	state   *overlay
	writes  []write // state's writes in key order, once FinalizeBlock ends
	appHash []byte
}

// New opens (or creates) the app's state in opts.Dir.
func New(opts Options) (*App, error) {
	logger := opts.Logger
	if logger == nil {
		logger = cmtlog.NewNopLogger()
	}
	db, err := openBadger(opts.Dir, badgerLogger{logger.With("module", "badger")})
	if err != nil {
		return nil, err
	}
	a := &App{
		log:     logger,
		db:      db,
		hasher:  chainedHasher{},
		checked: newTxCache(txCacheSize),
		invOnce: opts.CheckInvariants,
		routes:  map[string]module.Route{},
		pending: map[chain.Address]uint64{},
		nonces:  map[chain.Address]uint64{},
	}
	a.params = params.New()
	a.members = consortium.New(a.params)
	a.bank = bank.New(a.members)
	a.identity = identity.New(a.params, a.members, a.bank)
	a.trust = trust.New(a.params, a.identity)
	a.identity.SetObserver(a.trust)
	a.delegation = delegation.New(a.params, a.bank, a.identity, a.trust)
	a.payments = payments.New(a.params, a.bank, a.identity, a.delegation, a.trust)
	engine, err := contracts.NewEngine(context.Background(), opts.WasmCacheDir)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("rules engine: %w", err)
	}
	a.engine = engine
	a.rules = rules.New(a.params, a.bank, a.identity, a.trust, engine)
	a.payments.SetRules(a.rules)
	a.authorizers = []module.Authorizer{a.identity.Authorizer()}
	// Order matters at the end of a block: trust comes after every module
	// that records evidence (payments records settled payments when it
	// releases escrow), so a rating reflects the block it ends.
	a.modules = []module.Module{a.params, a.members, a.bank, a.identity, a.rules, a.delegation, a.payments, a.trust}
	a.priority = map[string]bool{}
	for _, m := range a.modules {
		if p, ok := m.(module.HasPriorityMsgs); ok {
			for _, t := range p.PriorityMsgTypes() {
				a.priority[t] = true
			}
		}
		if g, ok := m.(module.HasTxGuard); ok {
			a.guards = append(a.guards, g)
		}
		if hm, ok := m.(module.HasMsgs); ok {
			for _, r := range hm.Routes() {
				if _, dup := a.routes[r.Type]; dup {
					db.Close()
					return nil, fmt.Errorf("message type %s routed twice", r.Type)
				}
				a.routes[r.Type] = r
			}
		}
	}
	var sparse []string
	for _, m := range a.modules {
		if sk, ok := m.(module.HasSparseKeys); ok {
			for _, p := range sk.SparseKeyPrefixes() {
				sparse = append(sparse, m.Name()+"/"+p)
			}
		}
	}
	if a.absent, err = newAbsentKeys(db, sparse); err != nil {
		db.Close()
		return nil, fmt.Errorf("scan sparse keys: %w", err)
	}
	if err := a.loadMeta(); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// Close closes the database and the rules engine.
func (a *App) Close() error {
	if a.engine != nil {
		a.engine.Close(context.Background())
	}
	return a.db.Close()
}

func (a *App) loadMeta() error {
	return a.db.View(func(txn *badger.Txn) error {
		s := snapshot{txn}
		if v := s.Get(metaHeight); v != nil {
			if len(v) != 8 {
				return fmt.Errorf("corrupt stored height")
			}
			a.lastHeight = int64(binary.BigEndian.Uint64(v))
		}
		a.lastHash = s.Get(metaAppHash)
		a.chainID = string(s.Get(metaChainID))
		if v := s.Get(metaTime); len(v) == 8 {
			a.lastTime = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
		}
		return nil
	})
}

// LastCommit returns the last committed height and app hash.
func (a *App) LastCommit() (int64, []byte) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.lastHeight, append([]byte(nil), a.lastHash...)
}

// Info reports exactly the last committed height and hash, from which
// CometBFT's handshake replays any blocks the app has not committed.
func (a *App) Info(context.Context, *abci.InfoRequest) (*abci.InfoResponse, error) {
	h, hash := a.LastCommit()
	return &abci.InfoResponse{
		Data:             "amp-ledger",
		Version:          Version,
		AppVersion:       AppVersion,
		LastBlockHeight:  h,
		LastBlockAppHash: hash,
	}, nil
}

// InitChain loads the genesis app state. Its writes are committed together
// with the first block, so a crash before that simply repeats InitChain.
func (a *App) InitChain(_ context.Context, req *abci.InitChainRequest) (*abci.InitChainResponse, error) {
	read := a.db.NewTransaction(false)
	defer read.Discard()
	a.genesis = newOverlay(snapshot{read})
	ctx := module.NewContext(req.ChainId, req.InitialHeight, req.Time, a.genesis, nil, a.authorizers)

	var state map[string]json.RawMessage
	if len(req.AppStateBytes) > 0 {
		if err := json.Unmarshal(req.AppStateBytes, &state); err != nil {
			return nil, fmt.Errorf("genesis app_state: %w", err)
		}
	}
	known := map[string]bool{}
	for _, m := range a.modules {
		known[m.Name()] = true
		if g, ok := m.(module.HasGenesis); ok {
			raw, present := state[m.Name()]
			if !present {
				raw = json.RawMessage("{}")
			}
			if err := g.InitGenesis(ctx, raw); err != nil {
				return nil, fmt.Errorf("genesis of %s: %w", m.Name(), err)
			}
		}
	}
	for name := range state {
		if !known[name] {
			return nil, fmt.Errorf("genesis app_state has unknown module %q", name)
		}
	}
	vals, err := a.genesisValidators(ctx, req.Validators)
	if err != nil {
		return nil, err
	}
	hash := a.hasher.AppHash(nil, 0, a.genesis.writes())
	members, err := a.members.Members(ctx)
	if err != nil {
		return nil, err
	}
	peers := map[string]bool{}
	for _, m := range members {
		if m.NodeID != "" {
			peers[m.NodeID] = true
		}
	}
	a.mu.Lock()
	a.chainID = req.ChainId
	a.lastHash = hash
	a.genesisPeers = peers
	a.mu.Unlock()
	a.initialHeight = req.InitialHeight
	a.genesis.parent = nil // re-parented onto a fresh snapshot per block
	return &abci.InitChainResponse{AppHash: hash, Validators: vals}, nil
}

// genesisValidators checks that CometBFT's genesis validators are exactly the
// consortium's validator members, and returns the consortium's set.
func (a *App) genesisValidators(ctx *module.Context, given []abci.ValidatorUpdate) ([]abci.ValidatorUpdate, error) {
	ms, err := a.members.Validators(ctx)
	if err != nil {
		return nil, err
	}
	want := make([]abci.ValidatorUpdate, 0, len(ms))
	for _, m := range ms {
		vu, err := validatorUpdate(m.Validator)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", m.Name, err)
		}
		want = append(want, vu)
	}
	if len(given) > 0 {
		if err := sameValidators(given, want); err != nil {
			return nil, fmt.Errorf("genesis validators differ from the consortium's validator members: %w", err)
		}
	}
	if len(want) == 0 {
		return nil, errors.New("genesis has no validator member")
	}
	return want, nil
}

func (a *App) nextHeight() int64 {
	h, _ := a.LastCommit()
	if h == 0 && a.initialHeight > 1 {
		return a.initialHeight
	}
	return h + 1
}

// PrepareProposal keeps the mempool's order and drops what ProcessProposal
// would reject: txs that no longer pass the stateless checks.
func (a *App) PrepareProposal(_ context.Context, req *abci.PrepareProposalRequest) (*abci.PrepareProposalResponse, error) {
	first := make([][]byte, 0, 8)
	rest := make([][]byte, 0, len(req.Txs))
	// Signers with a tx left in mempool order: their later txs stay behind
	// it, or the nonces would run out of order.
	held := map[chain.Address]bool{}
	var size int64
	for _, tx := range req.Txs {
		c := a.checkCached(tx)
		if c.err != nil {
			continue // CheckTx admitted it, but it no longer passes (e.g. a new chain id)
		}
		if size+int64(len(tx)) > req.MaxTxBytes {
			break
		}
		size += int64(len(tx))
		signer := c.tx.Signer().Address()
		if !held[signer] && a.isPriority(c.tx) {
			first = append(first, tx)
			continue
		}
		held[signer] = true
		rest = append(rest, tx)
	}
	return &abci.PrepareProposalResponse{Txs: append(first, rest...)}, nil
}

// isPriority reports whether a tx carries a message that block proposers
// put first (a revocation, a suspension): then a revoke and a payment racing
// into the same block resolve in the person's favour. ProcessProposal
// accepts any order, so this is the proposer's courtesy, not a rule others
// enforce.
func (a *App) isPriority(tx *chain.Tx) bool {
	for _, m := range tx.Body.Msgs {
		if a.priority[m.Type] {
			return true
		}
	}
	return false
}

// ProcessProposal accepts any block whose txs all pass the stateless checks
// (decoding, chain id, signatures, message validation) — exactly what
// PrepareProposal keeps. Execution failures are results, not grounds to
// reject a block.
func (a *App) ProcessProposal(_ context.Context, req *abci.ProcessProposalRequest) (*abci.ProcessProposalResponse, error) {
	for _, c := range a.prepareTxs(req.Txs) {
		if c.err != nil {
			return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_REJECT}, nil
		}
	}
	return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_ACCEPT}, nil
}

// checkedTx is a tx after decoding and signature verification.
type checkedTx struct {
	tx   *chain.Tx
	msgs []proto.Message
	err  error
}

// txCacheSize is the entries per generation of the checked-tx cache: about
// a second of intake at full load, enough for a tx to be found again from
// CheckTx to its block; more costs GC time for little gain.
const txCacheSize = 32 << 10

// prepareTxs decodes every tx of a block and verifies the signatures not yet
// in the cache, spread over all cores.
func (a *App) prepareTxs(raw [][]byte) []checkedTx {
	out := make([]checkedTx, len(raw))
	workers := runtime.GOMAXPROCS(0)
	if workers > len(raw) {
		workers = len(raw)
	}
	var wg sync.WaitGroup
	next := make(chan int, len(raw))
	for i := range raw {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = *a.checkCached(raw[i])
			}
		}()
	}
	wg.Wait()
	return out
}

// checkCached returns the stateless checks' result for a tx, from the cache
// when this node saw the same bytes pass before. Failures are not cached: a
// peer could fill the cache with garbage.
func (a *App) checkCached(raw []byte) *checkedTx {
	h := chain.TxHash(raw)
	if c, ok := a.checked.Get(h); ok {
		return c
	}
	c := a.checkStateless(raw)
	if c.err == nil {
		a.checked.Add(h, &c)
	}
	return &c
}

// checkStateless does every check that needs no state: decoding, sizes,
// chain id, signatures and each message's validation.
func (a *App) checkStateless(raw []byte) checkedTx {
	tx, err := chain.DecodeTx(raw)
	if err != nil {
		return checkedTx{err: err}
	}
	a.mu.RLock()
	chainID := a.chainID
	a.mu.RUnlock()
	if tx.Body.ChainId != chainID {
		return checkedTx{tx: tx, err: chain.Wrapf(chain.ErrWrongChainID, "tx is for chain %q, this is %q", tx.Body.ChainId, chainID)}
	}
	if err := tx.VerifySignatures(); err != nil {
		return checkedTx{tx: tx, err: err}
	}
	msgs := make([]proto.Message, len(tx.Body.Msgs))
	for i, m := range tx.Body.Msgs {
		r, ok := a.routes[m.Type]
		if !ok {
			return checkedTx{tx: tx, err: chain.Wrapf(chain.ErrUnknownMsg, "message %d has unknown type %q", i, m.Type)}
		}
		if msgs[i], err = r.Decode(m.Value); err != nil {
			return checkedTx{tx: tx, err: fmt.Errorf("message %d: %w", i, err)}
		}
	}
	return checkedTx{tx: tx, msgs: msgs}
}

// CheckTx admits a tx to the mempool: stateless checks, then the nonce
// against the mempool's own view so that a signer can queue several txs.
func (a *App) CheckTx(_ context.Context, req *abci.CheckTxRequest) (resp *abci.CheckTxResponse, _ error) {
	defer func() {
		if r := recover(); r != nil {
			resp = checkTxError(chain.Wrapf(chain.ErrInternal, "check panicked: %v", r))
		}
	}()
	c := a.checkCached(req.Tx)
	if c.err != nil {
		return checkTxError(c.err), nil
	}
	next := a.nextHeight()
	if t := c.tx.Body.TimeoutHeight; t != 0 && uint64(next) > t {
		return checkTxError(chain.Wrapf(chain.ErrTxTimeout, "timeout height %d, next block is %d", t, next)), nil
	}
	signer := c.tx.Signer().Address()
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	want, ok := a.pending[signer]
	if !ok {
		want = a.committedNonceCached(signer)
	}
	if err := checkNonce(c.tx.Body.Nonce, want); err != nil {
		return checkTxError(err), nil
	}
	a.pending[signer] = want + 1
	return &abci.CheckTxResponse{Code: 0, GasWanted: 1}, nil
}

func checkNonce(got, want uint64) error {
	switch {
	case got < want:
		return chain.Wrapf(chain.ErrNonceTooLow, "nonce %d already used, next is %d", got, want)
	case got > want:
		return chain.Wrapf(chain.ErrNonceTooHigh, "nonce %d skips ahead, next is %d", got, want)
	}
	return nil
}

// maxCarried bounds the reads one block hands to the next (cachedSnapshot):
// a block of payments reads 25,000-40,000 keys; past this (a block that
// read unusually many keys) the next block starts with an empty cache.
const maxCarried = 1 << 18

// maxNonceCache bounds the committed nonces CheckTx keeps in memory; past
// it the cache starts over (it only saves disk reads).
const maxNonceCache = 1 << 20

// committedNonceCached is committedNonce through the cache of committed
// nonces that Commit keeps current: after each block CometBFT rechecks every
// tx left in the mempool, and a payment may wait there several blocks.
// Called with checkMu held.
func (a *App) committedNonceCached(addr chain.Address) uint64 {
	if n, ok := a.nonces[addr]; ok {
		return n
	}
	n := a.committedNonce(addr)
	a.nonces[addr] = n
	return n
}

func (a *App) committedNonce(addr chain.Address) uint64 {
	var n uint64
	_ = a.db.View(func(txn *badger.Txn) error {
		n = decodeNonce(snapshot{txn}.Get(nonceKey(addr)))
		return nil
	})
	return n
}

func decodeNonce(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func checkTxError(err error) *abci.CheckTxResponse {
	e := chain.CodeOf(err)
	return &abci.CheckTxResponse{Code: e.Code, Info: e.Reason, Log: err.Error(), Codespace: "amp"}
}

func execTxError(err error) *abci.ExecTxResult {
	e := chain.CodeOf(err)
	return &abci.ExecTxResult{Code: e.Code, Info: e.Reason, Log: err.Error(), Codespace: "amp"}
}

// FinalizeBlock executes a decided block. A bad tx is a non-zero result,
// never an error: an error here halts the node, which is right only for a
// failing disk.
func (a *App) FinalizeBlock(_ context.Context, req *abci.FinalizeBlockRequest) (resp *abci.FinalizeBlockResponse, err error) {
	if want := a.nextHeight(); req.Height != want {
		return nil, fmt.Errorf("finalize height %d, expected %d", req.Height, want)
	}
	if a.block != nil {
		a.block.read.Discard()
	}
	read := a.db.NewTransaction(false)
	snap := newCachedSnapshot(read, a.carried, a.absent)
	var parent module.Store = snap
	if a.genesis != nil {
		a.genesis.parent = parent
		parent = a.genesis
	}
	b := &blockState{height: req.Height, time: req.Time, read: read, snap: snap, state: newOverlaySized(parent, a.lastWrites)}
	a.block = b
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(storageFault); ok {
				err = f
				return
			}
			panic(r)
		}
	}()

	checked := a.prepareTxs(req.Txs)
	if err := a.beginBlock(b); err != nil {
		return nil, err
	}
	results := make([]*abci.ExecTxResult, len(req.Txs))
	for i := range checked {
		results[i] = a.deliver(b, &checked[i])
	}
	events, updates, err := a.endBlock(b)
	if err != nil {
		return nil, err
	}
	_, prev := a.LastCommit()
	b.writes = b.state.writes()
	b.appHash = a.hasher.AppHash(prev, b.height, b.writes)
	return &abci.FinalizeBlockResponse{TxResults: results, AppHash: b.appHash, Events: events, ValidatorUpdates: updates}, nil
}

// deliver applies one tx atomically: the nonce advances whenever the tx is
// valid as a tx (so it cannot be replayed), and the messages' writes are
// kept only if every message succeeds.
func (a *App) deliver(b *blockState, c *checkedTx) (res *abci.ExecTxResult) {
	if c.err != nil {
		return execTxError(c.err)
	}
	tx := c.tx
	if t := tx.Body.TimeoutHeight; t != 0 && uint64(b.height) > t {
		return execTxError(chain.Wrapf(chain.ErrTxTimeout, "timeout height %d, block is %d", t, b.height))
	}
	signer := tx.Signer().Address()
	nk := nonceKey(signer)
	if err := checkNonce(tx.Body.Nonce, decodeNonce(b.state.Get(nk))); err != nil {
		return execTxError(err)
	}
	b.state.Set(nk, binary.BigEndian.AppendUint64(nil, tx.Body.Nonce+1))

	cache := newOverlay(b.state)
	ctx := module.NewContext(tx.Body.ChainId, b.height, b.time, cache, tx.Signers, a.authorizers)
	defer func() {
		// A panic in a handler is a bug, but one every node hits the same
		// way: fail the tx deterministically, keep the chain alive.
		if r := recover(); r != nil {
			if _, ok := r.(storageFault); ok {
				panic(r)
			}
			a.log.Error("handler panicked", "tx", fmt.Sprintf("%X", tx.Hash), "panic", r)
			res = execTxError(chain.Wrapf(chain.ErrInternal, "handler panicked"))
		}
	}()
	for _, g := range a.guards {
		if err := g.GuardTx(ctx); err != nil {
			return execTxError(err)
		}
	}
	for i, m := range c.msgs {
		if err := a.routes[tx.Body.Msgs[i].Type].Handle(ctx, m); err != nil {
			if len(c.msgs) > 1 {
				err = fmt.Errorf("message %d: %w", i, err)
			}
			return execTxError(err)
		}
	}
	cache.flushTo(b.state)
	events := []abci.Event{{Type: "tx", Attributes: []abci.EventAttribute{
		{Key: "signer", Value: signer.String(), Index: true},
		{Key: "nonce", Value: fmt.Sprint(tx.Body.Nonce), Index: false},
	}}}
	return &abci.ExecTxResult{Code: 0, GasUsed: int64(min(ctx.GasUsed(), 1<<62)), Events: append(events, toABCIEvents(ctx.Events())...)}
}

// beginBlock runs each module's work before the block's txs. An error is a
// bug every node hits alike: halting is the only safe answer.
func (a *App) beginBlock(b *blockState) error {
	ctx := module.NewContext(a.chainIDNow(), b.height, b.time, b.state, nil, a.authorizers)
	for _, m := range a.modules {
		if bb, ok := m.(module.HasBeginBlock); ok {
			if err := bb.BeginBlock(ctx); err != nil {
				return fmt.Errorf("begin block of %s: %w", m.Name(), err)
			}
		}
	}
	return nil
}

// endBlock runs each module's end-of-block work and collects validator
// updates. An error here is a bug that every node hits alike, so halting is
// the only safe answer.
func (a *App) endBlock(b *blockState) ([]abci.Event, []abci.ValidatorUpdate, error) {
	ctx := module.NewContext(a.chainIDNow(), b.height, b.time, b.state, nil, a.authorizers)
	for _, m := range a.modules {
		if eb, ok := m.(module.HasEndBlock); ok {
			if err := eb.EndBlock(ctx); err != nil {
				return nil, nil, fmt.Errorf("end block of %s: %w", m.Name(), err)
			}
		}
	}
	var updates []abci.ValidatorUpdate
	for _, m := range a.modules {
		if vm, ok := m.(module.HasValidatorUpdates); ok {
			vus, err := vm.ValidatorUpdates(ctx)
			if err != nil {
				return nil, nil, fmt.Errorf("validator updates of %s: %w", m.Name(), err)
			}
			for _, v := range vus {
				updates = append(updates, abci.ValidatorUpdate{Power: v.Power, PubKeyType: ed25519.KeyType, PubKeyBytes: v.PubKey})
			}
		}
	}
	if a.invOnce {
		if err := a.checkInvariants(ctx); err != nil {
			return nil, nil, fmt.Errorf("invariant broken at height %d: %w", b.height, err)
		}
	}
	return toABCIEvents(ctx.Events()), updates, nil
}

func (a *App) chainIDNow() string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.chainID
}

func toABCIEvents(evs []module.Event) []abci.Event {
	out := make([]abci.Event, len(evs))
	for i, e := range evs {
		attrs := make([]abci.EventAttribute, len(e.Attrs))
		for j, at := range e.Attrs {
			attrs[j] = abci.EventAttribute{Key: at.Key, Value: at.Value, Index: at.Index}
		}
		out[i] = abci.Event{Type: e.Type, Attributes: attrs}
	}
	return out
}

// Commit writes the block's state, height and app hash in one badger
// transaction, then resets the mempool's nonce view: CometBFT rechecks the
// remaining mempool txs in order right after, rebuilding it.
func (a *App) Commit(context.Context, *abci.CommitRequest) (*abci.CommitResponse, error) {
	b := a.block
	if b == nil {
		return nil, errors.New("commit without a finalized block")
	}
	txn := a.db.NewTransaction(true)
	defer txn.Discard()
	var ws []write
	if a.genesis != nil {
		ws = a.genesis.writes()
	}
	ws = append(ws, b.writes...)
	for _, w := range ws {
		var err error
		if w.Value == nil {
			err = txn.Delete(w.Key)
		} else {
			err = txn.Set(w.Key, w.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("commit height %d: %w", b.height, err)
		}
	}
	if err := txn.Set(metaHeight, binary.BigEndian.AppendUint64(nil, uint64(b.height))); err != nil {
		return nil, err
	}
	if err := txn.Set(metaAppHash, b.appHash); err != nil {
		return nil, err
	}
	if err := txn.Set(metaChainID, []byte(a.chainIDNow())); err != nil {
		return nil, err
	}
	if err := txn.Set(metaTime, binary.BigEndian.AppendUint64(nil, uint64(b.time.UnixNano()))); err != nil {
		return nil, err
	}
	if err := txn.Commit(); err != nil {
		return nil, fmt.Errorf("commit height %d: %w", b.height, err)
	}
	b.read.Discard()
	a.block, a.genesis = nil, nil
	a.carried, a.lastWrites = b.snap.carry(ws), len(b.writes)
	a.absent.committed(ws)
	if len(a.carried) > maxCarried {
		a.carried = nil
	}

	a.mu.Lock()
	a.lastHeight, a.lastHash, a.lastTime = b.height, b.appHash, b.time
	a.mu.Unlock()
	a.checkMu.Lock()
	a.pending = map[chain.Address]uint64{}
	if len(a.nonces) > maxNonceCache {
		a.nonces = map[chain.Address]uint64{}
	}
	for _, w := range ws {
		if len(w.Key) == len(noncePrefix)+chain.AddressLen && bytes.HasPrefix(w.Key, noncePrefix) {
			var addr chain.Address
			copy(addr[:], w.Key[len(noncePrefix):])
			a.nonces[addr] = decodeNonce(w.Value)
		}
	}
	a.checkMu.Unlock()
	return &abci.CommitResponse{}, nil
}

// CheckInvariants runs every module's invariants over the committed state.
func (a *App) CheckInvariants() error {
	txn := a.db.NewTransaction(false)
	defer txn.Discard()
	h, _ := a.LastCommit()
	return a.checkInvariants(module.NewContext(a.chainIDNow(), h, time.Time{}, snapshot{txn}, nil, a.authorizers))
}

func (a *App) checkInvariants(ctx *module.Context) error {
	for _, m := range a.modules {
		if hi, ok := m.(module.HasInvariants); ok {
			for _, inv := range hi.Invariants() {
				if err := inv.Check(ctx); err != nil {
					return fmt.Errorf("%s: %w", inv.Name, err)
				}
			}
		}
	}
	return nil
}

// Query answers /<module>/<path…> from the committed state, as JSON, and
// the app's own paths under /app/. Only the latest height is served.
func (a *App) Query(_ context.Context, req *abci.QueryRequest) (resp *abci.QueryResponse, _ error) {
	h, _ := a.LastCommit()
	defer func() {
		if r := recover(); r != nil {
			resp = queryError(chain.Wrapf(chain.ErrInternal, "query panicked: %v", r), h)
		}
	}()
	if req.Height != 0 && req.Height != h {
		return queryError(chain.Wrapf(chain.ErrInvalidRequest, "only the latest height (%d) is served", h), h), nil
	}
	parts := strings.Split(strings.Trim(req.Path, "/"), "/")
	v, err := a.query(parts, h)
	if err != nil {
		return queryError(err, h), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return queryError(chain.Wrapf(chain.ErrInternal, "encode answer: %v", err), h), nil
	}
	return &abci.QueryResponse{Code: 0, Value: b, Height: h, Key: []byte(req.Path)}, nil
}

func (a *App) query(parts []string, h int64) (any, error) {
	switch parts[0] {
	case "app":
		return a.queryApp(parts[1:])
	case "p2p":
		return a.filterPeer(parts[1:], h)
	}
	for _, m := range a.modules {
		if m.Name() != parts[0] {
			continue
		}
		q, ok := m.(module.HasQueries)
		if !ok {
			break
		}
		txn := a.db.NewTransaction(false)
		defer txn.Discard()
		a.mu.RLock()
		now := a.lastTime
		a.mu.RUnlock()
		return q.Query(module.NewContext(a.chainIDNow(), h, now, snapshot{txn}, nil, a.authorizers), parts[1:])
	}
	return nil, chain.Wrapf(chain.ErrNotFound, "no query path /%s", strings.Join(parts, "/"))
}

// NonceView is the answer to /app/nonce/<address>.
type NonceView struct {
	Address chain.Address `json:"address"`
	Nonce   uint64        `json:"nonce"`
}

// ErrorView is one entry of /app/errors.
type ErrorView struct {
	Code   uint32 `json:"code"`
	Reason string `json:"reason"`
	Doc    string `json:"doc"`
}

func (a *App) queryApp(parts []string) (any, error) {
	switch {
	case len(parts) == 2 && parts[0] == "nonce":
		addr, err := chain.ParseAddress(parts[1])
		if err != nil {
			return nil, err
		}
		a.checkMu.Lock()
		n, ok := a.pending[addr]
		a.checkMu.Unlock()
		if !ok {
			n = a.committedNonce(addr)
		}
		return NonceView{Address: addr, Nonce: n}, nil
	case len(parts) == 1 && parts[0] == "errors":
		var out []ErrorView
		for _, e := range chain.Errors() {
			out = append(out, ErrorView{Code: e.Code, Reason: e.Reason, Doc: e.Doc})
		}
		return out, nil
	}
	return nil, chain.Wrapf(chain.ErrNotFound, "no query path /app/%s", strings.Join(parts, "/"))
}

// ErrPeerRejected answers CometBFT's peer filter for a node that is not a
// member's.
var ErrPeerRejected = chain.RegisterError(22, "peer_rejected", "the node ID does not belong to a consortium member")

// filterPeer answers CometBFT's peer filter (filter_peers = true):
// /p2p/filter/id/<node id> is accepted only for members' nodes, as of the
// last committed block (the genesis members before the first). Addresses are
// not filtered: identity is what membership grants.
func (a *App) filterPeer(parts []string, h int64) (any, error) {
	if len(parts) == 3 && parts[0] == "filter" && parts[1] == "addr" {
		return true, nil
	}
	if len(parts) != 3 || parts[0] != "filter" || parts[1] != "id" {
		return nil, chain.Wrapf(chain.ErrNotFound, "no query path /p2p/%s", strings.Join(parts, "/"))
	}
	id := strings.ToLower(parts[2])
	if h == 0 {
		a.mu.RLock()
		ok := a.genesisPeers[id]
		a.mu.RUnlock()
		if ok {
			return true, nil
		}
		return nil, chain.Wrapf(ErrPeerRejected, "node %s is not a genesis member's", id)
	}
	txn := a.db.NewTransaction(false)
	defer txn.Discard()
	if a.members.AllowsPeer(module.NewContext(a.chainIDNow(), h, time.Time{}, snapshot{txn}, nil, a.authorizers), id) {
		return true, nil
	}
	return nil, chain.Wrapf(ErrPeerRejected, "node %s is not a member's", id)
}

func queryError(err error, h int64) *abci.QueryResponse {
	e := chain.CodeOf(err)
	return &abci.QueryResponse{Code: e.Code, Info: e.Reason, Log: err.Error(), Codespace: "amp", Height: h}
}

// sortValidators orders updates by key for comparisons.
func sortValidators(v []abci.ValidatorUpdate) {
	sort.Slice(v, func(i, j int) bool { return string(v[i].PubKeyBytes) < string(v[j].PubKeyBytes) })
}
