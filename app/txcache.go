package app

import "github.com/amp-ledger/amp/chain/gencache"

// txCache remembers txs that passed the stateless checks (decoding, chain
// id, signatures, message validation), by tx hash, so that a tx is decoded
// and verified once per node: CheckTx fills it, and recheck,
// PrepareProposal, ProcessProposal and FinalizeBlock reuse the result. The
// hash covers the body, keys and signatures, so a hit means the same bytes
// passed before.
type txCache = gencache.Cache[[32]byte, *checkedTx]

func newTxCache(max int) *txCache { return gencache.New[[32]byte, *checkedTx](max) }
