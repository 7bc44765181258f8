// Package consortium keeps the ledger's members — the wallet partners,
// acquirers and KYA issuers that run it — with their roles and, for
// validators, their consensus keys and voting power.
//
// Members come from genesis; proposals and votes that change them are added
// by the governance work (see docs/governance.md once it exists).
package consortium
