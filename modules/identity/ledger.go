package identity

import (
	"slices"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/module"
)

// LedgerIssuer is the "issuer" of suspensions the ledger makes by itself
// (the money-back guarantee suspends an agent after repeated lost claims,
// payments.suspend_after_lost_claims): an address no key signs for. Its
// suspension stands like any issuer's (the agent's key is blocked) until
// lifted by MsgReinstateAgent from a KYA issuer that vouches for the agent
// — the one that onboarded it, or one holding an unexpired attestation of
// it — once that issuer has no suspension of its own standing (a reinstate
// lifts the signer's own suspension first).
var LedgerIssuer = bank.ModuleAddress("identity/ledger-suspensions")

// SuspendByLedger suspends the agent in the ledger's name. It reports false,
// changing nothing, if the ledger's suspension already stands.
func (k *Keeper) SuspendByLedger(ctx *module.Context, agentID, reason string) (bool, error) {
	a, err := k.Agent(ctx, agentID)
	if err != nil {
		return false, err
	}
	i, found := slices.BinarySearchFunc(a.Suspensions, LedgerIssuer, func(x Suspension, t chain.Address) int { return compareAddr(x.Issuer, t) })
	if found {
		return false, nil
	}
	now := ctx.Time.Unix()
	a.Suspensions = slices.Insert(a.Suspensions, i, Suspension{Issuer: LedgerIssuer, Reason: reason, At: now, Height: ctx.Height})
	a.SuspensionCount++
	a.LastSuspendedAt = now
	setIndex(ctx, a.KeyAddress, kindAgent, statusBlocked, agentPayload(a.number()))
	ctx.Emit("agent_suspended",
		module.Attr{Key: "agent_id", Value: a.ID, Index: true},
		module.Attr{Key: "issuer", Value: LedgerIssuer.String(), Index: true},
		module.Attr{Key: "reason", Value: reason},
		module.Attr{Key: "by_ledger", Value: "true"})
	return true, k.saveAgent(ctx, a)
}

// vouchedBy reports whether issuer may lift the ledger's suspension of a: it
// onboarded a, or holds an unexpired attestation of it.
func (a *Agent) vouchedBy(issuer chain.Address, now int64) bool {
	if a.Issuer == issuer {
		return true
	}
	for _, at := range a.Attestations {
		if at.Issuer == issuer && at.ExpiresAt > now {
			return true
		}
	}
	return false
}

// ledgerSuspension returns the index of the ledger's standing suspension of
// a that issuer may lift, or an error saying why not.
func (a *Agent) ledgerSuspension(issuer chain.Address, now int64) (int, error) {
	i, found := slices.BinarySearchFunc(a.Suspensions, LedgerIssuer, func(x Suspension, t chain.Address) int { return compareAddr(x.Issuer, t) })
	if !found {
		return 0, chain.Wrapf(ErrNotSuspended, "%s has no standing suspension of %s", issuer, a.ID)
	}
	if !a.vouchedBy(issuer, now) {
		return 0, chain.Wrapf(ErrNotSuspended, "the ledger's suspension of %s is lifted by the issuer that onboarded it or one attesting it, not %s", a.ID, issuer)
	}
	return i, nil
}

// RequireMemberRole returns nil if the tx is signed by a, a consortium
// member holding role (for modules that have no consortium handle).
func (k *Keeper) RequireMemberRole(ctx *module.Context, a chain.Address, role string) error {
	return k.requireRole(ctx, a, role)
}
