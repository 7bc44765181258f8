package delegation

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
)

// Routes are the module's messages.
func (k *Keeper) Routes() []module.Route {
	return []module.Route{
		module.NewRoute(validateDraft, k.handleDraft),
		module.NewRoute(validateActivate, k.handleActivate),
		module.NewRoute(validateGrant, k.handleGrant),
		module.NewRoute(validateUpdate, k.handleUpdate),
		module.NewRoute(validateRevoke, k.handleRevoke),
		module.NewRoute(validateClose, k.handleClose),
		module.NewRoute(validateWalletLimits, k.handleWalletLimits),
	}
}

// PriorityMsgTypes are the messages a block proposer puts first: a revoke
// racing a payment into the same block resolves in the person's favour.
func (k *Keeper) PriorityMsgTypes() []string {
	return []string{chain.MsgType(&pb.MsgRevokeMandate{})}
}

func validateParties(person []byte, agent string) error {
	if _, err := chain.AddressFromBytes(person); err != nil {
		return fmt.Errorf("person: %w", err)
	}
	if _, err := identity.ParseAgentID(agent); err != nil {
		return err
	}
	return nil
}

func validateDraft(m *pb.MsgDraftMandate) error {
	if err := validateParties(m.Person, m.AgentId); err != nil {
		return err
	}
	_, _, err := validateTerms(m.Terms)
	return err
}

func validateGrant(m *pb.MsgGrantMandate) error {
	if err := validateParties(m.Person, m.AgentId); err != nil {
		return err
	}
	_, _, err := validateTerms(m.Terms)
	return err
}

func validateActivate(m *pb.MsgActivateMandate) error {
	_, err := ParseMandateID(m.MandateId)
	return err
}
func validateRevoke(m *pb.MsgRevokeMandate) error { _, err := ParseMandateID(m.MandateId); return err }
func validateClose(m *pb.MsgCloseMandate) error   { _, err := ParseMandateID(m.MandateId); return err }

func validateUpdate(m *pb.MsgUpdateMandate) error {
	if _, err := ParseMandateID(m.MandateId); err != nil {
		return err
	}
	if m.Budget == nil && m.MaxPayment == nil && m.PerPeriod == nil && m.PerPeriodCount == nil && m.ApprovalAbove == nil && m.ExpiresAt == nil {
		return chain.Wrapf(ErrInvalidMandate, "the update changes nothing")
	}
	if m.Budget != nil {
		if a, err := chain.ParseBaseUnits(*m.Budget); err != nil || a.IsZero() {
			return chain.Wrapf(ErrInvalidMandate, "budget must be a positive amount of base units")
		}
	}
	for name, v := range map[string]*string{"max_payment": m.MaxPayment, "per_period": m.PerPeriod, "approval_above": m.ApprovalAbove} {
		if v != nil && *v != "" {
			if _, err := chain.ParseBaseUnits(*v); err != nil {
				return chain.Wrapf(ErrInvalidMandate, "%s: %v", name, err)
			}
		}
	}
	if m.ExpiresAt != nil && *m.ExpiresAt <= 0 {
		return chain.Wrapf(ErrInvalidMandate, "expires_at must be a Unix time")
	}
	return nil
}

func validateWalletLimits(m *pb.MsgSetWalletLimits) error {
	if _, err := chain.AddressFromBytes(m.Person); err != nil {
		return err
	}
	a, err := bank.CoinFromProto(m.MaxPerMandate)
	if err != nil {
		return fmt.Errorf("max_per_mandate: %w", err)
	}
	d, err := bank.CoinFromProto(m.MaxDaily)
	if err != nil {
		return fmt.Errorf("max_daily: %w", err)
	}
	if a.Asset != d.Asset {
		return chain.Wrapf(ErrInvalidMandate, "both limits must be in the same asset")
	}
	return nil
}

