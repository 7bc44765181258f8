package payments

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
)

// The guarantee pool: every release pays payments.guarantee_fee_bp of the
// released amount into PoolAccount; the pool pays the refunds that escrow
// and the merchant's bond cannot. What it cannot pay at once waits in a
// FIFO queue per asset, paid at the end of each block as the pool refills
// (the head may be paid in part); nothing is ever dropped.

func poolKey(asset string) []byte { return []byte("pl/" + asset) }
func queuePrefix(asset string) []byte {
	return append(append([]byte("q/"), byte(len(asset))), asset...)
}
func queueKey(asset string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(queuePrefix(asset), seq)
}

// Pool returns the pool's record of an asset (zero if none).
func (k *Keeper) Pool(ctx *module.Context, asset string) (*pb.PoolRecord, error) {
	r := &pb.PoolRecord{}
	if v := st(ctx).Get(poolKey(asset)); v != nil {
		if err := proto.Unmarshal(v, r); err != nil {
			return nil, chain.Wrapf(chain.ErrInternal, "stored pool of %s: %v", asset, err)
		}
	}
	return r, nil
}

// fee is the guarantee fee of a release of left.
func (k *Keeper) fee(ctx *module.Context, left chain.Amount) (chain.Amount, error) {
	var bp uint64
	if err := k.params.Get(ctx, ParamFee, &bp); err != nil {
		return chain.Amount{}, err
	}
	if bp == 0 {
		return chain.Amount{}, nil
	}
	f, err := left.MulDiv(bp, 10_000)
	if err != nil {
		return chain.Amount{}, chain.Wrapf(chain.ErrOverflow, "fee of %s: %v", left, err)
	}
	return f, nil
}

// poolDeposit moves a fee into the pool.
func (k *Keeper) poolDeposit(ctx *module.Context, from chain.Address, c chain.Coin) error {
	if err := k.bank.Send(ctx, from, PoolAccount, c); err != nil {
		return err
	}
	r, err := k.Pool(ctx, c.Asset)
	if err != nil {
		return err
	}
	if r.Balance, err = addAmount(r.Balance, c.Amount); err != nil {
		return err
	}
	if r.Fees, err = addAmount(r.Fees, c.Amount); err != nil {
		return err
	}
	save(ctx, poolKey(c.Asset), r)
	return nil
}

// poolPay pays up to c to the person for claim cl out of the pool — only if
// no one is queued ahead in that asset — and queues the rest. It returns
// what it paid and what it queued.
func (k *Keeper) poolPay(ctx *module.Context, cl *pb.Claim, person chain.Address, c chain.Coin) (paid, owed chain.Amount, err error) {
	if c.Amount.IsZero() {
		return paid, owed, nil
	}
	r, err := k.Pool(ctx, c.Asset)
	if err != nil {
		return paid, owed, err
	}
	if r.Queued == 0 {
		paid = minAmount(optAmount(r.Balance), c.Amount)
	}
	if !paid.IsZero() {
		if err := k.bank.Send(ctx, PoolAccount, person, chain.Coin{Asset: c.Asset, Amount: paid}); err != nil {
			return paid, owed, fmt.Errorf("refund from the pool: %w", err)
		}
		if r.Balance, err = subAmount(r.Balance, paid); err != nil {
			return paid, owed, err
		}
		if r.Paid, err = addAmount(r.Paid, paid); err != nil {
			return paid, owed, err
		}
	}
	owed, _ = c.Amount.Sub(paid)
	if !owed.IsZero() {
		q := &pb.QueuedRefund{Seq: next(ctx, "queue"), Claim: cl.Id, Person: person[:], Asset: c.Asset, Owed: owed.String(), QueuedAt: ctx.Time.Unix()}
		save(ctx, queueKey(c.Asset, q.Seq), q)
		if r.Owed, err = addAmount(r.Owed, owed); err != nil {
			return paid, owed, err
		}
		r.Queued++
		ctx.Emit("claim_queued",
			module.Attr{Key: "claim_id", Value: ClaimID(cl.Id), Index: true},
			module.Attr{Key: "asset", Value: c.Asset},
			module.Attr{Key: "owed", Value: owed.String()})
	}
	save(ctx, poolKey(c.Asset), r)
	return paid, owed, nil
}

