package bank

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/module"
)

// Name is the module's store prefix and query path.
const Name = "bank"

// Errors of this module (ErrUnknownAsset, 101, lives in chain).
var (
	ErrInsufficientFunds = chain.RegisterError(102, "insufficient_funds", "the account's balance is below the amount")
	ErrSelfTransfer      = chain.RegisterError(103, "self_transfer", "sender and recipient are the same account")
	ErrInvalidAsset      = chain.RegisterError(104, "invalid_asset", "an asset definition is malformed or duplicated")
	ErrProtectedAccount  = chain.RegisterError(105, "protected_account", "the account belongs to a module (escrow, bonds, guarantee pool); only that module moves money into it")
)

// Store layout under "bank/":
//
//	a/<symbol>                 asset definition (JSON)
//	b/<address 20><symbol>     balance (32-byte big-endian amount)
//	s/<symbol>                 supply: issued minus burned (32 bytes)
func assetKey(sym string) []byte  { return []byte("a/" + sym) }
func supplyKey(sym string) []byte { return []byte("s/" + sym) }
func balanceKey(a chain.Address, sym string) []byte {
	k := make([]byte, 0, 2+chain.AddressLen+len(sym))
	k = append(k, "b/"...)
	k = append(k, a[:]...)
	return append(k, sym...)
}

// ModuleAddress is the account that holds a module's funds (escrow, bonds,
// pools): an address no key can sign for, derived from a name.
func ModuleAddress(name string) chain.Address {
	h := sha256.Sum256([]byte("amp/module-account/" + name))
	var a chain.Address
	copy(a[:], h[:])
	return a
}

// Keeper is the bank's state and the API other modules move money with.
type Keeper struct {
	members *consortium.Module
	// protected are module accounts whose books (escrowed payments, bonds,
	// the pool) must equal their balance: plain transfers and mints into
	// them are refused. Set at wiring, read-only afterwards.
	protected map[chain.Address]bool

	// assets remembers decoded asset records by symbol, with the stored
	// bytes they came from: every transfer checks its asset, and decoding
	// the JSON each time cost more than the rest of the check. An entry is
	// used only while the stored bytes are the same, so it is never stale.
	assetsMu sync.Mutex
	assets   map[string]assetEntry
}

type assetEntry struct {
	raw string
	a   chain.Asset
}

// New returns the bank module; mint and burn check roles with members.
func New(members *consortium.Module) *Keeper {
	return &Keeper{members: members, protected: map[chain.Address]bool{}}
}

// ProtectAccount marks a module account that only its module moves money
// into (through Send): MsgSend and MsgMint to it are refused.
func (k *Keeper) ProtectAccount(a chain.Address) { k.protected[a] = true }

func (k *Keeper) checkRecipient(to chain.Address) error {
	if k.protected[to] {
		return chain.Wrapf(ErrProtectedAccount, "%s is a module account", to)
	}
	return nil
}

func (*Keeper) Name() string { return Name }

func store(ctx *module.Context) module.Store { return ctx.Store(Name + "/") }

// Asset returns a registered asset.
func (k *Keeper) Asset(ctx *module.Context, sym string) (chain.Asset, error) {
	b := store(ctx).Get(assetKey(sym))
	if b == nil {
		return chain.Asset{}, chain.Wrapf(chain.ErrUnknownAsset, "asset %q is not registered", sym)
	}
	k.assetsMu.Lock()
	e, ok := k.assets[sym]
	k.assetsMu.Unlock()
	if ok && e.raw == string(b) {
		return e.a, nil
	}
	var a chain.Asset
	if err := json.Unmarshal(b, &a); err != nil {
		return chain.Asset{}, chain.Wrapf(chain.ErrInternal, "stored asset %s: %v", sym, err)
	}
	k.assetsMu.Lock()
	if k.assets == nil || len(k.assets) >= maxCachedAssets {
		k.assets = map[string]assetEntry{}
	}
	k.assets[sym] = assetEntry{raw: string(b), a: a}
	k.assetsMu.Unlock()
	return a, nil
}

// maxCachedAssets bounds Keeper.assets (a chain has a handful of assets).
const maxCachedAssets = 256

// Assets returns every registered asset in symbol order.
func (*Keeper) Assets(ctx *module.Context) ([]chain.Asset, error) {
	out := []chain.Asset{}
	var err error
	store(ctx).Iterate([]byte("a/"), func(_, v []byte) bool {
		var a chain.Asset
		if err = json.Unmarshal(v, &a); err != nil {
			return false
		}
		out = append(out, a)
		return true
	})
	return out, err
}

