package payments

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
)

// The money-back guarantee (docs/guarantee.md): a person — or a device of
// theirs with the claim scope, or the payment's agent for them — claims
// money back on a payment; the merchant's claim rule decides first, then
// the merchant accepts or contests, then an arbiter rules on a contested
// claim. Silence past a deadline decides for the person. A refund comes from
// escrow while the payment is held, else from the merchant's bond, then
// the guarantee pool, then a FIFO queue the pool pays as it refills.

// Claim statuses. A claim is open (waiting for the merchant), contested
// (waiting for the arbiter), then decided: denied, or refunded — queued
// first if part of its refund waits for the pool.
const (
	ClaimOpen      uint32 = 1 // waiting for the merchant's response until response_deadline
	ClaimContested uint32 = 2 // waiting for the arbiter until arbitration_deadline
	ClaimRefunded  uint32 = 3 // final: decided for the person and paid in full
	ClaimQueued    uint32 = 4 // decided for the person; part of the refund waits in the pool's queue
	ClaimDenied    uint32 = 5 // final: decided for the merchant
)

var claimStatusNames = map[uint32]string{ClaimOpen: "open", ClaimContested: "contested", ClaimRefunded: "refunded",
	ClaimQueued: "queued", ClaimDenied: "denied"}

// ClaimStatusName names a claim status.
func ClaimStatusName(s uint32) string { return claimStatusNames[s] }

// Resolutions: how a claim was decided.
const (
	ResolutionRuleApproved   uint32 = 1 // the merchant's claim rule approved it
	ResolutionAccepted       uint32 = 2 // the merchant accepted it
	ResolutionMerchantSilent uint32 = 3 // no response by the response deadline
	ResolutionArbiterRefund  uint32 = 4 // the arbiter ruled for the person (in full or in part)
	ResolutionArbiterSilent  uint32 = 5 // no ruling by the arbitration deadline
	ResolutionArbiterDenied  uint32 = 6 // the arbiter ruled for the merchant
)

var resolutionNames = map[uint32]string{ResolutionRuleApproved: "rule_approved", ResolutionAccepted: "accepted",
	ResolutionMerchantSilent: "merchant_silence", ResolutionArbiterRefund: "arbiter_refund",
	ResolutionArbiterSilent: "arbiter_silence", ResolutionArbiterDenied: "arbiter_denied"}

// ResolutionName names a resolution ("" while undecided).
func ResolutionName(r uint32) string { return resolutionNames[r] }

// ClaimReasons names the claim reasons by number, as the wire format and
// the merchants' rules number them.
var ClaimReasons = map[uint32]string{
	uint32(pb.ClaimReason_CLAIM_REASON_UNAUTHORIZED):         "unauthorized",
	uint32(pb.ClaimReason_CLAIM_REASON_NOT_RECEIVED):         "not_received",
	uint32(pb.ClaimReason_CLAIM_REASON_NOT_AS_DESCRIBED):     "not_as_described",
	uint32(pb.ClaimReason_CLAIM_REASON_DUPLICATE):            "duplicate",
	uint32(pb.ClaimReason_CLAIM_REASON_CANCELED_BY_MERCHANT): "canceled_by_merchant",
	uint32(pb.ClaimReason_CLAIM_REASON_OTHER):                "other",
}

// ReasonNames lists the reasons in their wire order.
var ReasonNames = []string{"unauthorized", "not_received", "not_as_described", "duplicate", "canceled_by_merchant", "other"}

// ParseClaimReason returns the reason named s ("not_received").
func ParseClaimReason(s string) (pb.ClaimReason, error) {
	for n, name := range ReasonNames {
		if name == s {
			return pb.ClaimReason(n + 1), nil
		}
	}
	return 0, chain.Wrapf(ErrInvalidClaim, "reason %q is not one of %v", s, ReasonNames)
}

// Arbiter modes (payments.arbiter).
const (
	ArbiterWallet = "wallet"       // the person's wallet member rules
	ArbiterRole   = "arbiter_role" // any member holding the arbiter role rules
)

// DefaultClaimWindows are the claim windows, in seconds from capture, per
// reason. unauthorized and not_received run well past the default escrow
// window (7 days), so such a claim is possible after the release too.
func DefaultClaimWindows() map[string]int64 {
	const day = 86400
	return map[string]int64{"unauthorized": 120 * day, "not_received": 60 * day, "not_as_described": 30 * day,
		"duplicate": 60 * day, "canceled_by_merchant": 30 * day, "other": 14 * day}
}