// draft records a new inactive mandate after the checks that need state.
func (k *Keeper) draft(ctx *module.Context, person chain.Address, agentID string, t *pb.Terms, drafter chain.Address) (*pb.Mandate, error) {
	asset, budget, _ := validateTerms(t) // validated in CheckTx
	if _, err := k.identity.Person(ctx, person); err != nil {
		return nil, err
	}
	agent, err := k.identity.RequireAgent(ctx, agentID)
	if err != nil {
		return nil, err
	}
	if _, err := k.identity.BindingOf(ctx, person, agent.ID); err != nil {
		return nil, chain.Wrapf(ErrAgentNotBound, "%s is not bound to %s's wallet: bind it first", agent.ID, person)
	}
	if _, err := k.bank.Asset(ctx, asset); err != nil {
		return nil, err
	}
	if err := k.checkExpiry(ctx, t.ExpiresAt); err != nil {
		return nil, err
	}
	open := getU64(st(ctx), openKey(person))
	if open >= MaxOpenMandates {
		return nil, chain.Wrapf(ErrTooManyOpenMandates, "%s has %d open mandates", person, open)
	}
	m := &pb.Mandate{
		Id: nextMandate(ctx), Person: person[:], Agent: agentNumber(agent.ID), Terms: proto.Clone(t).(*pb.Terms),
		Asset: asset, Budget: str(budget), Status: StatusInactive,
		CreatedAt: ctx.Time.Unix(), CreatedHeight: ctx.Height, DraftedBy: drafter[:],
	}
	setU64(st(ctx), openKey(person), open+1)
	s := st(ctx)
	s.Set(personMandateKey(person, m.Id), []byte{})
	s.Set(agentMandateKey(m.Agent, m.Id), []byte{})
	s.Set(expiryKey(t.ExpiresAt, m.Id), []byte{})
	k.save(ctx, m)
	ctx.Emit("created", module.Attr{Key: "id", Value: MandateID(m.Id)})
	ctx.Emit("mandate_drafted",
		module.Attr{Key: "mandate_id", Value: MandateID(m.Id), Index: true},
		module.Attr{Key: "person", Value: person.String(), Index: true},
		module.Attr{Key: "agent_id", Value: agent.ID, Index: true},
		module.Attr{Key: "type", Value: TypeName(t.Type)})
	return m, nil
}

func (k *Keeper) checkExpiry(ctx *module.Context, at int64) error {
	now := ctx.Time.Unix()
	if at <= now {
		return chain.Wrapf(ErrMandateExpired, "expires_at %d is not after the block time %d", at, now)
	}
	var days int64
	if err := k.params.Get(ctx, ParamMaxMandateDays, &days); err != nil {
		return err
	}
	if at-now > days*day {
		return chain.Wrapf(ErrInvalidMandate, "a mandate may run at most %d days", days)
	}
	return nil
}

func (k *Keeper) handleDraft(ctx *module.Context, m *pb.MsgDraftMandate) error {
	person, _ := chain.AddressFromBytes(m.Person)
	agent, err := k.identity.Agent(ctx, m.AgentId)
	if err != nil {
		return err
	}
	drafter := agent.KeyAddress
	if !ctx.SignedBy(agent.KeyAddress) {
		// Not the agent: the person (or a device that may activate).
		d, err := k.identity.Authorize(ctx, person, identity.ScopeActivate)
		if err != nil {
			return err
		}
		drafter = actor(person, d)
	}
	_, err = k.draft(ctx, person, m.AgentId, m.Terms, drafter)
	return err
}

func actor(person chain.Address, d *identity.Device) chain.Address {
	if d != nil {
		return d.Address
	}
	return person
}

func (k *Keeper) handleGrant(ctx *module.Context, m *pb.MsgGrantMandate) error {
	person, _ := chain.AddressFromBytes(m.Person)
	d, err := k.identity.Authorize(ctx, person, identity.ScopeActivate)
	if err != nil {
		return err
	}
	md, err := k.draft(ctx, person, m.AgentId, m.Terms, actor(person, d))
	if err != nil {
		return err
	}
	return k.activate(ctx, md, actor(person, d))
}

func (k *Keeper) handleActivate(ctx *module.Context, m *pb.MsgActivateMandate) error {
	md, err := k.MandateByID(ctx, m.MandateId)
	if err != nil {
		return err
	}
	person, _ := chain.AddressFromBytes(md.Person)
	d, err := k.identity.Authorize(ctx, person, identity.ScopeActivate)
	if err != nil {
		return err
	}
	if md.Status != StatusInactive {
		return statusError(md)
	}
	return k.activate(ctx, md, actor(person, d))
}

// statusError is the reason a mandate in a given status cannot be used or
// changed.
func statusError(m *pb.Mandate) error {
	id := MandateID(m.Id)
	switch m.Status {
	case StatusInactive:
		return chain.Wrapf(ErrMandateNotActive, "%s is not activated", id)
	case StatusRevoked:
		return chain.Wrapf(ErrMandateRevoked, "%s was revoked", id)
	case StatusExpired:
		return chain.Wrapf(ErrMandateExpired, "%s expired", id)
	case StatusFinished:
		return chain.Wrapf(ErrMandateFinished, "%s is finished", id)
	}
	return chain.Wrapf(ErrMandateNotActive, "%s is %s", id, StatusName(m.Status))
}

