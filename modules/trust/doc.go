// Package trust is the Agent Trust Rating: a score from 0 to 1000 for every
// agent, computed from on-chain facts only, with integer arithmetic only,
// and the autonomy tier it puts the agent in, whose caps (autonomous
// mandates, largest payment, daily total, channels) come from the chain
// parameter trust.tiers.
//
// Facts arrive two ways. The identity module pushes an agent's attestations,
// suspensions and key rotations through AgentChanged (the identity.Observer
// hook); payments, claims and channels report evidence through the Record…
// methods. Each stores the fact in the agent's one binary record and marks
// the agent touched; at the end of the block every touched agent is
// rescored, and a height-indexed queue rescores each agent every
// trust.rescore_interval_blocks blocks so age grows and penalties decay.
//
// The factor table, the gates and the reasons for their weights are in
// docs/trust.md. Two properties drive it: a new agent cannot buy a high
// tier cheaply (tiers have gates on attestation level, age and settled
// payments besides the score, and positive history counts only up to the
// top of the highest tier whose gates pass), and a misbehaving agent drops
// at least one tier by the end of the block that brings the evidence
// (penalties outweigh history, and a lost claim or lost channel dispute
// starts a probation one tier below the tier held).
package trust
