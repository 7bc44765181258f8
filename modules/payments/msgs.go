package payments

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
)

// Routes are the module's messages.
func (k *Keeper) Routes() []module.Route {
	return []module.Route{
		module.NewRoute(validateAuthorize, k.handleAuthorize),
		module.NewRoute(validateCapture, k.handleCapture),
		module.NewRoute(validatePay, k.handlePay),
		module.NewRoute(validateWindow, k.handleWindow),
		module.NewRoute(validateFileClaim, k.handleFileClaim),
		module.NewRoute(validateRespondClaim, k.handleRespondClaim),
		module.NewRoute(validateArbitrateClaim, k.handleArbitrateClaim),
		module.NewRoute(validateBond, k.handleBond),
		module.NewRoute(validateUnbond, k.handleUnbond),
	}
}

func validateOrder(mandateID string, merchant []byte, amount *pb.Coin, order []byte) error {
	if _, err := delegation.ParseMandateID(mandateID); err != nil {
		return err
	}
	if _, err := chain.AddressFromBytes(merchant); err != nil {
		return fmt.Errorf("merchant: %w", err)
	}
	if _, err := bank.CoinFromProto(amount); err != nil {
		return err
	}
	if len(order) != 32 {
		return chain.Wrapf(delegation.ErrOrderInconsistent, "order_hash must be 32 bytes (SHA-256 of the order)")
	}
	return nil
}

func validateAuthorize(m *pb.MsgAuthorize) error {
	return validateOrder(m.MandateId, m.Merchant, m.Amount, m.OrderHash)
}

func validatePay(m *pb.MsgPay) error {
	return validateOrder(m.MandateId, m.Merchant, m.Amount, m.OrderHash)
}

func validateCapture(m *pb.MsgCapture) error {
	if _, err := parseID(m.TokenId, "token-", ErrTokenInvalid); err != nil {
		return err
	}
	if _, err := bank.CoinFromProto(m.Amount); err != nil {
		return err
	}
	if len(m.OrderHash) != 32 {
		return chain.Wrapf(delegation.ErrOrderInconsistent, "order_hash must be 32 bytes (SHA-256 of the order)")
	}
	return nil
}

func validateWindow(m *pb.MsgSetProtectionWindow) error {
	_, err := chain.AddressFromBytes(m.Merchant)
	return err
}

// order is a payment request after the checks that need no mandate: the
// mandate's agent signed, the merchant is registered, the order is new.
type order struct {
	mandate *pb.Mandate
	req     delegation.Payment
}

func (k *Keeper) order(ctx *module.Context, mandateID string, merchant []byte, c *pb.Coin, orderHash []byte) (*order, error) {
	n, _ := delegation.ParseMandateID(mandateID)
	md, err := k.delegation.Mandate(ctx, n)
	if err != nil {
		return nil, err
	}
	agent, err := k.identity.AgentStatusOf(ctx, md.Agent)
	if err != nil {
		return nil, err
	}
	if !ctx.SignedBy(agent.KeyAddress) {
		return nil, chain.Wrapf(delegation.ErrMandateNotOwned, "payments under %s are signed by the key of its agent %s", mandateID, agent.ID())
	}
	ma, _ := chain.AddressFromBytes(merchant)
	mer, err := k.identity.MerchantInfoOf(ctx, ma)
	if err != nil {
		return nil, err
	}
	if st(ctx).Get(orderKey(ma, orderHash)) != nil {
		return nil, chain.Wrapf(ErrDuplicateOrder, "%s already has a token or payment for order %x", ma, orderHash)
	}
	coin, _ := bank.CoinFromProto(c)
	return &order{mandate: md, req: delegation.Payment{Agent: agent, Merchant: mer, Coin: coin, OrderHash: orderHash}}, nil
}