// activate runs AMP's S1 check — terms still valid, agent usable and bound,
// within the person's wallet-level limits and the agent's tier — and
// activates the mandate.
func (k *Keeper) activate(ctx *module.Context, m *pb.Mandate, by chain.Address) error {
	person, _ := chain.AddressFromBytes(m.Person)
	if err := k.checkExpiry(ctx, m.Terms.ExpiresAt); err != nil {
		return err
	}
	agent, err := k.identity.RequireAgent(ctx, agentID(m.Agent))
	if err != nil {
		return err
	}
	if _, err := k.identity.BindingOf(ctx, person, agent.ID); err != nil {
		return chain.Wrapf(ErrAgentNotBound, "%s is no longer bound to %s's wallet", agent.ID, person)
	}
	if m.Terms.Type == pb.MandateType_MANDATE_TYPE_IMMEDIATE {
		ma, _ := chain.AddressFromBytes(m.Terms.Checkout.Merchant)
		if _, err := k.identity.Merchant(ctx, ma); err != nil {
			return err
		}
	}
	budget := amount(m.Budget)
	if err := k.checkWalletLimits(ctx, person, m.Asset, budget, budget); err != nil {
		return err
	}
	if m.Terms.Type == pb.MandateType_MANDATE_TYPE_AUTONOMOUS {
		tc, err := k.trust.Tier(ctx, agent.ID)
		if err != nil {
			return err
		}
		if !tc.Autonomous {
			return chain.Wrapf(ErrOverTierCap, "%s is in tier %s (%s), which allows no AUTONOMOUS mandates", agent.ID, tc.Name, tc.Label)
		}
	}
	now := ctx.Time.Unix()
	m.Status, m.ActivatedAt, m.PeriodIndex, m.PeriodSpent, m.PeriodCount = StatusActivated, now, 0, "", 0
	k.addActivated(ctx, person, m.Asset, budget)
	k.save(ctx, m)
	ctx.Emit("mandate_activated",
		module.Attr{Key: "mandate_id", Value: MandateID(m.Id), Index: true},
		module.Attr{Key: "person", Value: person.String(), Index: true},
		module.Attr{Key: "agent_id", Value: agentID(m.Agent), Index: true},
		module.Attr{Key: "by", Value: by.String()},
		module.Attr{Key: "budget", Value: m.Budget},
		module.Attr{Key: "asset", Value: m.Asset})
	return nil
}

// WalletLimits are a person's delegation limits for one asset, in base units.
type WalletLimits struct {
	MaxPerMandate string `json:"max_per_mandate"`
	MaxDaily      string `json:"max_daily"`
}

// Limits returns the person's limits for an asset: their own, else the
// chain's defaults.
func (k *Keeper) Limits(ctx *module.Context, person chain.Address, asset string) (maxPer, maxDaily chain.Amount, own bool, err error) {
	if b := st(ctx).Get(walletKey(person, asset)); b != nil {
		var w WalletLimits
		if err := json.Unmarshal(b, &w); err != nil {
			return maxPer, maxDaily, false, chain.Wrapf(chain.ErrInternal, "stored wallet limits: %v", err)
		}
		return amount(w.MaxPerMandate), amount(w.MaxDaily), true, nil
	}
	as, err := k.bank.Asset(ctx, asset)
	if err != nil {
		return maxPer, maxDaily, false, err
	}
	read := func(key string) (chain.Amount, error) {
		var s string
		if err := k.params.Get(ctx, key, &s); err != nil {
			return chain.Amount{}, err
		}
		a, err := chain.ParseDecimal(s, as.Decimals)
		if err != nil {
			return chain.Amount{}, chain.Wrapf(chain.ErrInternal, "param %s: %v", key, err)
		}
		return a, nil
	}
	if maxPer, err = read(ParamDefaultMaxPerMandate); err != nil {
		return
	}
	maxDaily, err = read(ParamDefaultMaxDaily)
	return maxPer, maxDaily, false, err
}