// payQueue pays the pool's queues, oldest claim first, as far as the pool
// holds funds. Its cost follows the claims it pays (one read past them) and
// the number of assets.
func (k *Keeper) payQueue(ctx *module.Context) error {
	var assets []string
	var bad error
	st(ctx).Iterate([]byte("pl/"), func(key, v []byte) bool {
		r := &pb.PoolRecord{}
		if bad = proto.Unmarshal(v, r); bad != nil {
			return false
		}
		if r.Queued > 0 && !optAmount(r.Balance).IsZero() {
			assets = append(assets, string(key[3:]))
		}
		return true
	})
	if bad != nil {
		return chain.Wrapf(chain.ErrInternal, "stored pool: %v", bad)
	}
	for _, asset := range assets {
		if err := k.payQueueOf(ctx, asset); err != nil {
			return err
		}
	}
	return nil
}

func (k *Keeper) payQueueOf(ctx *module.Context, asset string) error {
	r, err := k.Pool(ctx, asset)
	if err != nil {
		return err
	}
	budget := optAmount(r.Balance)
	var heads []*pb.QueuedRefund
	var covered chain.Amount
	st(ctx).Iterate(queuePrefix(asset), func(_, v []byte) bool {
		q := &pb.QueuedRefund{}
		if err = proto.Unmarshal(v, q); err != nil {
			return false
		}
		heads = append(heads, q)
		covered, err = covered.Add(optAmount(q.Owed))
		return err == nil && covered.Cmp(budget) < 0
	})
	if err != nil {
		return chain.Wrapf(chain.ErrInternal, "stored queue of %s: %v", asset, err)
	}
	now := ctx.Time.Unix()
	for _, q := range heads {
		if budget.IsZero() {
			break
		}
		x := minAmount(budget, optAmount(q.Owed))
		person := address(q.Person)
		if err := k.bank.Send(ctx, PoolAccount, person, chain.Coin{Asset: asset, Amount: x}); err != nil {
			return fmt.Errorf("queued refund of %s: %w", ClaimID(q.Claim), err)
		}
		budget, _ = budget.Sub(x)
		if r.Balance, err = subAmount(r.Balance, x); err != nil {
			return err
		}
		if r.Paid, err = addAmount(r.Paid, x); err != nil {
			return err
		}
		if r.Owed, err = subAmount(r.Owed, x); err != nil {
			return err
		}
		c, err := k.Claim(ctx, q.Claim)
		if err != nil {
			return err
		}
		if c.FromPool, err = addAmount(c.FromPool, x); err != nil {
			return err
		}
		if c.Owed, err = subAmount(c.Owed, x); err != nil {
			return err
		}
		if q.Owed, err = subAmount(q.Owed, x); err != nil {
			return err
		}
		if optAmount(q.Owed).IsZero() {
			st(ctx).Delete(queueKey(asset, q.Seq))
			r.Queued--
			c.Status, c.PaidAt = ClaimRefunded, now
		} else {
			save(ctx, queueKey(asset, q.Seq), q)
		}
		save(ctx, claimKey(c.Id), c)
		ctx.Emit("claim_paid_from_queue",
			module.Attr{Key: "claim_id", Value: ClaimID(c.Id), Index: true},
			module.Attr{Key: "person", Value: person.String(), Index: true},
			module.Attr{Key: "asset", Value: asset},
			module.Attr{Key: "amount", Value: x.String()},
			module.Attr{Key: "still_owed", Value: c.Owed})
	}
	save(ctx, poolKey(asset), r)
	return nil
}

