package loadgen

import (
	"bytes"
	"fmt"
	"sync"
)

// Source makes the txs of a load run. Its txs come in lanes: the txs of one
// lane must be admitted in order (an account's nonces), txs of different
// lanes are independent. The generator asks a lane for its next tx only
// after the node admitted the previous one.
type Source interface {
	// Name describes the load, e.g. "amp-transfer" or "kvstore".
	Name() string
	// Lanes is the number of lanes.
	Lanes() int
	// Next returns lane's next tx, or nil when the lane has no more.
	// Calls for one lane never overlap; calls for different lanes may.
	Next(lane int) []byte
	// TxSize is the (average) size of a tx in bytes.
	TxSize() int
}

// KVSource makes CometBFT kvstore txs "key=value" of a fixed size: the key
// is unique per tx and the value is padding.
type KVSource struct {
	lanes, size, perLane int
	mu                   sync.Mutex
	seq                  []int
}

// NewKVSource returns a source of kvstore txs of exactly size bytes in
// lanes lanes of at most perLane txs each (0: unbounded).
func NewKVSource(lanes, size, perLane int) (*KVSource, error) {
	if lanes < 1 {
		return nil, fmt.Errorf("need at least one lane")
	}
	if size < 24 {
		return nil, fmt.Errorf("kvstore tx size %d too small (min 24)", size)
	}
	return &KVSource{lanes: lanes, size: size, perLane: perLane, seq: make([]int, lanes)}, nil
}

func (*KVSource) Name() string  { return "kvstore" }
func (s *KVSource) Lanes() int  { return s.lanes }
func (s *KVSource) TxSize() int { return s.size }

// Next returns "k<lane>-<seq>=xxxx…".
func (s *KVSource) Next(lane int) []byte {
	s.mu.Lock()
	n := s.seq[lane]
	s.seq[lane]++
	s.mu.Unlock()
	if s.perLane > 0 && n >= s.perLane {
		return nil
	}
	var b bytes.Buffer
	b.Grow(s.size)
	fmt.Fprintf(&b, "k%d-%d=", lane, n)
	for b.Len() < s.size {
		b.WriteByte('x')
	}
	return b.Bytes()
}
