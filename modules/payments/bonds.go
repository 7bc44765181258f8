package payments

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/module"
)

// Merchants' bonds: a merchant deposits a bond (per asset) into the bond
// account; it pays claims on the merchant's payments after their release,
// before the guarantee pool does. Unbonding moves part of it into an entry
// that returns to the merchant after payments.unbonding_seconds and pays
// claims meanwhile (after the active bond). An active bond of at least
// payments.min_bond lets the merchant choose a protection window shorter
// than the chain's (see Window).

// MaxUnbondings is how many unbonding entries a merchant may have at once.
const MaxUnbondings = 16

func bondKey(merchant chain.Address, asset string) []byte {
	return append(append([]byte("b/"), merchant[:]...), asset...)
}
func unbondingKey(n uint64) []byte { return be64k("u/", n) }
func merchantUnbondingKey(merchant chain.Address, n uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte("um/"), merchant[:]...), n)
}
func unbondingQueueKey(at int64, n uint64) []byte {
	return binary.BigEndian.AppendUint64(be64k("uq/", uint64(at)), n)
}

// UnbondingID formats an unbonding entry's number.
func UnbondingID(n uint64) string { return fmt.Sprintf("unbonding-%d", n) }

// Bond returns the merchant's bond in an asset (zero if none).
func (k *Keeper) Bond(ctx *module.Context, merchant chain.Address, asset string) (*pb.Bond, error) {
	b := &pb.Bond{}
	if v := st(ctx).Get(bondKey(merchant, asset)); v != nil {
		if err := proto.Unmarshal(v, b); err != nil {
			return nil, chain.Wrapf(chain.ErrInternal, "stored bond of %s: %v", merchant, err)
		}
	}
	return b, nil
}

func saveBond(ctx *module.Context, merchant chain.Address, asset string, b *pb.Bond) {
	if optAmount(b.Active).IsZero() && optAmount(b.Unbonding).IsZero() {
		st(ctx).Delete(bondKey(merchant, asset))
		return
	}
	save(ctx, bondKey(merchant, asset), b)
}

func (k *Keeper) unbonding(ctx *module.Context, n uint64) (*pb.Unbonding, error) {
	v := st(ctx).Get(unbondingKey(n))
	if v == nil {
		return nil, chain.Wrapf(chain.ErrInternal, "no %s", UnbondingID(n))
	}
	u := &pb.Unbonding{}
	if err := proto.Unmarshal(v, u); err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "stored %s: %v", UnbondingID(n), err)
	}
	return u, nil
}