// payOut pays what is left of a held payment (amount - refunded) out of
// escrow: the guarantee fee to the pool, the rest to the merchant's
// settlement account; it tells the trust rating and the reports. With a
// batch (the end of block's releases) the fee stays in escrow until the
// batch moves the block's fees to the pool, one transfer per asset.
func (k *Keeper) payOut(ctx *module.Context, p *pb.Payment, batch *releaseBatch) error {
	n := p.Id
	st(ctx).Delete(releaseKey(p.ReleaseAt, n))
	settle, _ := chain.AddressFromBytes(p.Settlement)
	refunded := optAmount(p.Refunded)
	left, err := amount(p.Amount).Sub(refunded)
	if err != nil || left.IsZero() {
		return chain.Wrapf(chain.ErrInternal, "release %s: nothing left in escrow", PaymentID(n))
	}
	fee, err := k.fee(ctx, left)
	if err != nil {
		return err
	}
	net, _ := left.Sub(fee)
	if !net.IsZero() {
		if err := k.bank.Send(ctx, EscrowAccount, settle, chain.Coin{Asset: p.Asset, Amount: net}); err != nil {
			return fmt.Errorf("release %s: %w", PaymentID(n), err)
		}
	}
	if !fee.IsZero() {
		if batch != nil {
			if err := batch.addFee(p.Asset, fee); err != nil {
				return err
			}
		} else if err := k.poolDeposit(ctx, EscrowAccount, chain.Coin{Asset: p.Asset, Amount: fee}); err != nil {
			return fmt.Errorf("release %s: %w", PaymentID(n), err)
		}
		p.Fee = fee.String()
	}
	p.Status, p.ReleasedHeight = StatusReleased, ctx.Height
	if !refunded.IsZero() {
		p.Status = StatusPartiallyRefunded
	}
	save(ctx, paymentKey(n), p)
	if p.Asset == "USD" {
		if err := k.trust.RecordSettledPayment(ctx, identity.AgentID(p.Agent), left); err != nil {
			return err
		}
	}
	if batch != nil {
		batch.count(p)
	} else if err := k.countPayment(ctx, p); err != nil {
		return err
	}
	ctx.Emit("payment_released",
		module.Attr{Key: "payment_id", Value: PaymentID(n)},
		module.Attr{Key: "merchant", Value: settle.String(), Index: true},
		module.Attr{Key: "asset", Value: p.Asset},
		module.Attr{Key: "amount", Value: net.String()},
		module.Attr{Key: "fee", Value: fee.String()})
	return nil
}

// PoolView is the guarantee pool, as `amp query payments pool` shows it.
type PoolView struct {
	Account chain.Address   `json:"account"`
	FeeBP   uint64          `json:"fee_bp"`
	Assets  []PoolAssetView `json:"assets"`
}

// PoolAssetView is the pool in one asset: its balance, what it collected
// and paid, and the refunds waiting for it (the first 100, oldest first).
type PoolAssetView struct {
	Asset     string            `json:"asset"`
	Balance   string            `json:"balance"`
	Fees      string            `json:"fees_collected"`
	Paid      string            `json:"paid_out"`
	Owed      string            `json:"owed"`
	Queued    uint64            `json:"queued_claims"`
	Queue     []QueueEntryView  `json:"queue"`
	BaseUnits map[string]string `json:"base_units"`
}

// QueueEntryView is a refund waiting for the pool.
type QueueEntryView struct {
	Position int           `json:"position"`
	ClaimID  string        `json:"claim_id"`
	Person   chain.Address `json:"person"`
	Owed     string        `json:"owed"`
	QueuedAt int64         `json:"queued_at"`
}

func (k *Keeper) poolView(ctx *module.Context) (*PoolView, error) {
	v := &PoolView{Account: PoolAccount, Assets: []PoolAssetView{}}
	if err := k.params.Get(ctx, ParamFee, &v.FeeBP); err != nil {
		return nil, err
	}
	var recs []*pb.PoolRecord
	var assets []string
	var err error
	st(ctx).Iterate([]byte("pl/"), func(key, val []byte) bool {
		r := &pb.PoolRecord{}
		if err = proto.Unmarshal(val, r); err != nil {
			return false
		}
		recs, assets = append(recs, r), append(assets, string(key[3:]))
		return true
	})
	if err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "stored pool: %v", err)
	}
	for i, r := range recs {
		asset := assets[i]
		a := PoolAssetView{Asset: asset, Queued: r.Queued, Queue: []QueueEntryView{}, BaseUnits: map[string]string{}}
		for _, f := range []struct {
			name, val string
			out       *string
		}{{"balance", r.Balance, &a.Balance}, {"fees_collected", r.Fees, &a.Fees}, {"paid_out", r.Paid, &a.Paid}, {"owed", r.Owed, &a.Owed}} {
			base := optAmount(f.val).String()
			*f.out, a.BaseUnits[f.name] = k.decimal(ctx, asset, base), base
		}
		st(ctx).Iterate(queuePrefix(asset), func(_, val []byte) bool {
			q := &pb.QueuedRefund{}
			if err = proto.Unmarshal(val, q); err != nil {
				return false
			}
			a.Queue = append(a.Queue, QueueEntryView{Position: len(a.Queue) + 1, ClaimID: ClaimID(q.Claim), Person: address(q.Person),
				Owed: k.decimal(ctx, asset, q.Owed), QueuedAt: q.QueuedAt})
			return len(a.Queue) < 100
		})
		if err != nil {
			return nil, chain.Wrapf(chain.ErrInternal, "stored queue: %v", err)
		}
		v.Assets = append(v.Assets, a)
	}
	return v, nil
}

