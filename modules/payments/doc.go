// Package payments moves an agent's payments: one-time payment tokens
// (authorize), their capture by the merchant into escrow, direct payments
// (pay = authorize + capture), and the release of escrow to the merchant
// after its protection window. Every check of the mandate is the delegation
// module's Intent Guard; this package adds the token's own checks (S3) and
// the money movement. The money-back issue adds claims on escrowed
// payments to the same state machine. See docs/payments.md.
package payments