// checkWalletLimits is S1: a mandate's budget within the person's limit for
// one mandate, and the budgets activated today (plus added) within the
// daily limit.
func (k *Keeper) checkWalletLimits(ctx *module.Context, person chain.Address, asset string, budget, added chain.Amount) error {
	maxPer, maxDaily, _, err := k.Limits(ctx, person, asset)
	if err != nil {
		return err
	}
	if budget.Cmp(maxPer) > 0 {
		return chain.Wrapf(ErrOverWalletLimit, "budget %s is above the person's limit of %s %s base units for one mandate", budget, maxPer, asset)
	}
	today := getAmt(st(ctx), walletDayKey(person, utcDay(ctx.Time.Unix()), asset))
	total, err := today.Add(added)
	if err != nil || total.Cmp(maxDaily) > 0 {
		return chain.Wrapf(ErrOverWalletLimit, "%s base units delegated today plus %s is above the person's daily limit of %s", today, added, maxDaily)
	}
	return nil
}

func (k *Keeper) addActivated(ctx *module.Context, person chain.Address, asset string, added chain.Amount) {
	key := walletDayKey(person, utcDay(ctx.Time.Unix()), asset)
	total, _ := getAmt(st(ctx), key).Add(added) // checked by checkWalletLimits
	setAmt(st(ctx), key, total)
}

func (k *Keeper) handleUpdate(ctx *module.Context, u *pb.MsgUpdateMandate) error {
	m, err := k.MandateByID(ctx, u.MandateId)
	if err != nil {
		return err
	}
	person, _ := chain.AddressFromBytes(m.Person)
	d, err := k.identity.Authorize(ctx, person, identity.ScopeUpdate)
	if err != nil {
		return err
	}
	if Terminal(m.Status) {
		return statusError(m)
	}
	if m.Terms.Type != pb.MandateType_MANDATE_TYPE_AUTONOMOUS {
		return chain.Wrapf(ErrInvalidMandate, "an IMMEDIATE mandate's checkout is fixed: revoke it and grant another")
	}
	c := m.Terms.Constraints
	oldBudget, budget := amount(m.Budget), amount(m.Budget)
	if u.Budget != nil {
		budget, _ = chain.ParseBaseUnits(*u.Budget)
	}
	if u.MaxPayment != nil {
		c.MaxPayment = *u.MaxPayment
	}
	if u.PerPeriod != nil {
		c.PerPeriod = *u.PerPeriod
	}
	if u.PerPeriodCount != nil {
		c.PerPeriodCount = *u.PerPeriodCount
	}
	if u.ApprovalAbove != nil {
		c.ApprovalAbove = *u.ApprovalAbove
	}
	if err := validateLimits(budget, c.MinPayment, c.MaxPayment, c.PerPeriod, c.ApprovalAbove); err != nil {
		return err
	}
	if consumed := amount(m.Consumed); budget.Cmp(consumed) < 0 {
		return chain.Wrapf(ErrInvalidMandate, "the budget cannot go below what is already spent (%s base units)", consumed)
	}
	if u.ExpiresAt != nil && *u.ExpiresAt != m.Terms.ExpiresAt {
		if err := k.checkExpiry(ctx, *u.ExpiresAt); err != nil {
			return err
		}
		st(ctx).Delete(expiryKey(m.Terms.ExpiresAt, m.Id))
		m.Terms.ExpiresAt = *u.ExpiresAt
		st(ctx).Set(expiryKey(m.Terms.ExpiresAt, m.Id), []byte{})
	}
	if budget.Cmp(oldBudget) > 0 && m.Status == StatusActivated {
		// A raise is a new delegation: within the wallet-level limits.
		added, _ := budget.Sub(oldBudget)
		if err := k.checkWalletLimits(ctx, person, m.Asset, budget, added); err != nil {
			return err
		}
		k.addActivated(ctx, person, m.Asset, added)
	}
	c.Budget = bank.CoinProto(chain.Coin{Asset: m.Asset, Amount: budget})
	m.Budget = str(budget)
	ctx.Emit("mandate_updated",
		module.Attr{Key: "mandate_id", Value: MandateID(m.Id), Index: true},
		module.Attr{Key: "person", Value: person.String(), Index: true},
		module.Attr{Key: "by", Value: actor(person, d).String()},
		module.Attr{Key: "budget", Value: m.Budget})
	if m.Status == StatusActivated && amount(m.Consumed).Cmp(budget) == 0 && amount(m.Reserved).IsZero() {
		k.end(ctx, m, StatusFinished, "budget used up")
	}
	k.save(ctx, m)
	return nil
}