func declareGuaranteeParams(ps *params.Keeper, between func(lo, hi int64, unit string) func(json.RawMessage) error) {
	const day = 86400
	ps.Declare(params.Def{Key: ParamClaimWindows, Default: DefaultClaimWindows(),
		Doc: "per claim reason, how many seconds after a payment's capture a claim with that reason may be filed",
		Validate: func(raw json.RawMessage) error {
			var w map[string]int64
			if err := json.Unmarshal(raw, &w); err != nil || len(w) != len(ReasonNames) {
				return fmt.Errorf("want an object with a number of seconds for each of %v", ReasonNames)
			}
			for _, r := range ReasonNames {
				s, ok := w[r]
				if !ok || s < 0 || s > 3660*day {
					return fmt.Errorf("want %q from 0 to %d seconds", r, 3660*day)
				}
			}
			return nil
		}})
	ps.Declare(params.Def{Key: ParamResponseWindow, Default: 7 * day, Validate: between(0, 366*day, "seconds"),
		Doc: "seconds a merchant has to accept or contest a claim; silence refunds the person"})
	ps.Declare(params.Def{Key: ParamArbitrationWindow, Default: 14 * day, Validate: between(0, 366*day, "seconds"),
		Doc: "seconds the arbiter has to rule on a contested claim; silence refunds the person"})
	ps.Declare(params.Def{Key: ParamArbiter, Default: ArbiterWallet,
		Doc: `who rules on contested claims: "wallet" (the person's wallet member) or "arbiter_role" (any consortium member with the arbiter role)`,
		Validate: func(raw json.RawMessage) error {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil || (s != ArbiterWallet && s != ArbiterRole) {
				return fmt.Errorf(`want "wallet" or "arbiter_role"`)
			}
			return nil
		}})
	ps.Declare(params.Def{Key: ParamFee, Default: 10, Validate: between(0, 1000, "basis points"),
		Doc: "guarantee fee in basis points of each released payment, paid into the guarantee pool (the merchant gets the rest)"})
	ps.Declare(params.Def{Key: ParamMinBond, Default: "1000USD",
		Doc: "the active bond (amount and asset, e.g. \"1000USD\") a merchant needs to choose a protection window shorter than the chain's",
		Validate: func(raw json.RawMessage) error {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf(`want an amount with its asset, e.g. "1000USD"`)
			}
			num, sym := chain.SplitCoin(s)
			if err := chain.ValidateSymbol(sym); err != nil {
				return err
			}
			if _, err := chain.ParseDecimal(num, 36); err != nil {
				return fmt.Errorf(`want an amount with its asset, e.g. "1000USD": %v`, err)
			}
			return nil
		}})
	ps.Declare(params.Def{Key: ParamBondedMinWindow, Default: 1 * day, Validate: between(0, 366*day, "seconds"),
		Doc: "the shortest protection window a bonded merchant may choose (unbonded merchants: at least payments.protection_window_seconds)"})
	ps.Declare(params.Def{Key: ParamUnbonding, Default: 30 * day, Validate: between(0, 3660*day, "seconds"),
		Doc: "seconds an unbonded amount stays in the bond account (still paying claims) before it returns to the merchant"})
	ps.Declare(params.Def{Key: ParamSuspendAfter, Default: 3, Validate: between(0, 1_000_000, "lost claims"),
		Doc: "the ledger suspends an agent once it has lost this many claims since its last ledger suspension (0: never)"})
}

// ClaimID formats a claim number.
func ClaimID(n uint64) string { return "claim-" + strconv.FormatUint(n, 10) }

// ParseClaimID parses "claim-<n>".
func ParseClaimID(id string) (uint64, error) { return parseID(id, "claim-", ErrUnknownClaim) }

func claimKey(n uint64) []byte { return be64k("c/", n) }
func claimIndexKey(prefix string, who []byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(prefix), who...), n)
}
func deadlineKey(at int64, n uint64) []byte {
	return binary.BigEndian.AppendUint64(be64k("cd/", uint64(at)), n)
}

// Claim returns a claim.
func (k *Keeper) Claim(ctx *module.Context, n uint64) (*pb.Claim, error) {
	b := st(ctx).Get(claimKey(n))
	if b == nil {
		return nil, chain.Wrapf(ErrUnknownClaim, "%s", ClaimID(n))
	}
	c := &pb.Claim{}
	if err := proto.Unmarshal(b, c); err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "stored %s: %v", ClaimID(n), err)
	}
	return c, nil
}

// optAmount reads an optional stored amount ("" is zero).
func optAmount(s string) chain.Amount {
	if s == "" {
		return chain.Amount{}
	}
	return amount(s)
}

func addAmount(s string, a chain.Amount) (string, error) {
	v, err := optAmount(s).Add(a)
	if err != nil {
		return "", chain.Wrapf(chain.ErrOverflow, "%v", err)
	}
	return v.String(), nil
}

func subAmount(s string, a chain.Amount) (string, error) {
	v, err := optAmount(s).Sub(a)
	if err != nil {
		return "", chain.Wrapf(chain.ErrInternal, "%s - %s: %v", optAmount(s), a, err)
	}
	return v.String(), nil
}

func minAmount(a, b chain.Amount) chain.Amount {
	if a.Cmp(b) < 0 {
		return a
	}
	return b
}

func address(b []byte) chain.Address { a, _ := chain.AddressFromBytes(b); return a }