func (k *Keeper) handleAuthorize(ctx *module.Context, m *pb.MsgAuthorize) error {
	o, err := k.order(ctx, m.MandateId, m.Merchant, m.Amount, m.OrderHash)
	if err != nil {
		return err
	}
	r, err := k.delegation.Reserve(ctx, o.mandate, o.req)
	if err != nil {
		return err
	}
	var validity int64
	if err := k.params.Get(ctx, ParamTokenValidity, &validity); err != nil {
		return err
	}
	ma := o.req.Merchant.Address
	t := &pb.Token{Id: next(ctx, "token"), Mandate: o.mandate.Id, Merchant: ma[:], Asset: o.req.Coin.Asset,
		Amount: o.req.Coin.Amount.String(), OrderHash: m.OrderHash, ExpiresHeight: ctx.Height + validity,
		PeriodIndex: r.PeriodIndex, Day: r.Day, CreatedHeight: ctx.Height}
	if !r.Approver.IsZero() {
		t.Approver = r.Approver[:]
	}
	save(ctx, tokenKey(t.Id), t)
	st(ctx).Set(tokenExpiryKey(t.ExpiresHeight, t.Id), []byte{})
	st(ctx).Set(orderKey(ma, m.OrderHash), append([]byte{'t'}, binary.BigEndian.AppendUint64(nil, t.Id)...))
	ctx.Emit("created", module.Attr{Key: "id", Value: TokenID(t.Id)})
	ctx.Emit("payment_authorized",
		module.Attr{Key: "token_id", Value: TokenID(t.Id), Index: true},
		module.Attr{Key: "mandate_id", Value: m.MandateId, Index: true},
		module.Attr{Key: "agent_id", Value: o.req.Agent.ID(), Index: true},
		module.Attr{Key: "merchant", Value: ma.String(), Index: true},
		module.Attr{Key: "asset", Value: t.Asset},
		module.Attr{Key: "amount", Value: t.Amount},
		module.Attr{Key: "expires_height", Value: fmt.Sprint(t.ExpiresHeight)})
	return nil
}

func (k *Keeper) handleCapture(ctx *module.Context, m *pb.MsgCapture) error {
	n, _ := parseID(m.TokenId, "token-", ErrTokenInvalid)
	t, err := k.Token(ctx, n)
	if err != nil {
		return err
	}
	ma, _ := chain.AddressFromBytes(t.Merchant)
	mer, err := k.identity.MerchantInfoOf(ctx, ma)
	if err != nil {
		return err
	}
	if !ctx.SignedBy(ma) && !ctx.SignedBy(mer.Acquirer) {
		return chain.Wrapf(chain.ErrUnauthorized, "%s is captured by its merchant %s or the merchant's acquirer", TokenID(n), ma)
	}
	if ctx.Height > t.ExpiresHeight {
		return chain.Wrapf(ErrTokenExpired, "%s expired at height %d", TokenID(n), t.ExpiresHeight)
	}
	// S3: the capture matches the order bound to the token.
	c, _ := bank.CoinFromProto(m.Amount)
	authorised := amount(t.Amount)
	switch {
	case string(m.OrderHash) != string(t.OrderHash):
		return chain.Wrapf(delegation.ErrOrderInconsistent, "%s is bound to another order", TokenID(n))
	case c.Asset != t.Asset:
		return chain.Wrapf(delegation.ErrOrderInconsistent, "%s is in %s, the capture in %s", TokenID(n), t.Asset, c.Asset)
	case c.Amount.Cmp(authorised) > 0:
		return chain.Wrapf(delegation.ErrOrderInconsistent, "captures %s base units, %s authorises %s", c.Amount, TokenID(n), t.Amount)
	}
	md, err := k.delegation.Mandate(ctx, t.Mandate)
	if err != nil {
		return err
	}
	r := &delegation.Reservation{Mandate: md, PeriodIndex: t.PeriodIndex, Day: t.Day}
	if len(t.Approver) == chain.AddressLen {
		copy(r.Approver[:], t.Approver)
	}
	if _, err := k.settle(ctx, r, mer, c, authorised, t.OrderHash, t.Id); err != nil {
		return err
	}
	st(ctx).Delete(tokenKey(t.Id))
	st(ctx).Delete(tokenExpiryKey(t.ExpiresHeight, t.Id))
	return nil
}