// merchantUnbondings returns the merchant's unbonding entries, oldest first.
func (k *Keeper) merchantUnbondings(ctx *module.Context, merchant chain.Address) ([]*pb.Unbonding, error) {
	var ids []uint64
	st(ctx).Iterate(append([]byte("um/"), merchant[:]...), func(key, _ []byte) bool {
		ids = append(ids, beU64(key[len(key)-8:]))
		return true
	})
	out := make([]*pb.Unbonding, 0, len(ids))
	for _, n := range ids {
		u, err := k.unbonding(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// minBond returns payments.min_bond as a coin; ok is false if its asset is
// not registered (then no merchant counts as bonded).
func (k *Keeper) minBond(ctx *module.Context) (c chain.Coin, ok bool, err error) {
	var s string
	if err := k.params.Get(ctx, ParamMinBond, &s); err != nil {
		return chain.Coin{}, false, err
	}
	c, err = chain.ParseCoin(s, func(sym string) (chain.Asset, bool) {
		a, err := k.bank.Asset(ctx, sym)
		return a, err == nil
	})
	if err != nil {
		return chain.Coin{}, false, nil
	}
	return c, true, nil
}

func (k *Keeper) minBondText(ctx *module.Context) string {
	var s string
	_ = k.params.Get(ctx, ParamMinBond, &s)
	return s
}

// Bonded reports whether the merchant's active bond reaches
// payments.min_bond.
func (k *Keeper) Bonded(ctx *module.Context, merchant chain.Address) (bool, error) {
	mb, ok, err := k.minBond(ctx)
	if err != nil || !ok {
		return false, err
	}
	b, err := k.Bond(ctx, merchant, mb.Asset)
	if err != nil {
		return false, err
	}
	return optAmount(b.Active).Cmp(mb.Amount) >= 0, nil
}

func validateBond(m *pb.MsgBond) error {
	if _, err := chain.AddressFromBytes(m.Merchant); err != nil {
		return fmt.Errorf("merchant: %w", err)
	}
	_, err := bank.CoinFromProto(m.Amount)
	return err
}

func validateUnbond(m *pb.MsgUnbond) error {
	if _, err := chain.AddressFromBytes(m.Merchant); err != nil {
		return fmt.Errorf("merchant: %w", err)
	}
	_, err := bank.CoinFromProto(m.Amount)
	return err
}

// bondMerchant checks that a registered merchant signed.
func (k *Keeper) bondMerchant(ctx *module.Context, b []byte) (chain.Address, error) {
	ma := address(b)
	if _, err := k.identity.MerchantInfoOf(ctx, ma); err != nil {
		return ma, err
	}
	if !ctx.SignedBy(ma) {
		return ma, chain.Wrapf(chain.ErrUnauthorized, "a bond of %s is deposited and withdrawn by the merchant's own key", ma)
	}
	return ma, nil
}

func (k *Keeper) handleBond(ctx *module.Context, m *pb.MsgBond) error {
	ma, err := k.bondMerchant(ctx, m.Merchant)
	if err != nil {
		return err
	}
	c, _ := bank.CoinFromProto(m.Amount)
	if err := k.bank.Send(ctx, ma, BondAccount, c); err != nil {
		return err
	}
	b, err := k.Bond(ctx, ma, c.Asset)
	if err != nil {
		return err
	}
	if b.Active, err = addAmount(b.Active, c.Amount); err != nil {
		return err
	}
	saveBond(ctx, ma, c.Asset, b)
	ctx.Emit("bond_deposited",
		module.Attr{Key: "merchant", Value: ma.String(), Index: true},
		module.Attr{Key: "asset", Value: c.Asset},
		module.Attr{Key: "amount", Value: c.Amount.String()},
		module.Attr{Key: "active", Value: b.Active})
	return nil
}

func (k *Keeper) handleUnbond(ctx *module.Context, m *pb.MsgUnbond) error {
	ma, err := k.bondMerchant(ctx, m.Merchant)
	if err != nil {
		return err
	}
	c, _ := bank.CoinFromProto(m.Amount)
	b, err := k.Bond(ctx, ma, c.Asset)
	if err != nil {
		return err
	}
	active := optAmount(b.Active)
	if active.Cmp(c.Amount) < 0 {
		return chain.Wrapf(ErrInsufficientBond, "%s has an active bond of %s %s base units, unbonds %s", ma, active, c.Asset, c.Amount)
	}
	entries := 0
	st(ctx).Iterate(append([]byte("um/"), ma[:]...), func(_, _ []byte) bool { entries++; return true })
	if entries >= MaxUnbondings {
		return chain.Wrapf(ErrTooManyUnbondings, "%s has %d unbonding entries in progress", ma, entries)
	}
	var delay int64
	if err := k.params.Get(ctx, ParamUnbonding, &delay); err != nil {
		return err
	}
	left, _ := active.Sub(c.Amount)
	b.Active = left.String()
	if b.Unbonding, err = addAmount(b.Unbonding, c.Amount); err != nil {
		return err
	}
	u := &pb.Unbonding{Id: next(ctx, "unbonding"), Merchant: ma[:], Asset: c.Asset, Amount: c.Amount.String(),
		Initial: c.Amount.String(), CompleteAt: ctx.Time.Unix() + delay}
	save(ctx, unbondingKey(u.Id), u)
	st(ctx).Set(merchantUnbondingKey(ma, u.Id), []byte{})
	st(ctx).Set(unbondingQueueKey(u.CompleteAt, u.Id), []byte{})
	saveBond(ctx, ma, c.Asset, b)
	ctx.Emit("created", module.Attr{Key: "id", Value: UnbondingID(u.Id)})
	ctx.Emit("bond_unbonding",
		module.Attr{Key: "merchant", Value: ma.String(), Index: true},
		module.Attr{Key: "asset", Value: c.Asset},
		module.Attr{Key: "amount", Value: u.Amount},
		module.Attr{Key: "complete_at", Value: fmt.Sprint(u.CompleteAt)})
	return nil
}

// completeUnbondings returns to their merchants the unbonding entries whose
// delay ended at or before now (what claims left of them).
func (k *Keeper) completeUnbondings(ctx *module.Context, now int64) error {
	var due []uint64
	st(ctx).Iterate([]byte("uq/"), func(key, _ []byte) bool {
		if int64(binary.BigEndian.Uint64(key[3:11])) > now {
			return false
		}
		due = append(due, binary.BigEndian.Uint64(key[11:19]))
		return true
	})
	for _, n := range due {
		u, err := k.unbonding(ctx, n)
		if err != nil {
			return err
		}
		ma := address(u.Merchant)
		left := optAmount(u.Amount)
		if !left.IsZero() {
			if err := k.bank.Send(ctx, BondAccount, ma, chain.Coin{Asset: u.Asset, Amount: left}); err != nil {
				return fmt.Errorf("complete %s: %w", UnbondingID(n), err)
			}
		}
		b, err := k.Bond(ctx, ma, u.Asset)
		if err != nil {
			return err
		}
		if b.Unbonding, err = subAmount(b.Unbonding, left); err != nil {
			return err
		}
		saveBond(ctx, ma, u.Asset, b)
		s := st(ctx)
		s.Delete(unbondingKey(n))
		s.Delete(merchantUnbondingKey(ma, n))
		s.Delete(unbondingQueueKey(u.CompleteAt, n))
		ctx.Emit("bond_unbonded",
			module.Attr{Key: "merchant", Value: ma.String(), Index: true},
			module.Attr{Key: "asset", Value: u.Asset},
			module.Attr{Key: "amount", Value: left.String()})
	}
	return nil
}

// drawBond pays up to c to the person out of the merchant's bond in c's
// asset — the active bond first, then its unbonding entries, oldest first
// — and returns how much it paid.
func (k *Keeper) drawBond(ctx *module.Context, merchant, person chain.Address, c chain.Coin) (chain.Amount, error) {
	b, err := k.Bond(ctx, merchant, c.Asset)
	if err != nil {
		return chain.Amount{}, err
	}
	want := c.Amount
	take := minAmount(optAmount(b.Active), want)
	drawn := take
	if !take.IsZero() {
		left, _ := optAmount(b.Active).Sub(take)
		b.Active = left.String()
		want, _ = want.Sub(take)
	}
	if !want.IsZero() && !optAmount(b.Unbonding).IsZero() {
		us, err := k.merchantUnbondings(ctx, merchant)
		if err != nil {
			return chain.Amount{}, err
		}
		for _, u := range us {
			if want.IsZero() {
				break
			}
			if u.Asset != c.Asset || optAmount(u.Amount).IsZero() {
				continue
			}
			x := minAmount(optAmount(u.Amount), want)
			rest, _ := optAmount(u.Amount).Sub(x)
			u.Amount = rest.String()
			save(ctx, unbondingKey(u.Id), u)
			if b.Unbonding, err = subAmount(b.Unbonding, x); err != nil {
				return chain.Amount{}, err
			}
			want, _ = want.Sub(x)
			drawn, _ = drawn.Add(x)
		}
	}
	if drawn.IsZero() {
		return drawn, nil
	}
	if err := k.bank.Send(ctx, BondAccount, person, chain.Coin{Asset: c.Asset, Amount: drawn}); err != nil {
		return chain.Amount{}, fmt.Errorf("refund from the bond of %s: %w", merchant, err)
	}
	saveBond(ctx, merchant, c.Asset, b)
	ctx.Emit("bond_drawn",
		module.Attr{Key: "merchant", Value: merchant.String(), Index: true},
		module.Attr{Key: "asset", Value: c.Asset},
		module.Attr{Key: "amount", Value: drawn.String()})
	return drawn, nil
}

// BondView is a merchant's bonds, as `amp query payments bond` shows them.
type BondView struct {
	Merchant chain.Address `json:"merchant"`
	// Bonded: the active bond reaches MinBond, so the merchant may choose a
	// protection window down to payments.bonded_min_window_seconds.
	Bonded        bool            `json:"bonded"`
	MinBond       string          `json:"min_bond"`
	WindowSeconds int64           `json:"window_seconds"`
	Bonds         []BondAssetView `json:"bonds"`
	Unbondings    []UnbondingView `json:"unbondings"`
}

// BondAssetView is the bond in one asset.
type BondAssetView struct {
	Asset     string            `json:"asset"`
	Active    string            `json:"active"`
	Unbonding string            `json:"unbonding"`
	BaseUnits map[string]string `json:"base_units"`
}

// UnbondingView is one unbonding entry.
type UnbondingView struct {
	ID         string `json:"id"`
	Asset      string `json:"asset"`
	Amount     string `json:"amount"`
	Initial    string `json:"initial"`
	CompleteAt int64  `json:"complete_at"`
}

func (k *Keeper) bondView(ctx *module.Context, merchant chain.Address) (*BondView, error) {
	bonded, err := k.Bonded(ctx, merchant)
	if err != nil {
		return nil, err
	}
	w, err := k.Window(ctx, merchant)
	if err != nil {
		return nil, err
	}
	v := &BondView{Merchant: merchant, Bonded: bonded, MinBond: k.minBondText(ctx), WindowSeconds: w, Bonds: []BondAssetView{}, Unbondings: []UnbondingView{}}
	prefix := append([]byte("b/"), merchant[:]...)
	st(ctx).Iterate(prefix, func(key, val []byte) bool {
		b := &pb.Bond{}
		if err = proto.Unmarshal(val, b); err != nil {
			return false
		}
		asset := string(key[len(prefix):])
		v.Bonds = append(v.Bonds, BondAssetView{Asset: asset, Active: k.decimal(ctx, asset, optAmount(b.Active).String()),
			Unbonding: k.decimal(ctx, asset, optAmount(b.Unbonding).String()),
			BaseUnits: map[string]string{"active": optAmount(b.Active).String(), "unbonding": optAmount(b.Unbonding).String()}})
		return true
	})
	if err != nil {
		return nil, err
	}
	us, err := k.merchantUnbondings(ctx, merchant)
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		v.Unbondings = append(v.Unbondings, UnbondingView{ID: UnbondingID(u.Id), Asset: u.Asset, Amount: k.decimal(ctx, u.Asset, u.Amount),
			Initial: k.decimal(ctx, u.Asset, u.Initial), CompleteAt: u.CompleteAt})
	}
	return v, nil
}

// checkBonds: the bond account holds exactly the active and unbonding
// bonds, per asset; each bond's unbonding total is the sum of its entries,
// and every entry is indexed by merchant and completion time.
func (k *Keeper) checkBonds(ctx *module.Context) error {
	total := map[string]chain.Amount{}
	unbonding := map[string]chain.Amount{} // merchant+asset
	var err error
	entries := 0
	st(ctx).Iterate([]byte("u/"), func(_, v []byte) bool {
		u := &pb.Unbonding{}
		if err = proto.Unmarshal(v, u); err != nil {
			return false
		}
		entries++
		ma := address(u.Merchant)
		if st(ctx).Get(merchantUnbondingKey(ma, u.Id)) == nil || st(ctx).Get(unbondingQueueKey(u.CompleteAt, u.Id)) == nil {
			err = fmt.Errorf("%s is not indexed", UnbondingID(u.Id))
			return false
		}
		key := string(ma[:]) + u.Asset
		unbonding[key], err = unbonding[key].Add(optAmount(u.Amount))
		return err == nil
	})
	if err != nil {
		return err
	}
	for _, prefix := range []string{"um/", "uq/"} {
		n := 0
		st(ctx).Iterate([]byte(prefix), func(_, _ []byte) bool { n++; return true })
		if n != entries {
			return fmt.Errorf("%d unbonding entries but %d %s index entries", entries, n, prefix)
		}
	}
	st(ctx).Iterate([]byte("b/"), func(key, v []byte) bool {
		b := &pb.Bond{}
		if err = proto.Unmarshal(v, b); err != nil {
			return false
		}
		ma, asset := string(key[2:2+chain.AddressLen]), string(key[2+chain.AddressLen:])
		if optAmount(b.Unbonding).Cmp(unbonding[ma+asset]) != 0 {
			err = fmt.Errorf("the bond of %s in %s is unbonding %s, its entries hold %s", address([]byte(ma)), asset, optAmount(b.Unbonding), unbonding[ma+asset])
			return false
		}
		delete(unbonding, ma+asset)
		var sum chain.Amount
		if sum, err = optAmount(b.Active).Add(optAmount(b.Unbonding)); err == nil {
			total[asset], err = total[asset].Add(sum)
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	for key, a := range unbonding {
		if !a.IsZero() {
			return fmt.Errorf("unbonding entries of %x hold %s without a bond record", key, a)
		}
	}
	assets, err := k.bank.Assets(ctx)
	if err != nil {
		return err
	}
	for _, as := range assets {
		if bal := k.bank.Balance(ctx, BondAccount, as.Symbol); bal.Cmp(total[as.Symbol]) != 0 {
			return fmt.Errorf("the bond account holds %s %s base units, the bonds add up to %s", bal, as.Symbol, total[as.Symbol])
		}
	}
	return nil
}
