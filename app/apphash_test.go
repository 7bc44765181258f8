package app

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"testing"

	"github.com/cometbft/cometbft/crypto/merkle"
)

// TestWritesRootMatchesCometBFT: the allocation-free root equals CometBFT's
// merkle.HashFromByteSlices over the leaves the app-hash format defines,
// for every tree shape up to 300 leaves and a few large ones, with sets,
// empty values and deletes.
func TestWritesRootMatchesCometBFT(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	sizes := []int{1025, 4096, 28003}
	for n := 0; n <= 300; n++ {
		sizes = append(sizes, n)
	}
	for _, n := range sizes {
		ws := make([]write, n)
		leaves := make([][]byte, n)
		for i := range ws {
			ws[i].Key = fmt.Appendf(nil, "k/%d/%d", n, i)
			switch rng.Intn(3) {
			case 0: // delete
			case 1:
				ws[i].Value = []byte{}
			default:
				ws[i].Value = make([]byte, rng.Intn(40))
				rng.Read(ws[i].Value)
			}
			leaf := []byte{0}
			if ws[i].Value == nil {
				leaf = []byte{1}
			}
			leaf = binary.BigEndian.AppendUint32(leaf, uint32(len(ws[i].Key)))
			leaf = append(leaf, ws[i].Key...)
			if ws[i].Value != nil {
				leaf = binary.BigEndian.AppendUint32(leaf, uint32(len(ws[i].Value)))
				leaf = append(leaf, ws[i].Value...)
			}
			leaves[i] = leaf
		}
		got, want := writesRoot(ws), merkle.HashFromByteSlices(leaves)
		if !bytes.Equal(got[:], want) {
			t.Fatalf("%d writes: root %x, CometBFT's %x", n, got, want)
		}
	}
}