func getAmount(s module.Store, key []byte) chain.Amount {
	b := s.Get(key)
	if b == nil {
		return chain.Amount{}
	}
	a, err := chain.AmountFromBytes32(b)
	if err != nil {
		panic(fmt.Sprintf("bank: corrupt amount at %x: %v", key, err))
	}
	return a
}

func setAmount(s module.Store, key []byte, a chain.Amount) {
	if a.IsZero() {
		s.Delete(key)
		return
	}
	b := a.Bytes32()
	s.Set(key, b[:])
}

// Balance returns an account's balance of one asset.
func (*Keeper) Balance(ctx *module.Context, a chain.Address, sym string) chain.Amount {
	return getAmount(store(ctx), balanceKey(a, sym))
}

// Supply returns the amount of an asset in existence.
func (*Keeper) Supply(ctx *module.Context, sym string) chain.Amount {
	return getAmount(store(ctx), supplyKey(sym))
}

// Send moves amount of asset from one account to another. It is the single
// path every module uses to move money, so the invariant is kept in one place.
func (k *Keeper) Send(ctx *module.Context, from, to chain.Address, c chain.Coin) error {
	if c.Amount.IsZero() {
		return chain.Wrapf(chain.ErrInvalidAmount, "amount must be positive")
	}
	if _, err := k.Asset(ctx, c.Asset); err != nil {
		return err
	}
	if from == to {
		return chain.Wrapf(ErrSelfTransfer, "%s sends to itself", from)
	}
	s := store(ctx)
	fk, tk := balanceKey(from, c.Asset), balanceKey(to, c.Asset)
	fb := getAmount(s, fk)
	nf, err := fb.Sub(c.Amount)
	if err != nil {
		return chain.Wrapf(ErrInsufficientFunds, "%s has %s %s base units, needs %s", from, fb, c.Asset, c.Amount)
	}
	nt, err := getAmount(s, tk).Add(c.Amount)
	if err != nil {
		return err // cannot happen while balances <= supply, but never wrap
	}
	setAmount(s, fk, nf)
	setAmount(s, tk, nt)
	// A module account (escrow, bonds, pool) is on one side of every
	// payment: indexing it would make one huge, hot index entry that no
	// one searches by.
	ctx.Emit("transfer",
		module.Attr{Key: "from", Value: from.String(), Index: !k.protected[from]},
		module.Attr{Key: "to", Value: to.String(), Index: !k.protected[to]},
		module.Attr{Key: "asset", Value: c.Asset},
		module.Attr{Key: "amount", Value: c.Amount.String()})
	return nil
}

// Mint adds new coins to an account and to the supply.
func (k *Keeper) Mint(ctx *module.Context, to chain.Address, c chain.Coin) error {
	if _, err := k.Asset(ctx, c.Asset); err != nil {
		return err
	}
	s := store(ctx)
	sup, err := getAmount(s, supplyKey(c.Asset)).Add(c.Amount)
	if err != nil {
		return chain.Wrapf(chain.ErrOverflow, "supply of %s would overflow", c.Asset)
	}
	bal, err := getAmount(s, balanceKey(to, c.Asset)).Add(c.Amount)
	if err != nil {
		return err
	}
	setAmount(s, supplyKey(c.Asset), sup)
	setAmount(s, balanceKey(to, c.Asset), bal)
	ctx.Emit("mint",
		module.Attr{Key: "to", Value: to.String(), Index: true},
		module.Attr{Key: "asset", Value: c.Asset},
		module.Attr{Key: "amount", Value: c.Amount.String()})
	return nil
}

// Burn destroys coins held by an account.
func (k *Keeper) Burn(ctx *module.Context, from chain.Address, c chain.Coin) error {
	if _, err := k.Asset(ctx, c.Asset); err != nil {
		return err
	}
	s := store(ctx)
	fb := getAmount(s, balanceKey(from, c.Asset))
	bal, err := fb.Sub(c.Amount)
	if err != nil {
		return chain.Wrapf(ErrInsufficientFunds, "%s has %s %s base units, burns %s", from, fb, c.Asset, c.Amount)
	}
	sup, err := getAmount(s, supplyKey(c.Asset)).Sub(c.Amount)
	if err != nil {
		return chain.Wrapf(chain.ErrInternal, "supply of %s below a balance", c.Asset)
	}
	setAmount(s, balanceKey(from, c.Asset), bal)
	setAmount(s, supplyKey(c.Asset), sup)
	ctx.Emit("burn",
		module.Attr{Key: "from", Value: from.String(), Index: true},
		module.Attr{Key: "asset", Value: c.Asset},
		module.Attr{Key: "amount", Value: c.Amount.String()})
	return nil
}