func evidence(b []byte) error {
	if len(b) != 0 && len(b) != 32 {
		return chain.Wrapf(ErrInvalidClaim, "evidence_hash has %d bytes: SHA-256 of the evidence is 32 (or none)", len(b))
	}
	return nil
}

func validateFileClaim(m *pb.MsgFileClaim) error {
	if _, err := parseID(m.PaymentId, "payment-", ErrUnknownPayment); err != nil {
		return err
	}
	if _, ok := ClaimReasons[uint32(m.Reason)]; !ok {
		return chain.Wrapf(ErrInvalidClaim, "reason %d is not one of 1 (unauthorized) to 6 (other)", m.Reason)
	}
	if m.Amount != nil {
		if _, err := bank.CoinFromProto(m.Amount); err != nil {
			return err
		}
	}
	return evidence(m.EvidenceHash)
}

func validateRespondClaim(m *pb.MsgRespondClaim) error {
	if _, err := ParseClaimID(m.ClaimId); err != nil {
		return err
	}
	if m.Response != pb.ClaimResponse_CLAIM_RESPONSE_ACCEPT && m.Response != pb.ClaimResponse_CLAIM_RESPONSE_CONTEST {
		return chain.Wrapf(ErrInvalidClaim, "response %d is neither accept (1) nor contest (2)", m.Response)
	}
	return evidence(m.EvidenceHash)
}

func validateArbitrateClaim(m *pb.MsgArbitrateClaim) error {
	if _, err := chain.AddressFromBytes(m.Arbiter); err != nil {
		return fmt.Errorf("arbiter: %w", err)
	}
	if _, err := ParseClaimID(m.ClaimId); err != nil {
		return err
	}
	switch m.Decision {
	case pb.ArbitrationDecision_ARBITRATION_DECISION_REFUND:
		if m.Amount != nil {
			if _, err := bank.CoinFromProto(m.Amount); err != nil {
				return err
			}
		}
	case pb.ArbitrationDecision_ARBITRATION_DECISION_DENY:
		if m.Amount != nil {
			return chain.Wrapf(ErrInvalidClaim, "a denial has no amount")
		}
	default:
		return chain.Wrapf(ErrInvalidClaim, "decision %d is neither refund (1) nor deny (2)", m.Decision)
	}
	return nil
}

// claimant returns who may file a claim on p for the person: the agent's
// key, or the person or a device of theirs with the claim scope.
func (k *Keeper) claimant(ctx *module.Context, p *pb.Payment, person chain.Address) (chain.Address, error) {
	if ag, err := k.identity.AgentStatusOf(ctx, p.Agent); err == nil && ctx.SignedBy(ag.KeyAddress) {
		return ag.KeyAddress, nil
	}
	d, err := k.identity.Authorize(ctx, person, identity.ScopeClaim)
	if err != nil {
		if errors.Is(err, chain.ErrUnauthorized) {
			return chain.Address{}, chain.Wrapf(ErrNotClaimant, "claims on %s are filed by its payer %s, a device of theirs with the claim scope, or its agent %s",
				PaymentID(p.Id), person, identity.AgentID(p.Agent))
		}
		return chain.Address{}, err
	}
	if d != nil {
		return d.Address, nil
	}
	return person, nil
}

