package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/delegation"
)

// RevokeOptions configure RunRevoke.
type RevokeOptions struct {
	ChainID string
	// Lanes whose mandates are revoked: indices into the PayLanes the
	// source was signed from.
	Lanes []int
	// After is how long after the start of the run the revokes are sent,
	// all in one batch.
	After time.Duration
}

// RevokedMandate is what happened around one revoke.
type RevokedMandate struct {
	Mandate string
	Lane    int
	// Sent is when the revoke's batch was sent; SentHeight the last height
	// the app had committed then.
	Sent       time.Time
	SentHeight int64
	// Refused is CheckTx's refusal of the revoke, if any.
	Refused string
	// Height is the block that included the revoke (H); Committed when the
	// generator saw the app commit it; Code and Reason its result.
	Height    int64
	Committed time.Time
	Code      uint32
	Reason    string
	// Payments under the mandate, by the block they were in: code 0 in
	// blocks before H (fine), code 0 in H or later (must not happen),
	// refused as mandate_revoked in H or later, and other failures.
	OKBefore, Slipped, Rejected int
	OtherFailed                 map[string]int
	// Status is the mandate's status queried after the run.
	Status string
}

// Latency is submit (batch sent) to commit (block seen committed).
func (m *RevokedMandate) Latency() time.Duration {
	if m.Height == 0 {
		return 0
	}
	return m.Committed.Sub(m.Sent)
}

// RevokeResult is what RunRevoke measured.
type RevokeResult struct {
	Mandates []RevokedMandate
	// Sums over Mandates.
	OKBefore, Slipped, Rejected, OtherFailed int
	// Load is the run of payments the revokes were sent into.
	Load *Result
}

// Included reports whether every revoke was committed with code 0.
func (r *RevokeResult) Included() bool {
	for _, m := range r.Mandates {
		if m.Height == 0 || m.Code != 0 {
			return false
		}
	}
	return len(r.Mandates) > 0
}

// LatencyRange returns the smallest and largest submit-to-commit latency
// of the revokes that were committed.
func (r *RevokeResult) LatencyRange() (lo, hi time.Duration) {
	first := true
	for _, m := range r.Mandates {
		if m.Height == 0 {
			continue
		}
		l := m.Latency()
		if first || l < lo {
			lo = l
		}
		if first || l > hi {
			hi = l
		}
		first = false
	}
	return lo, hi
}

// Heights returns the distinct heights that included revokes, and the
// smallest height committed when they were sent.
func (r *RevokeResult) Heights() (included []int64, sentAt int64) {
	seen := map[int64]bool{}
	for i, m := range r.Mandates {
		if i == 0 || m.SentHeight < sentAt {
			sentAt = m.SentHeight
		}
		if m.Height != 0 && !seen[m.Height] {
			seen[m.Height] = true
			included = append(included, m.Height)
		}
	}
	sort.Slice(included, func(i, j int) bool { return included[i] < included[j] })
	return included, sentAt
}

// Summary is a human description of the result.
func (r *RevokeResult) Summary() string {
	var b strings.Builder
	hs, sentAt := r.Heights()
	lo, hi := r.LatencyRange()
	fmt.Fprintf(&b, "revoke under load: %d mandates revoked by their persons while their agents kept paying; sent when the app had committed height %d, included at height(s) %v\n",
		len(r.Mandates), sentAt, hs)
	fmt.Fprintf(&b, "  submit -> commit of the revoke: %s", lo.Round(time.Millisecond))
	if hi != lo {
		fmt.Fprintf(&b, " to %s", hi.Round(time.Millisecond))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "  payments under those mandates: committed before the revoke's block %d, refused as mandate_revoked in or after it %d, other failures %d\n",
		r.OKBefore, r.Rejected, r.OtherFailed)
	fmt.Fprintf(&b, "  payments that slipped through after the revoke's block: %d\n", r.Slipped)
	for _, m := range r.Mandates {
		switch {
		case m.Refused != "":
			fmt.Fprintf(&b, "  %s: revoke refused by CheckTx: %s\n", m.Mandate, m.Refused)
		case m.Height == 0:
			fmt.Fprintf(&b, "  %s: revoke not seen in a block\n", m.Mandate)
		case m.Code != 0:
			fmt.Fprintf(&b, "  %s: revoke failed at height %d: code %d %s\n", m.Mandate, m.Height, m.Code, m.Reason)
		}
		if m.Status != "" && m.Status != delegation.StatusName(delegation.StatusRevoked) {
			fmt.Fprintf(&b, "  %s: status %s after the run, want revoked\n", m.Mandate, m.Status)
		}
		for k, v := range m.OtherFailed {
			fmt.Fprintf(&b, "  %s: %d payments failed with [%s]\n", m.Mandate, v, k)
		}
	}
	return b.String()
}

// payOutcome is one committed payment under a revoked mandate.
type payOutcome struct {
	height int64
	code   uint32
	reason string
}

// revokeTally follows the blocks of a revoke run: where each revoke
// landed, and every payment under a revoked mandate with its block and
// result. It is fed by Run's OnBlock.
type revokeTally struct {
	mu       sync.Mutex
	revokeTx map[[32]byte]int // tx hash -> index in res
	payTx    map[[32]byte]int // tx hash -> index in res
	res      []RevokedMandate
	outcomes [][]payOutcome
}

func newRevokeTally(mandates []RevokedMandate) *revokeTally {
	return &revokeTally{revokeTx: map[[32]byte]int{}, payTx: map[[32]byte]int{}, res: mandates, outcomes: make([][]payOutcome, len(mandates))}
}