// checkPool: the pool account holds exactly the pool's recorded balance,
// per asset; each queue's entries add up to the recorded owed amount and
// count, and each entry owes what its (queued) claim owes.
func (k *Keeper) checkPool(ctx *module.Context) error {
	assets, err := k.bank.Assets(ctx)
	if err != nil {
		return err
	}
	for _, as := range assets {
		r, err := k.Pool(ctx, as.Symbol)
		if err != nil {
			return err
		}
		if bal := k.bank.Balance(ctx, PoolAccount, as.Symbol); bal.Cmp(optAmount(r.Balance)) != 0 {
			return fmt.Errorf("the pool account holds %s %s base units, the pool's record %s", bal, as.Symbol, optAmount(r.Balance))
		}
		var owed chain.Amount
		var n uint64
		st(ctx).Iterate(queuePrefix(as.Symbol), func(_, v []byte) bool {
			q := &pb.QueuedRefund{}
			if err = proto.Unmarshal(v, q); err != nil {
				return false
			}
			n++
			if owed, err = owed.Add(optAmount(q.Owed)); err != nil {
				return false
			}
			c, e := k.Claim(ctx, q.Claim)
			if e != nil || c.Status != ClaimQueued || optAmount(c.Owed).Cmp(optAmount(q.Owed)) != 0 || optAmount(q.Owed).IsZero() {
				err = fmt.Errorf("queue entry %d of %s disagrees with its claim %s", q.Seq, as.Symbol, ClaimID(q.Claim))
				return false
			}
			return true
		})
		if err != nil {
			return err
		}
		if owed.Cmp(optAmount(r.Owed)) != 0 || n != r.Queued {
			return fmt.Errorf("the %s queue holds %d refunds owing %s, the pool's record %d owing %s", as.Symbol, n, owed, r.Queued, optAmount(r.Owed))
		}
	}
	return nil
}

// releaseBatch gathers what the releases of one end of block add to the
// pool (fees per asset) and to the reports (payments per merchant and
// agent), written once each, in sorted order, by flush.
type releaseBatch struct {
	fees      map[string]chain.Amount
	merchants map[chain.Address]uint64
	agents    map[uint64]uint64
}

func newReleaseBatch() *releaseBatch {
	return &releaseBatch{fees: map[string]chain.Amount{}, merchants: map[chain.Address]uint64{}, agents: map[uint64]uint64{}}
}

func (b *releaseBatch) addFee(asset string, fee chain.Amount) error {
	v, err := b.fees[asset].Add(fee)
	if err != nil {
		return chain.Wrapf(chain.ErrOverflow, "fees of %s: %v", asset, err)
	}
	b.fees[asset] = v
	return nil
}

func (b *releaseBatch) count(p *pb.Payment) {
	b.merchants[address(p.Merchant)]++
	b.agents[p.Agent]++
}

func (b *releaseBatch) flush(ctx *module.Context, k *Keeper) error {
	assets := make([]string, 0, len(b.fees))
	for a := range b.fees {
		assets = append(assets, a)
	}
	sort.Strings(assets)
	for _, a := range assets {
		if err := k.poolDeposit(ctx, EscrowAccount, chain.Coin{Asset: a, Amount: b.fees[a]}); err != nil {
			return fmt.Errorf("the block's guarantee fees: %w", err)
		}
	}
	merchants := make([]chain.Address, 0, len(b.merchants))
	for m := range b.merchants {
		merchants = append(merchants, m)
	}
	sort.Slice(merchants, func(i, j int) bool { return bytes.Compare(merchants[i][:], merchants[j][:]) < 0 })
	for _, m := range merchants {
		if err := k.addPayments(ctx, merchantReportKey(m), b.merchants[m]); err != nil {
			return err
		}
	}
	agents := make([]uint64, 0, len(b.agents))
	for a := range b.agents {
		agents = append(agents, a)
	}
	sort.Slice(agents, func(i, j int) bool { return agents[i] < agents[j] })
	for _, a := range agents {
		if err := k.addPayments(ctx, agentReportKey(a), b.agents[a]); err != nil {
			return err
		}
	}
	return nil
}