func (k *Keeper) handleFileClaim(ctx *module.Context, m *pb.MsgFileClaim) error {
	n, _ := parseID(m.PaymentId, "payment-", ErrUnknownPayment)
	p, err := k.Payment(ctx, n)
	if err != nil {
		return err
	}
	person := address(p.Person)
	filedBy, err := k.claimant(ctx, p, person)
	if err != nil {
		return err
	}
	if p.OpenClaim != 0 {
		return chain.Wrapf(ErrClaimOpen, "%s already has the open claim %s", PaymentID(n), ClaimID(p.OpenClaim))
	}
	left, err := amount(p.Amount).Sub(optAmount(p.Refunded))
	if err != nil || left.IsZero() {
		return chain.Wrapf(ErrNotClaimable, "%s has been refunded in full", PaymentID(n))
	}
	reason := ClaimReasons[uint32(m.Reason)]
	var windows map[string]int64
	if err := k.params.Get(ctx, ParamClaimWindows, &windows); err != nil {
		return err
	}
	now := ctx.Time.Unix()
	if closes := p.CapturedAt + windows[reason]; now > closes {
		return chain.Wrapf(ErrClaimWindowClosed, "%s claims on %s closed at %d (captured at %d, window %d seconds)", reason, PaymentID(n), closes, p.CapturedAt, windows[reason])
	}
	claimed := left
	if m.Amount != nil {
		c, _ := bank.CoinFromProto(m.Amount)
		if c.Asset != p.Asset || c.Amount.Cmp(left) > 0 {
			return chain.Wrapf(ErrClaimAmount, "claims %s %s base units; %s has %s %s base units left to claim", c.Amount, c.Asset, PaymentID(n), left, p.Asset)
		}
		claimed = c.Amount
	}
	var respond int64
	if err := k.params.Get(ctx, ParamResponseWindow, &respond); err != nil {
		return err
	}
	c := &pb.Claim{Id: next(ctx, "claim"), Payment: p.Id, Token: p.Token, Mandate: p.Mandate, Agent: p.Agent, Person: p.Person,
		Merchant: p.Merchant, Asset: p.Asset, Reason: uint32(m.Reason), Amount: claimed.String(), EvidenceHash: m.EvidenceHash,
		FiledBy: filedBy[:], FiledAt: now, FiledHeight: ctx.Height, Status: ClaimOpen, ResponseDeadline: now + respond,
		AfterRelease: !held(p.Status)}
	p.OpenClaim = c.Id
	p.Claims++
	if p.Status == StatusEscrowed {
		p.Status = StatusDisputed // the release waits for the claim
	}
	s := st(ctx)
	s.Set(claimIndexKey("cp/", be64(p.Id), c.Id), []byte{})
	s.Set(claimIndexKey("cu/", p.Person, c.Id), []byte{})
	s.Set(claimIndexKey("cm/", p.Merchant, c.Id), []byte{})
	s.Set(claimIndexKey("ca/", be64(p.Agent), c.Id), []byte{})
	s.Set(deadlineKey(c.ResponseDeadline, c.Id), []byte{})
	save(ctx, paymentKey(p.Id), p)
	save(ctx, claimKey(c.Id), c)
	agentID := identity.AgentID(p.Agent)
	if err := k.trust.RecordClaimFiled(ctx, agentID); err != nil {
		return err
	}
	if err := k.reportFiled(ctx, c); err != nil {
		return err
	}
	ctx.Emit("created", module.Attr{Key: "id", Value: ClaimID(c.Id)})
	ctx.Emit("claim_filed",
		module.Attr{Key: "claim_id", Value: ClaimID(c.Id), Index: true},
		module.Attr{Key: "payment_id", Value: PaymentID(p.Id), Index: true},
		module.Attr{Key: "agent_id", Value: agentID, Index: true},
		module.Attr{Key: "person", Value: person.String(), Index: true},
		module.Attr{Key: "merchant", Value: address(p.Merchant).String(), Index: true},
		module.Attr{Key: "reason", Value: reason},
		module.Attr{Key: "asset", Value: c.Asset},
		module.Attr{Key: "amount", Value: c.Amount},
		module.Attr{Key: "response_deadline", Value: fmt.Sprint(c.ResponseDeadline)})

	// The merchant's claim rule decides first. Its error (a trap, out of
	// gas) is no answer: the claim goes on to the merchant's response.
	if k.rules == nil {
		return nil
	}
	v, refund, err := k.rules.CheckClaim(ctx, ClaimFacts{Merchant: address(p.Merchant), Payer: person, Agent: p.Agent, Payment: p.Id,
		Claim: c.Id, Reason: c.Reason, Claimed: chain.Coin{Asset: c.Asset, Amount: claimed},
		Paid: chain.Coin{Asset: p.Asset, Amount: amount(p.Amount)}, CapturedAt: p.CapturedAt})
	if err != nil {
		return nil
	}
	switch v {
	case ClaimApprove:
		if refund.IsZero() {
			return nil // approving nothing is no answer
		}
		return k.decide(ctx, c, p, minAmount(refund, claimed), ResolutionRuleApproved, nil)
	case ClaimDeny:
		return k.contest(ctx, c, nil)
	}
	return nil
}

func be64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func (k *Keeper) handleRespondClaim(ctx *module.Context, m *pb.MsgRespondClaim) error {
	n, _ := ParseClaimID(m.ClaimId)
	c, err := k.Claim(ctx, n)
	if err != nil {
		return err
	}
	ma := address(c.Merchant)
	signed := ctx.SignedBy(ma)
	if mer, err := k.identity.MerchantInfoOf(ctx, ma); err == nil && ctx.SignedBy(mer.Acquirer) {
		signed = true
	}
	if !signed {
		return chain.Wrapf(ErrNotClaimMerchant, "%s is answered by its merchant %s or the merchant's acquirer", ClaimID(n), ma)
	}
	if c.Status != ClaimOpen {
		return chain.Wrapf(ErrClaimState, "%s is %s, not open", ClaimID(n), ClaimStatusName(c.Status))
	}
	if ctx.Time.Unix() >= c.ResponseDeadline {
		return chain.Wrapf(ErrDeadlinePassed, "the response deadline of %s was %d", ClaimID(n), c.ResponseDeadline)
	}
	if m.Response == pb.ClaimResponse_CLAIM_RESPONSE_CONTEST {
		return k.contest(ctx, c, m.EvidenceHash)
	}
	p, err := k.Payment(ctx, c.Payment)
	if err != nil {
		return err
	}
	return k.decide(ctx, c, p, amount(c.Amount), ResolutionAccepted, nil)
}