func (t *revokeTally) onBlock(cb *CommittedBlock) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, tx := range cb.Txs {
		h := Hash(tx)
		var r TxResult
		if i < len(cb.Results) {
			r = cb.Results[i]
		}
		if k, ok := t.revokeTx[h]; ok {
			m := &t.res[k]
			m.Height, m.Committed, m.Code, m.Reason = cb.Height, cb.At, r.Code, resultReason(r)
			continue
		}
		if k, ok := t.payTx[h]; ok {
			t.outcomes[k] = append(t.outcomes[k], payOutcome{height: cb.Height, code: r.Code, reason: resultReason(r)})
		}
	}
}

func resultReason(r TxResult) string {
	if r.Info != "" {
		return r.Info
	}
	return firstWord(r.Log)
}

// result classifies each mandate's payments against its revoke's height
// (a revoke not seen committed counts every payment as before it).
func (t *revokeTally) result() *RevokeResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := &RevokeResult{Mandates: append([]RevokedMandate(nil), t.res...)}
	revoked := delegation.ErrMandateRevoked.Code
	for k := range out.Mandates {
		m := &out.Mandates[k]
		m.OKBefore, m.Slipped, m.Rejected, m.OtherFailed = 0, 0, 0, map[string]int{}
		effective := m.Height != 0 && m.Code == 0
		for _, o := range t.outcomes[k] {
			after := effective && o.height >= m.Height
			switch {
			case o.code == 0 && after:
				m.Slipped++
			case o.code == 0:
				m.OKBefore++
			case after && o.code == revoked:
				m.Rejected++
			default:
				m.OtherFailed[fmt.Sprintf("code %d %s at height %d", o.code, o.reason, o.height)]++
			}
		}
		out.OKBefore += m.OKBefore
		out.Slipped += m.Slipped
		out.Rejected += m.Rejected
		for _, v := range m.OtherFailed {
			out.OtherFailed += v
		}
	}
	return out
}

// RunRevoke runs src's payments against the node like Run and, o.After
// into the run, sends one MsgRevokeMandate per lane in o.Lanes, signed by
// the lane's person, in one batch. The lanes go on submitting payments
// under their revoked mandates until the run ends. It records the block
// (H) that included each revoke and when, and every payment under a
// revoked mandate with its block and result code, and afterwards asks
// the node for each mandate's status. lanes must be those src was signed
// from.
func RunRevoke(ctx context.Context, c *Client, src *PaySource, lanes *PayLanes, cfg Config, o RevokeOptions) (*RevokeResult, error) {
	if len(o.Lanes) == 0 {
		return nil, fmt.Errorf("no mandates to revoke")
	}
	persons := make([]chain.Address, len(o.Lanes))
	ms := make([]RevokedMandate, len(o.Lanes))
	for k, li := range o.Lanes {
		if li < 0 || li >= len(lanes.Lanes) || li >= src.Lanes() {
			return nil, fmt.Errorf("revoke lane %d: there are %d lanes", li, len(lanes.Lanes))
		}
		persons[k] = lanes.Lanes[li].Person.PubKey().Address()
		ms[k] = RevokedMandate{Mandate: lanes.Lanes[li].Mandate, Lane: li}
	}
	nonces, err := NoncesOf(ctx, c, persons)
	if err != nil {
		return nil, fmt.Errorf("persons' nonces: %w", err)
	}
	t := newRevokeTally(ms)
	revokes := make([][]byte, len(o.Lanes))
	for k, li := range o.Lanes {
		ln := lanes.Lanes[li]
		tx, err := chain.BuildTx(o.ChainID, nonces[k], chain.TxOptions{}, []proto.Message{&pb.MsgRevokeMandate{MandateId: ln.Mandate}}, ln.Person)
		if err != nil {
			return nil, err
		}
		revokes[k] = tx
		t.revokeTx[Hash(tx)] = k
		for _, ptx := range src.LaneTxs(li) {
			t.payTx[Hash(ptx)] = k
		}
	}
	prev := cfg.OnBlock
	cfg.OnBlock = func(cb *CommittedBlock) {
		t.onBlock(cb)
		if prev != nil {
			prev(cb)
		}
	}

	sent := make(chan error, 1)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-time.After(o.After):
		case <-runCtx.Done():
			sent <- runCtx.Err()
			return
		}
		var h int64
		if info, err := c.ABCIInfo(runCtx); err == nil {
			h = int64(info.LastBlockHeight)
		}
		t.mu.Lock()
		now := time.Now()
		for k := range t.res {
			t.res[k].Sent, t.res[k].SentHeight = now, h
		}
		t.mu.Unlock()
		rs, err := c.BroadcastSync(runCtx, revokes)
		if err != nil {
			sent <- fmt.Errorf("send revokes: %w", err)
			return
		}
		t.mu.Lock()
		for k, r := range rs {
			switch {
			case r.Err != nil:
				t.res[k].Refused = shortErr(r.Err)
			case r.Code != 0:
				t.res[k].Refused = fmt.Sprintf("code %d %s", r.Code, r.Info)
			}
		}
		t.mu.Unlock()
		sent <- nil
	}()
	load, err := Run(runCtx, c, src, cfg)
	cancel()
	sendErr := <-sent
	if err != nil {
		return nil, err
	}
	if sendErr != nil {
		if errors.Is(sendErr, context.Canceled) && ctx.Err() == nil {
			return nil, fmt.Errorf("the run ended before the revokes were due (%s after its start)", o.After)
		}
		return nil, sendErr
	}
	res := t.result()
	res.Load = load
	for k := range res.Mandates {
		qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
		if st, err := MandateStatus(qctx, c, res.Mandates[k].Mandate); err == nil {
			res.Mandates[k].Status = st
		} else {
			res.Mandates[k].Status = "unknown: " + err.Error()
		}
		qcancel()
	}
	return res, nil
}