func (k *Keeper) handlePay(ctx *module.Context, m *pb.MsgPay) error {
	o, err := k.order(ctx, m.MandateId, m.Merchant, m.Amount, m.OrderHash)
	if err != nil {
		return err
	}
	r, err := k.delegation.ReserveToConsume(ctx, o.mandate, o.req)
	if err != nil {
		return err
	}
	_, err = k.settle(ctx, r, o.req.Merchant, o.req.Coin, o.req.Coin.Amount, m.OrderHash, 0)
	return err
}

// settle is the end of every payment: S4 in the delegation module, the
// debit of the person into escrow, and the payment record with its release
// time.
func (k *Keeper) settle(ctx *module.Context, r *delegation.Reservation, mer *identity.MerchantInfo, c chain.Coin, reserved chain.Amount, orderHash []byte, token uint64) (*pb.Payment, error) {
	md, err := k.delegation.Consume(ctx, r, reserved, c.Amount)
	if err != nil {
		return nil, err
	}
	person, _ := chain.AddressFromBytes(md.Person)
	window, err := k.Window(ctx, mer.Address)
	if err != nil {
		return nil, err
	}
	if k.rules != nil {
		f := PaymentFacts{Merchant: mer.Address, Payer: person, Agent: md.Agent, Mandate: md.Id, Coin: c, OrderHash: orderHash}
		if r.Tier != nil {
			f.TierKnown, f.TrustScore, f.TrustTier = true, uint32(r.Tier.Score), uint32(r.Tier.Index)
		}
		hold, err := k.rules.CheckPayment(ctx, f)
		if err != nil {
			return nil, err
		}
		window = max(window, hold)
	}
	if err := k.bank.Send(ctx, person, EscrowAccount, c); err != nil {
		return nil, err
	}
	now := ctx.Time.Unix()
	p := &pb.Payment{Id: next(ctx, "payment"), Token: token, Mandate: md.Id, Agent: md.Agent, Person: md.Person,
		Merchant: mer.Address[:], Settlement: mer.Settlement[:], Asset: c.Asset, Amount: c.Amount.String(), OrderHash: orderHash,
		Status: StatusEscrowed, CapturedAt: now, CapturedHeight: ctx.Height, ReleaseAt: now + window}
	if !r.Approver.IsZero() {
		p.Approver = r.Approver[:]
	}
	save(ctx, paymentKey(p.Id), p)
	st(ctx).Set(billKey(md.Id, p.Id), []byte{})
	st(ctx).Set(releaseKey(p.ReleaseAt, p.Id), []byte{})
	st(ctx).Set(orderKey(mer.Address, orderHash), append([]byte{'p'}, binary.BigEndian.AppendUint64(nil, p.Id)...))
	ctx.Emit("created", module.Attr{Key: "id", Value: PaymentID(p.Id)})
	// What the tx's other events already say is not repeated: the id is
	// in "created", the person, asset and amount in the escrow "transfer",
	// the agent's key in the tx's "signer" (and the agent in the mandate).
	// Indexed: what wallets and merchants search by; every attribute costs
	// each node on every payment (results, events, index), see
	// docs/benchmarks.md.
	ctx.Emit("payment_captured",
		module.Attr{Key: "mandate_id", Value: delegation.MandateID(md.Id), Index: true},
		module.Attr{Key: "merchant", Value: mer.Address.String(), Index: true},
		module.Attr{Key: "release_at", Value: strconv.FormatInt(p.ReleaseAt, 10)})
	return p, nil
}

