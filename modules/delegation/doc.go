// Package delegation is mandates: what a person lets an agent spend, the
// Intent Guard checks that hold every payment to it, and the spend
// accounting a wallet shows.
//
// A mandate is IMMEDIATE (one fixed checkout) or AUTONOMOUS (a budget with
// constraints). It is drafted (inactive), activated by the person or a
// device of theirs with the right scope, and ends revoked, expired or
// finished; terminal states never revert. The payments module asks it to
// reserve (Reserve, at a payment token), consume (Consume, at capture) and
// release (Release, when a token expires) amounts; every rejection is one
// of the Intent Guard reasons registered here. See docs/mandates.md.
package delegation
