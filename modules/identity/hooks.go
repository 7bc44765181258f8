package identity

import (
	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/module"
)

// AgentFacts are the identity facts about an agent that its trust rating
// reads. Times are Unix seconds of block time.
type AgentFacts struct {
	AgentID     string
	OnboardedAt int64
	// Attestations holds one entry per issuer, in issuer address order,
	// including expired ones (the rating compares ExpiresAt with the block
	// time itself).
	Attestations []AttestationFact
	// Suspended is true while any issuer's suspension stands.
	Suspended bool
	// Suspensions counts every suspension ever made; LastSuspendedAt is the
	// time of the latest (0 if none).
	Suspensions     uint32
	LastSuspendedAt int64
	// KeyRotations counts key rotations; LastRotatedAt is the latest (0 if none).
	KeyRotations  uint32
	LastRotatedAt int64
}

// AttestationFact is one issuer's current attestation of an agent.
type AttestationFact struct {
	Issuer    chain.Address
	Level     uint32
	ExpiresAt int64
}

// Observer is told, within the same tx, whenever an agent's facts change:
// onboarding, attestation, suspension, reinstatement, key rotation. An error
// fails the tx.
type Observer interface {
	AgentChanged(ctx *module.Context, f AgentFacts) error
}
