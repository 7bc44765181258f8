package app

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/cometbft/cometbft/crypto/merkle"
)

// Hasher computes a block's app hash from the previous one and the block's
// write set (sorted by key). It is an interface so that a Merkle tree over
// the whole state, which can prove current values to light clients, can
// replace the chained hash without touching the rest of the app.
type Hasher interface {
	AppHash(prev []byte, height int64, writes []write) []byte
}

// chainedHasher commits to the history of writes: AppHash_h =
// SHA-256(AppHash_{h-1} || be64(h) || root_h), where root_h is the RFC 6962
// Merkle root of the block's writes, each leaf 0x00 || be32(len k) || k ||
// be32(len v) || v for a set and 0x01 || be32(len k) || k for a delete. Two
// nodes agree on it iff they agree on every write of every block, so any
// divergence shows at the height it happens. It costs O(w log w) per block
// in the number of writes w, independent of the size of the state. It does
// not prove the current value of a key; that is what a Merkle tree would add.
type chainedHasher struct{}

func (chainedHasher) AppHash(prev []byte, height int64, writes []write) []byte {
	leaves := make([][]byte, len(writes))
	for i, w := range writes {
		n := 1 + 4 + len(w.Key)
		if w.Value != nil {
			n += 4 + len(w.Value)
		}
		leaf := make([]byte, 0, n)
		if w.Value == nil {
			leaf = append(leaf, 1)
		} else {
			leaf = append(leaf, 0)
		}
		leaf = binary.BigEndian.AppendUint32(leaf, uint32(len(w.Key)))
		leaf = append(leaf, w.Key...)
		if w.Value != nil {
			leaf = binary.BigEndian.AppendUint32(leaf, uint32(len(w.Value)))
			leaf = append(leaf, w.Value...)
		}
		leaves[i] = leaf
	}
	root := merkle.HashFromByteSlices(leaves)
	h := sha256.New()
	h.Write(prev)
	var hb [8]byte
	binary.BigEndian.PutUint64(hb[:], uint64(height))
	h.Write(hb[:])
	h.Write(root)
	return h.Sum(nil)
}