func (k *Keeper) handleArbitrateClaim(ctx *module.Context, m *pb.MsgArbitrateClaim) error {
	arb, _ := chain.AddressFromBytes(m.Arbiter)
	if !ctx.SignedBy(arb) {
		return chain.Wrapf(chain.ErrUnauthorized, "a ruling must be signed by the arbiter %s", arb)
	}
	n, _ := ParseClaimID(m.ClaimId)
	c, err := k.Claim(ctx, n)
	if err != nil {
		return err
	}
	if err := k.requireArbiter(ctx, c, arb); err != nil {
		return err
	}
	if c.Status != ClaimContested {
		return chain.Wrapf(ErrClaimState, "%s is %s, not contested", ClaimID(n), ClaimStatusName(c.Status))
	}
	if ctx.Time.Unix() >= c.ArbitrationDeadline {
		return chain.Wrapf(ErrDeadlinePassed, "the arbitration deadline of %s was %d", ClaimID(n), c.ArbitrationDeadline)
	}
	p, err := k.Payment(ctx, c.Payment)
	if err != nil {
		return err
	}
	if m.Decision == pb.ArbitrationDecision_ARBITRATION_DECISION_DENY {
		return k.decide(ctx, c, p, chain.Amount{}, ResolutionArbiterDenied, &arb)
	}
	refund := amount(c.Amount)
	if m.Amount != nil {
		x, _ := bank.CoinFromProto(m.Amount)
		if x.Asset != c.Asset || x.Amount.Cmp(refund) > 0 {
			return chain.Wrapf(ErrClaimAmount, "a refund of %s %s base units on a claim of %s %s", x.Amount, x.Asset, refund, c.Asset)
		}
		refund = x.Amount
	}
	return k.decide(ctx, c, p, refund, ResolutionArbiterRefund, &arb)
}

// requireArbiter checks that arb is the claim's designated arbiter.
func (k *Keeper) requireArbiter(ctx *module.Context, c *pb.Claim, arb chain.Address) error {
	var mode string
	if err := k.params.Get(ctx, ParamArbiter, &mode); err != nil {
		return err
	}
	if mode == ArbiterRole {
		if err := k.identity.RequireMemberRole(ctx, arb, consortium.RoleArbiter); err != nil {
			return chain.Wrapf(ErrNotArbiter, "contested claims are ruled by members with the arbiter role: %v", err)
		}
		return nil
	}
	person := address(c.Person)
	pr, err := k.identity.Person(ctx, person)
	if err != nil {
		return err
	}
	if pr.Wallet != arb {
		return chain.Wrapf(ErrNotArbiter, "%s is ruled by %s's wallet member %s, not %s", ClaimID(c.Id), person, pr.Wallet, arb)
	}
	return nil
}

// contest sends an open claim to arbitration (the merchant contested, or
// its rule denied the claim).
func (k *Keeper) contest(ctx *module.Context, c *pb.Claim, evidenceHash []byte) error {
	var window int64
	if err := k.params.Get(ctx, ParamArbitrationWindow, &window); err != nil {
		return err
	}
	now := ctx.Time.Unix()
	s := st(ctx)
	s.Delete(deadlineKey(c.ResponseDeadline, c.Id))
	c.Status, c.MerchantEvidence, c.ContestedAt, c.ArbitrationDeadline = ClaimContested, evidenceHash, now, now+window
	s.Set(deadlineKey(c.ArbitrationDeadline, c.Id), []byte{})
	save(ctx, claimKey(c.Id), c)
	ctx.Emit("claim_contested",
		module.Attr{Key: "claim_id", Value: ClaimID(c.Id), Index: true},
		module.Attr{Key: "payment_id", Value: PaymentID(c.Payment), Index: true},
		module.Attr{Key: "arbitration_deadline", Value: fmt.Sprint(c.ArbitrationDeadline)})
	return nil
}

