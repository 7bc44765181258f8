// Package module is the small contract between the state machine (app/)
// and the domain modules (bank, consortium, and later identity, delegation,
// payments …): a key-value Store, the Context a message handler runs in,
// typed message Routes, and the optional parts a module may have — genesis,
// queries, end-of-block work and invariants.
//
// It deliberately knows nothing of CometBFT or badger, so a module is plain
// Go that can be tested against an in-memory Store.
package module