// CoinFromProto validates a wire coin without state: symbol syntax and a
// positive canonical amount.
func CoinFromProto(c *pb.Coin) (chain.Coin, error) {
	if c == nil {
		return chain.Coin{}, chain.Wrapf(chain.ErrInvalidAmount, "missing amount")
	}
	if err := chain.ValidateSymbol(c.Asset); err != nil {
		return chain.Coin{}, err
	}
	a, err := chain.ParseBaseUnits(c.Amount)
	if err != nil {
		return chain.Coin{}, err
	}
	if a.IsZero() {
		return chain.Coin{}, chain.Wrapf(chain.ErrInvalidAmount, "amount must be positive")
	}
	return chain.Coin{Asset: c.Asset, Amount: a}, nil
}

// CoinProto is the inverse of CoinFromProto.
func CoinProto(c chain.Coin) *pb.Coin {
	return &pb.Coin{Asset: c.Asset, Amount: c.Amount.String()}
}

// Routes are the bank's messages.
func (k *Keeper) Routes() []module.Route {
	return []module.Route{
		module.NewRoute(validateSend, k.handleSend),
		module.NewRoute(validateMint, k.handleMint),
		module.NewRoute(validateBurn, k.handleBurn),
	}
}

func addrs(bs ...[]byte) ([]chain.Address, error) {
	out := make([]chain.Address, len(bs))
	for i, b := range bs {
		a, err := chain.AddressFromBytes(b)
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

func validateSend(m *pb.MsgSend) error {
	as, err := addrs(m.From, m.To)
	if err != nil {
		return err
	}
	if as[0] == as[1] {
		return chain.Wrapf(ErrSelfTransfer, "%s sends to itself", as[0])
	}
	_, err = CoinFromProto(m.Amount)
	return err
}

func (k *Keeper) handleSend(ctx *module.Context, m *pb.MsgSend) error {
	from, _ := chain.AddressFromBytes(m.From) // validated in CheckTx and again before handling
	to, _ := chain.AddressFromBytes(m.To)
	c, _ := CoinFromProto(m.Amount)
	if err := ctx.Authorize(from, "send"); err != nil {
		return err
	}
	if err := k.checkRecipient(to); err != nil {
		return err
	}
	return k.Send(ctx, from, to, c)
}

func validateMint(m *pb.MsgMint) error {
	if _, err := addrs(m.Issuer, m.To); err != nil {
		return err
	}
	_, err := CoinFromProto(m.Amount)
	return err
}

func (k *Keeper) handleMint(ctx *module.Context, m *pb.MsgMint) error {
	issuer, _ := chain.AddressFromBytes(m.Issuer)
	to, _ := chain.AddressFromBytes(m.To)
	c, _ := CoinFromProto(m.Amount)
	if !ctx.SignedBy(issuer) {
		return chain.Wrapf(chain.ErrUnauthorized, "mint must be signed by the issuer %s", issuer)
	}
	if err := k.members.RequireRole(ctx, issuer, consortium.RoleAssetIssuer); err != nil {
		return err
	}
	if err := k.checkRecipient(to); err != nil {
		return err
	}
	return k.Mint(ctx, to, c)
}

func validateBurn(m *pb.MsgBurn) error {
	if _, err := addrs(m.From); err != nil {
		return err
	}
	_, err := CoinFromProto(m.Amount)
	return err
}

func (k *Keeper) handleBurn(ctx *module.Context, m *pb.MsgBurn) error {
	from, _ := chain.AddressFromBytes(m.From)
	c, _ := CoinFromProto(m.Amount)
	if !ctx.SignedBy(from) {
		return chain.Wrapf(chain.ErrUnauthorized, "burn must be signed by %s", from)
	}
	if err := k.members.RequireRole(ctx, from, consortium.RoleAssetIssuer); err != nil {
		return err
	}
	return k.Burn(ctx, from, c)
}

// Genesis is the module's part of app_state. Balances are human amounts
// with their asset ("1000USD", "0.5USD").
type Genesis struct {
	Assets   []chain.Asset    `json:"assets"`
	Balances []GenesisBalance `json:"balances"`
}

// GenesisBalance funds one account at genesis.
type GenesisBalance struct {
	Address chain.Address `json:"address"`
	Coins   []string      `json:"coins"`
}

// InitGenesis registers assets and funds accounts; the supply is the sum.
func (k *Keeper) InitGenesis(ctx *module.Context, raw json.RawMessage) error {
	var g Genesis
	if err := json.Unmarshal(raw, &g); err != nil {
		return fmt.Errorf("bank genesis: %w", err)
	}
	s := store(ctx)
	for _, a := range g.Assets {
		if err := chain.ValidateSymbol(a.Symbol); err != nil {
			return err
		}
		if a.Decimals > chain.MaxDecimals {
			return chain.Wrapf(ErrInvalidAsset, "asset %s has %d decimals, at most %d", a.Symbol, a.Decimals, chain.MaxDecimals)
		}
		if s.Get(assetKey(a.Symbol)) != nil {
			return chain.Wrapf(ErrInvalidAsset, "asset %s registered twice", a.Symbol)
		}
		b, _ := json.Marshal(a)
		s.Set(assetKey(a.Symbol), b)
	}
	lookup := func(sym string) (chain.Asset, bool) {
		a, err := k.Asset(ctx, sym)
		return a, err == nil
	}
	for _, b := range g.Balances {
		for _, cs := range b.Coins {
			c, err := chain.ParseCoin(cs, lookup)
			if err != nil {
				return fmt.Errorf("genesis balance of %s: %w", b.Address, err)
			}
			if err := k.Mint(ctx, b.Address, c); err != nil {
				return fmt.Errorf("genesis balance of %s: %w", b.Address, err)
			}
		}
	}
	return nil
}

// BalanceView is how a balance is shown: exact decimal in whole units and
// the raw base units.
type BalanceView struct {
	Asset     string `json:"asset"`
	Amount    string `json:"amount"`
	BaseUnits string `json:"base_units"`
}

// AccountBalances is the answer to /bank/balance/<address>.
type AccountBalances struct {
	Address  chain.Address `json:"address"`
	Balances []BalanceView `json:"balances"`
}

func (k *Keeper) view(ctx *module.Context, sym string, a chain.Amount) BalanceView {
	v := BalanceView{Asset: sym, BaseUnits: a.String(), Amount: a.String()}
	if as, err := k.Asset(ctx, sym); err == nil {
		v.Amount = chain.FormatDecimal(a, as.Decimals)
	}
	return v
}

// Query answers:
//
//	/bank/balance/<address>           every asset the account holds (registered assets with 0 included)
//	/bank/balance/<address>/<asset>   one asset
//	/bank/supply/<asset>
//	/bank/assets
func (k *Keeper) Query(ctx *module.Context, path []string) (any, error) {
	switch {
	case len(path) >= 2 && len(path) <= 3 && path[0] == "balance":
		a, err := chain.ParseAddress(path[1])
		if err != nil {
			return nil, err
		}
		out := AccountBalances{Address: a, Balances: []BalanceView{}}
		assets, err := k.Assets(ctx)
		if err != nil {
			return nil, err
		}
		if len(path) == 3 {
			as, err := k.Asset(ctx, strings.ToUpper(path[2]))
			if err != nil {
				return nil, err
			}
			assets = []chain.Asset{as}
		}
		for _, as := range assets {
			out.Balances = append(out.Balances, k.view(ctx, as.Symbol, k.Balance(ctx, a, as.Symbol)))
		}
		return out, nil
	case len(path) == 2 && path[0] == "supply":
		as, err := k.Asset(ctx, strings.ToUpper(path[1]))
		if err != nil {
			return nil, err
		}
		return k.view(ctx, as.Symbol, k.Supply(ctx, as.Symbol)), nil
	case len(path) == 1 && path[0] == "assets":
		return k.Assets(ctx)
	}
	return nil, chain.Wrapf(chain.ErrNotFound, "no bank query %q", strings.Join(path, "/"))
}

// Invariants: the supply of every asset equals the sum of all balances.
func (k *Keeper) Invariants() []module.Invariant {
	return []module.Invariant{{Name: "bank/supply", Check: k.checkSupply}}
}

func (k *Keeper) checkSupply(ctx *module.Context) error {
	sums := map[string]chain.Amount{}
	var err error
	store(ctx).Iterate([]byte("b/"), func(key, v []byte) bool {
		sym := string(key[2+chain.AddressLen:])
		a, e := chain.AmountFromBytes32(v)
		if e != nil {
			err = e
			return false
		}
		if sums[sym], e = sums[sym].Add(a); e != nil {
			err = e
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	assets, err := k.Assets(ctx)
	if err != nil {
		return err
	}
	for _, as := range assets {
		if sup := k.Supply(ctx, as.Symbol); sup.Cmp(sums[as.Symbol]) != 0 {
			return fmt.Errorf("asset %s: supply %s but balances add up to %s", as.Symbol, sup, sums[as.Symbol])
		}
		delete(sums, as.Symbol)
	}
	for sym := range sums {
		return fmt.Errorf("balances held in unregistered asset %s", sym)
	}
	return nil
}