// decide resolves an open or contested claim: refund (positive) for the
// person, or deny (zero). A refund comes out of escrow while the payment is
// held; after the release, from the merchant's bond, then the pool, then
// the pool's queue. The payment's release, if it was waiting for the
// claim, happens at once when its window has passed.
func (k *Keeper) decide(ctx *module.Context, c *pb.Claim, p *pb.Payment, refund chain.Amount, how uint32, arbiter *chain.Address) error {
	s := st(ctx)
	switch c.Status {
	case ClaimOpen:
		s.Delete(deadlineKey(c.ResponseDeadline, c.Id))
	case ClaimContested:
		s.Delete(deadlineKey(c.ArbitrationDeadline, c.Id))
	default:
		return chain.Wrapf(chain.ErrInternal, "%s is already decided", ClaimID(c.Id))
	}
	now := ctx.Time.Unix()
	c.Resolution, c.ResolvedAt, c.ResolvedHeight = how, now, ctx.Height
	if arbiter != nil {
		c.Arbiter = arbiter[:]
	}
	p.OpenClaim = 0
	release := false // pay out what is left of a held payment now
	if refund.IsZero() {
		c.Status, c.Refund = ClaimDenied, "0"
		if p.Status == StatusDisputed {
			p.Status = StatusEscrowed
			release = now >= p.ReleaseAt
		}
		if err := k.reportDecided(ctx, c, false); err != nil {
			return err
		}
		ctx.Emit("claim_denied",
			module.Attr{Key: "claim_id", Value: ClaimID(c.Id), Index: true},
			module.Attr{Key: "payment_id", Value: PaymentID(p.Id), Index: true},
			module.Attr{Key: "resolution", Value: ResolutionName(how)})
		return k.finish(ctx, c, p, release)
	}

	total, err := optAmount(p.Refunded).Add(refund)
	if err != nil || total.Cmp(amount(p.Amount)) > 0 {
		return chain.Wrapf(chain.ErrInternal, "%s would refund %s of %s", PaymentID(p.Id), total, p.Amount)
	}
	full := total.Cmp(amount(p.Amount)) == 0
	p.Refunded, c.Refund = total.String(), refund.String()
	person := address(p.Person)
	coin := chain.Coin{Asset: p.Asset, Amount: refund}
	if held(p.Status) {
		if err := k.bank.Send(ctx, EscrowAccount, person, coin); err != nil {
			return fmt.Errorf("refund %s from escrow: %w", ClaimID(c.Id), err)
		}
		c.FromEscrow, c.Status, c.PaidAt = refund.String(), ClaimRefunded, now
		if full {
			p.Status = StatusRefunded
			s.Delete(releaseKey(p.ReleaseAt, p.Id))
			if err := k.countPayment(ctx, p); err != nil {
				return err
			}
		} else {
			p.Status = StatusEscrowed
			release = now >= p.ReleaseAt
		}
	} else {
		fromBond, err := k.drawBond(ctx, address(p.Merchant), person, coin)
		if err != nil {
			return err
		}
		rest, _ := refund.Sub(fromBond)
		fromPool, owed, err := k.poolPay(ctx, c, person, chain.Coin{Asset: p.Asset, Amount: rest})
		if err != nil {
			return err
		}
		c.FromBond, c.FromPool, c.Owed = fromBond.String(), fromPool.String(), owed.String()
		if owed.IsZero() {
			c.Status, c.PaidAt = ClaimRefunded, now
		} else {
			c.Status = ClaimQueued
		}
		p.Status = StatusPartiallyRefunded
		if full {
			p.Status = StatusRefunded
		}
	}
	// Consequences: an approved unauthorized claim, or a contested claim
	// decided for the person, is a claim the agent lost.
	c.Lost = c.Reason == uint32(pb.ClaimReason_CLAIM_REASON_UNAUTHORIZED) || c.ContestedAt != 0
	agentID := identity.AgentID(p.Agent)
	if err := k.trust.RecordRefund(ctx, agentID); err != nil {
		return err
	}
	if c.Lost {
		if err := k.trust.RecordClaimLost(ctx, agentID); err != nil {
			return err
		}
	}
	if err := k.reportDecided(ctx, c, true); err != nil {
		return err
	}
	ctx.Emit("claim_refunded",
		module.Attr{Key: "claim_id", Value: ClaimID(c.Id), Index: true},
		module.Attr{Key: "payment_id", Value: PaymentID(p.Id), Index: true},
		module.Attr{Key: "person", Value: person.String(), Index: true},
		module.Attr{Key: "resolution", Value: ResolutionName(how)},
		module.Attr{Key: "asset", Value: p.Asset},
		module.Attr{Key: "amount", Value: c.Refund},
		module.Attr{Key: "from_escrow", Value: c.FromEscrow},
		module.Attr{Key: "from_bond", Value: c.FromBond},
		module.Attr{Key: "from_pool", Value: c.FromPool},
		module.Attr{Key: "queued", Value: c.Owed})
	if err := k.finish(ctx, c, p, release); err != nil {
		return err
	}
	if c.Lost {
		return k.suspendIfRepeated(ctx, p.Agent)
	}
	return nil
}

// finish saves a decided claim and its payment, releasing what is left of
// the payment when asked.
func (k *Keeper) finish(ctx *module.Context, c *pb.Claim, p *pb.Payment, release bool) error {
	save(ctx, claimKey(c.Id), c)
	if release {
		return k.payOut(ctx, p, nil)
	}
	save(ctx, paymentKey(p.Id), p)
	return nil
}

// claimDeadlines decides for the person every claim whose response or
// arbitration deadline is at or before now: silence refunds the person.
func (k *Keeper) claimDeadlines(ctx *module.Context, now int64) error {
	var due []uint64
	st(ctx).Iterate([]byte("cd/"), func(key, _ []byte) bool {
		if int64(binary.BigEndian.Uint64(key[3:11])) > now {
			return false
		}
		due = append(due, binary.BigEndian.Uint64(key[11:19]))
		return true
	})
	for _, n := range due {
		c, err := k.Claim(ctx, n)
		if err != nil {
			return err
		}
		p, err := k.Payment(ctx, c.Payment)
		if err != nil {
			return err
		}
		how := ResolutionMerchantSilent
		if c.Status == ClaimContested {
			how = ResolutionArbiterSilent
		}
		if err := k.decide(ctx, c, p, amount(c.Amount), how, nil); err != nil {
			return err
		}
	}
	return nil
}