func (k *Keeper) handleWindow(ctx *module.Context, m *pb.MsgSetProtectionWindow) error {
	ma, _ := chain.AddressFromBytes(m.Merchant)
	mer, err := k.identity.MerchantInfoOf(ctx, ma)
	if err != nil {
		return err
	}
	if !ctx.SignedBy(ma) && !ctx.SignedBy(mer.Acquirer) {
		return chain.Wrapf(chain.ErrUnauthorized, "the protection window is set by the merchant %s or its acquirer", ma)
	}
	var lo, hi int64
	if err := k.params.Get(ctx, ParamProtectionWindow, &lo); err != nil {
		return err
	}
	if err := k.params.Get(ctx, ParamMaxWindow, &hi); err != nil {
		return err
	}
	if m.Seconds > uint64(hi) {
		return chain.Wrapf(ErrWindowOutOfRange, "%d seconds: from the chain's %d to %d", m.Seconds, lo, hi)
	}
	if int64(m.Seconds) < lo {
		// The bond-dependent window rule: only a bonded merchant may choose
		// a window shorter than the chain's, down to a floor.
		var floor int64
		if err := k.params.Get(ctx, ParamBondedMinWindow, &floor); err != nil {
			return err
		}
		bonded, err := k.Bonded(ctx, ma)
		if err != nil {
			return err
		}
		if !bonded {
			return chain.Wrapf(ErrBondRequired, "%d seconds is below the chain's window of %d: it needs an active bond of at least %s", m.Seconds, lo, k.minBondText(ctx))
		}
		if int64(m.Seconds) < floor {
			return chain.Wrapf(ErrWindowOutOfRange, "%d seconds: a bonded merchant chooses from %d to %d", m.Seconds, floor, hi)
		}
	}
	st(ctx).Set(windowKey(ma), binary.BigEndian.AppendUint64(nil, m.Seconds))
	ctx.Emit("protection_window_set",
		module.Attr{Key: "merchant", Value: ma.String(), Index: true},
		module.Attr{Key: "seconds", Value: fmt.Sprint(m.Seconds)})
	return nil
}

// EndBlock expires the payment tokens whose validity ended (releasing their
// reservations) and releases the escrowed payments whose protection window
// has passed. Both queues are ordered, so the cost follows what is due.
func (k *Keeper) EndBlock(ctx *module.Context) error {
	var tokens []uint64
	st(ctx).Iterate([]byte("te/"), func(key, _ []byte) bool {
		if int64(binary.BigEndian.Uint64(key[3:11])) > ctx.Height {
			return false
		}
		tokens = append(tokens, binary.BigEndian.Uint64(key[11:19]))
		return true
	})
	for _, n := range tokens {
		t, err := k.Token(ctx, n)
		if err != nil {
			return err
		}
		if err := k.delegation.Release(ctx, t.Mandate, t.PeriodIndex, t.Day, amount(t.Amount)); err != nil {
			return err
		}
		ma, _ := chain.AddressFromBytes(t.Merchant)
		st(ctx).Delete(tokenKey(n))
		st(ctx).Delete(tokenExpiryKey(t.ExpiresHeight, n))
		st(ctx).Delete(orderKey(ma, t.OrderHash))
		ctx.Emit("token_expired",
			module.Attr{Key: "token_id", Value: TokenID(n), Index: true},
			module.Attr{Key: "mandate_id", Value: delegation.MandateID(t.Mandate), Index: true},
			module.Attr{Key: "amount", Value: t.Amount})
	}
	now := ctx.Time.Unix()
	var due []uint64
	st(ctx).Iterate([]byte("r/"), func(key, _ []byte) bool {
		if int64(binary.BigEndian.Uint64(key[2:10])) > now {
			return false
		}
		due = append(due, binary.BigEndian.Uint64(key[10:18]))
		return true
	})
	// Claims whose response or arbitration deadline passed in silence are
	// decided for the person before the releases, so a payment whose
	// claim resolves now is released (what is left of it) in this block.
	if err := k.claimDeadlines(ctx, now); err != nil {
		return err
	}
	batch := newReleaseBatch()
	for _, n := range due {
		if err := k.release(ctx, n, batch); err != nil {
			return err
		}
	}
	if err := batch.flush(ctx, k); err != nil {
		return err
	}
	if err := k.completeUnbondings(ctx, now); err != nil {
		return err
	}
	// Last, the pool (refilled by this block's fees) pays its queue.
	return k.payQueue(ctx)
}

// release pays an escrowed payment out when its release queue entry comes
// due. A disputed payment waits: its claim's resolution releases what is
// left of it (at once, if the window has passed by then). The fees and
// report counts of the block's releases gather in batch.
func (k *Keeper) release(ctx *module.Context, n uint64, batch *releaseBatch) error {
	p, err := k.Payment(ctx, n)
	if err != nil {
		return err
	}
	st(ctx).Delete(releaseKey(p.ReleaseAt, n))
	if p.Status != StatusEscrowed {
		return nil
	}
	return k.payOut(ctx, p, batch)
}
