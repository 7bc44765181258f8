// Package bank holds the ledger's money: the registry of assets, every
// account's balances, issuance (mint and burn by members with the
// asset_issuer role) and transfers.
//
// Its invariant is conservation: for every asset, the balances of all
// accounts — people, merchants and the module accounts that hold escrow,
// bonds, the guarantee pool and channel deposits — add up to the supply,
// which changes only by mint and burn.
package bank