// ClaimView is a claim as the person, the merchant and the arbiter see it.
type ClaimView struct {
	ID          string        `json:"claim_id"`
	Status      string        `json:"status"`
	Reason      string        `json:"reason"`
	PaymentID   string        `json:"payment_id"`
	TokenID     string        `json:"token_id,omitempty"`
	MandateID   string        `json:"mandate_id"`
	AgentID     string        `json:"agent_id"`
	Person      chain.Address `json:"person"`
	Merchant    chain.Address `json:"merchant"`
	Asset       string        `json:"asset"`
	Amount      string        `json:"amount"`
	Evidence    string        `json:"evidence_hash,omitempty"`
	FiledBy     chain.Address `json:"filed_by"`
	FiledAt     int64         `json:"filed_at"`
	FiledHeight int64         `json:"filed_height"`
	// AfterRelease: filed after the payment left escrow, so a refund comes
	// from the merchant's bond, then the pool.
	AfterRelease     bool   `json:"after_release"`
	ResponseDeadline int64  `json:"response_deadline"`
	MerchantEvidence string `json:"merchant_evidence_hash,omitempty"`
	ContestedAt      int64  `json:"contested_at,omitempty"`
	// ArbitrationDeadline and the Arbiter who ruled (if one did).
	ArbitrationDeadline int64          `json:"arbitration_deadline,omitempty"`
	Arbiter             *chain.Address `json:"arbiter,omitempty"`
	// Deadline is the deadline of the step the claim waits for (open:
	// the response, contested: the ruling); silence then refunds.
	Deadline       int64  `json:"deadline,omitempty"`
	Resolution     string `json:"resolution,omitempty"`
	Refund         string `json:"refund,omitempty"`
	FromEscrow     string `json:"from_escrow,omitempty"`
	FromBond       string `json:"from_bond,omitempty"`
	FromPool       string `json:"from_pool,omitempty"`
	Owed           string `json:"owed,omitempty"`
	ResolvedAt     int64  `json:"resolved_at,omitempty"`
	ResolvedHeight int64  `json:"resolved_height,omitempty"`
	PaidAt         int64  `json:"paid_at,omitempty"`
	// Lost: the claim counts against the agent (trust rating, suspension).
	Lost      bool              `json:"lost"`
	BaseUnits map[string]string `json:"base_units"`
}

func (k *Keeper) claimView(ctx *module.Context, c *pb.Claim) ClaimView {
	v := ClaimView{ID: ClaimID(c.Id), Status: ClaimStatusName(c.Status), Reason: ClaimReasons[c.Reason], PaymentID: PaymentID(c.Payment),
		MandateID: delegation.MandateID(c.Mandate), AgentID: identity.AgentID(c.Agent), Person: address(c.Person), Merchant: address(c.Merchant),
		Asset: c.Asset, Amount: k.decimal(ctx, c.Asset, c.Amount), FiledBy: address(c.FiledBy), FiledAt: c.FiledAt, FiledHeight: c.FiledHeight,
		AfterRelease: c.AfterRelease, ResponseDeadline: c.ResponseDeadline, ContestedAt: c.ContestedAt,
		ArbitrationDeadline: c.ArbitrationDeadline, Arbiter: approver(c.Arbiter), Resolution: ResolutionName(c.Resolution),
		ResolvedAt: c.ResolvedAt, ResolvedHeight: c.ResolvedHeight, PaidAt: c.PaidAt, Lost: c.Lost,
		BaseUnits: map[string]string{"amount": c.Amount}}
	if c.Token != 0 {
		v.TokenID = TokenID(c.Token)
	}
	if len(c.EvidenceHash) > 0 {
		v.Evidence = hex.EncodeToString(c.EvidenceHash)
	}
	if len(c.MerchantEvidence) > 0 {
		v.MerchantEvidence = hex.EncodeToString(c.MerchantEvidence)
	}
	switch c.Status {
	case ClaimOpen:
		v.Deadline = c.ResponseDeadline
	case ClaimContested:
		v.Deadline = c.ArbitrationDeadline
	}
	for _, f := range []struct {
		name string
		val  string
		out  *string
	}{{"refund", c.Refund, &v.Refund}, {"from_escrow", c.FromEscrow, &v.FromEscrow}, {"from_bond", c.FromBond, &v.FromBond},
		{"from_pool", c.FromPool, &v.FromPool}, {"owed", c.Owed, &v.Owed}} {
		if f.val != "" {
			*f.out = k.decimal(ctx, c.Asset, f.val)
			v.BaseUnits[f.name] = f.val
		}
	}
	return v
}

