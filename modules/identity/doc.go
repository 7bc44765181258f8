// Package identity is who is who on the ledger (Know Your Agent): people
// registered by their wallet, the device keys that act for them within
// scopes, agents onboarded and attested by KYA issuers, merchants
// registered by acquirers, and the wallet bindings between people and
// agents.
//
// Other modules ask it whether a signer may act for a person (the
// Authorizer it registers), whether an agent may act at all (RequireAgent),
// and who a merchant is. The trust module observes changes to agents
// through the Observer hook. See docs/identity.md.
package identity