func (k *Keeper) handleRevoke(ctx *module.Context, r *pb.MsgRevokeMandate) error {
	m, err := k.MandateByID(ctx, r.MandateId)
	if err != nil {
		return err
	}
	person, _ := chain.AddressFromBytes(m.Person)
	d, err := k.identity.Authorize(ctx, person, identity.ScopeRevoke)
	if err != nil {
		return err
	}
	if Terminal(m.Status) {
		return statusError(m)
	}
	k.end(ctx, m, StatusRevoked, "revoked by "+actor(person, d).String())
	k.save(ctx, m)
	return nil
}

func (k *Keeper) handleClose(ctx *module.Context, r *pb.MsgCloseMandate) error {
	m, err := k.MandateByID(ctx, r.MandateId)
	if err != nil {
		return err
	}
	person, _ := chain.AddressFromBytes(m.Person)
	agent, err := k.identity.Agent(ctx, agentID(m.Agent))
	if err != nil {
		return err
	}
	by := agent.KeyAddress
	if !ctx.SignedBy(agent.KeyAddress) {
		d, err := k.identity.Authorize(ctx, person, identity.ScopeRevoke)
		if err != nil {
			return chain.Wrapf(ErrMandateNotOwned, "only the agent, the person or a device with the revoke scope closes %s (%v)", MandateID(m.Id), err)
		}
		by = actor(person, d)
	}
	if Terminal(m.Status) {
		return statusError(m)
	}
	k.end(ctx, m, StatusFinished, "task closed by "+by.String())
	k.save(ctx, m)
	return nil
}

// end moves a mandate to a terminal status. Reservations of live payment
// tokens stay counted until the tokens expire; no capture succeeds now.
func (k *Keeper) end(ctx *module.Context, m *pb.Mandate, status uint32, why string) {
	person, _ := chain.AddressFromBytes(m.Person)
	m.Status, m.ClosedAt = status, ctx.Time.Unix()
	st(ctx).Delete(expiryKey(m.Terms.ExpiresAt, m.Id))
	setU64(st(ctx), openKey(person), getU64(st(ctx), openKey(person))-1)
	ctx.Emit("mandate_"+StatusName(status),
		module.Attr{Key: "mandate_id", Value: MandateID(m.Id), Index: true},
		module.Attr{Key: "person", Value: person.String(), Index: true},
		module.Attr{Key: "agent_id", Value: agentID(m.Agent), Index: true},
		module.Attr{Key: "why", Value: why})
}

func (k *Keeper) handleWalletLimits(ctx *module.Context, m *pb.MsgSetWalletLimits) error {
	person, _ := chain.AddressFromBytes(m.Person)
	if _, err := k.identity.Person(ctx, person); err != nil {
		return err
	}
	if _, err := k.identity.Authorize(ctx, person, identity.ScopeUpdate); err != nil {
		return err
	}
	per, _ := bank.CoinFromProto(m.MaxPerMandate)
	daily, _ := bank.CoinFromProto(m.MaxDaily)
	if _, err := k.bank.Asset(ctx, per.Asset); err != nil {
		return err
	}
	b, _ := json.Marshal(WalletLimits{MaxPerMandate: per.Amount.String(), MaxDaily: daily.Amount.String()})
	st(ctx).Set(walletKey(person, per.Asset), b)
	ctx.Emit("wallet_limits_set",
		module.Attr{Key: "person", Value: person.String(), Index: true},
		module.Attr{Key: "asset", Value: per.Asset},
		module.Attr{Key: "max_per_mandate", Value: per.Amount.String()},
		module.Attr{Key: "max_daily", Value: daily.Amount.String()})
	return nil
}

// EndBlock expires the mandates whose expiry has passed; its cost follows
// the number that expire.
func (k *Keeper) EndBlock(ctx *module.Context) error {
	now := ctx.Time.Unix()
	var due []uint64
	st(ctx).Iterate([]byte("x/"), func(key, _ []byte) bool {
		if int64(be64(key[2:10])) > now {
			return false
		}
		due = append(due, be64(key[10:18]))
		return true
	})
	for _, n := range due {
		m, err := k.Mandate(ctx, n)
		if err != nil {
			return err
		}
		if !Terminal(m.Status) {
			k.end(ctx, m, StatusExpired, "expiry reached")
			k.save(ctx, m)
		}
	}
	return nil
}