// checkClaims: refunds only add up to at most a payment's amount and equal
// the sum of its claims' refunds; each status agrees with the refunded
// amount and the open claim; an open or contested claim is the payment's
// open claim and has its deadline entry (and nothing else has one); a
// refund is exactly what came from escrow, bond and pool plus what is owed.
func (k *Keeper) checkClaims(ctx *module.Context) error {
	type sums struct {
		refunds chain.Amount
		open    uint64
	}
	byPayment := map[uint64]*sums{}
	var err error
	live := 0
	st(ctx).Iterate([]byte("c/"), func(_, v []byte) bool {
		c := &pb.Claim{}
		if err = proto.Unmarshal(v, c); err != nil {
			return false
		}
		s := byPayment[c.Payment]
		if s == nil {
			s = &sums{}
			byPayment[c.Payment] = s
		}
		refund := optAmount(c.Refund)
		parts := chain.Amount{}
		for _, x := range []string{c.FromEscrow, c.FromBond, c.FromPool, c.Owed} {
			if parts, err = parts.Add(optAmount(x)); err != nil {
				return false
			}
		}
		switch c.Status {
		case ClaimOpen, ClaimContested:
			live++
			d := c.ResponseDeadline
			if c.Status == ClaimContested {
				d = c.ArbitrationDeadline
			}
			if st(ctx).Get(deadlineKey(d, c.Id)) == nil {
				err = fmt.Errorf("%s is %s without its deadline entry", ClaimID(c.Id), ClaimStatusName(c.Status))
			}
			if s.open != 0 {
				err = fmt.Errorf("%s has two open claims", PaymentID(c.Payment))
			}
			s.open = c.Id
			if !refund.IsZero() || !parts.IsZero() {
				err = fmt.Errorf("undecided %s has a refund", ClaimID(c.Id))
			}
		case ClaimRefunded, ClaimQueued:
			if refund.IsZero() || refund.Cmp(parts) != 0 {
				err = fmt.Errorf("%s refunds %s but its sources add up to %s", ClaimID(c.Id), refund, parts)
			}
			if (c.Status == ClaimQueued) == optAmount(c.Owed).IsZero() {
				err = fmt.Errorf("%s is %s with %s owed", ClaimID(c.Id), ClaimStatusName(c.Status), optAmount(c.Owed))
			}
		case ClaimDenied:
			if !refund.IsZero() || !parts.IsZero() {
				err = fmt.Errorf("denied %s has a refund", ClaimID(c.Id))
			}
		default:
			err = fmt.Errorf("%s has status %d", ClaimID(c.Id), c.Status)
		}
		if refund.Cmp(amount(c.Amount)) > 0 {
			err = fmt.Errorf("%s refunds %s of a claim of %s", ClaimID(c.Id), refund, c.Amount)
		}
		if err == nil {
			s.refunds, err = s.refunds.Add(refund)
		}
		for _, key := range [][]byte{claimIndexKey("cp/", be64(c.Payment), c.Id), claimIndexKey("cu/", c.Person, c.Id),
			claimIndexKey("cm/", c.Merchant, c.Id), claimIndexKey("ca/", be64(c.Agent), c.Id)} {
			if err == nil && st(ctx).Get(key) == nil {
				err = fmt.Errorf("%s is missing from an index", ClaimID(c.Id))
			}
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	deadlines := 0
	st(ctx).Iterate([]byte("cd/"), func(_, _ []byte) bool { deadlines++; return true })
	if deadlines != live {
		return fmt.Errorf("%d deadline entries for %d open or contested claims", deadlines, live)
	}
	st(ctx).Iterate([]byte("p/"), func(_, v []byte) bool {
		p := &pb.Payment{}
		if err = proto.Unmarshal(v, p); err != nil {
			return false
		}
		amt, refunded := amount(p.Amount), optAmount(p.Refunded)
		s := byPayment[p.Id]
		if s == nil {
			s = &sums{}
		}
		bad := func(format string, args ...any) bool {
			err = fmt.Errorf("%s (%s, amount %s, refunded %s): %s", PaymentID(p.Id), StatusName(p.Status), amt, refunded, fmt.Sprintf(format, args...))
			return false
		}
		switch {
		case refunded.Cmp(amt) > 0:
			return bad("refunded more than the amount")
		case refunded.Cmp(s.refunds) != 0:
			return bad("its claims refund %s", s.refunds)
		case p.OpenClaim != s.open:
			return bad("open claim %d, its claims say %d", p.OpenClaim, s.open)
		case p.Status == StatusDisputed && p.OpenClaim == 0:
			return bad("disputed without an open claim")
		case p.Status == StatusEscrowed && p.OpenClaim != 0:
			return bad("escrowed with an open claim")
		case p.Status == StatusReleased && !refunded.IsZero():
			return bad("released but refunded")
		case p.Status == StatusPartiallyRefunded && (refunded.IsZero() || refunded.Cmp(amt) == 0):
			return bad("partially refunded")
		case p.Status == StatusRefunded && refunded.Cmp(amt) != 0:
			return bad("refunded in part only")
		case held(p.Status) && refunded.Cmp(amt) == 0:
			return bad("held with nothing left")
		case StatusName(p.Status) == "":
			return bad("unknown status")
		}
		return true
	})
	return err
}
