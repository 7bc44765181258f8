package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

// ExampleRulePath is the example payment rule the benchmark binds to its
// merchants, relative to the module root: AssemblyScript, about 2 KB,
// rejecting payments above a limit kept in the rule's state under "max"
// (5 USD when unset).
const ExampleRulePath = "contracts/examples/wasm/max-amount.wasm"

// ReadExampleRule reads the file at ExampleRulePath (or path, if not
// empty) from the working directory or, failing that, from the first
// parent directory holding a go.mod (the module root, when run with
// `go run` from inside the repository).
func ReadExampleRule(path string) ([]byte, error) {
	if path != "" {
		return os.ReadFile(path)
	}
	if b, err := os.ReadFile(ExampleRulePath); err == nil {
		return b, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return os.ReadFile(filepath.Join(dir, ExampleRulePath))
		}
		up := filepath.Dir(dir)
		if up == dir {
			return nil, fmt.Errorf("%s not found here or in a parent module root", ExampleRulePath)
		}
		dir = up
	}
}

// maxDeployBytes is how much rule code one deploy tx carries: the chain's
// tx limit less room for the envelope and the other messages' fields.
const maxDeployBytes = chain.MaxTxBytes - 4096

// RuleDeployTxs builds the txs that deploy code as a rule of each of
// merchants, signed by signer (the merchants' acquirer; or the merchant
// itself, when merchants is that one merchant) from nonce on: as many
// amp.rules.v1.MsgDeployRule messages per tx as fit under the chain's tx
// size limit, in merchants' order. The chain gives the rules ids in the
// same order; RuleIDs reads them from the results.
func RuleDeployTxs(chainID string, signer chain.PrivKey, nonce uint64, merchants []chain.Address, code []byte, label string) ([][]byte, error) {
	if len(code) == 0 || len(code) > maxDeployBytes {
		return nil, fmt.Errorf("rule code of %d bytes: want 1 to %d (larger code is uploaded in pieces first)", len(code), maxDeployBytes)
	}
	var txs [][]byte
	var msgs []proto.Message
	size := 0
	flush := func() error {
		if len(msgs) == 0 {
			return nil
		}
		tx, err := chain.BuildTx(chainID, nonce+uint64(len(txs)), chain.TxOptions{}, msgs, signer)
		if err != nil {
			return err
		}
		txs, msgs, size = append(txs, tx), nil, 0
		return nil
	}
	for _, m := range merchants {
		if size+len(code) > maxDeployBytes {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		msgs = append(msgs, &pb.MsgDeployRule{Merchant: m[:], Code: code, Label: label})
		size += len(code)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return txs, nil
}

// RuleBindTx builds one tx, signed by signer with nonce, binding each
// merchant's rule (merchant -> rule id) to hook, in merchants' order.
func RuleBindTx(chainID string, signer chain.PrivKey, nonce uint64, merchants []chain.Address, ids map[chain.Address]string, hook pb.Hook) ([]byte, error) {
	msgs := make([]proto.Message, 0, len(merchants))
	for _, m := range merchants {
		id, ok := ids[m]
		if !ok {
			return nil, fmt.Errorf("no rule deployed for merchant %s", m)
		}
		msgs = append(msgs, &pb.MsgBindRule{Merchant: m[:], RuleId: id, Hook: hook})
	}
	return chain.BuildTx(chainID, nonce, chain.TxOptions{}, msgs, signer)
}

// Event is an ABCI event as CometBFT's RPC reports it in /block_results
// (and as the app emits it).
type Event struct {
	Type       string `json:"type"`
	Attributes []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"attributes"`
}

// Attr returns the value of the event's first attribute key.
func (e Event) Attr(key string) string {
	for _, a := range e.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

// ExecResult is a committed tx's result with its events.
type ExecResult struct {
	Height int64  `json:"-"`
	Code   uint32 `json:"code"`
	Info   string `json:"info"`
	Log    string `json:"log"`
	Events []Event
}

// RuleIDs returns the rule each merchant got from deploy results: the
// rule_deployed events (merchant, rule_id).
func RuleIDs(results ...[]Event) map[chain.Address]string {
	out := map[chain.Address]string{}
	for _, evs := range results {
		for _, e := range evs {
			if e.Type != "rule_deployed" {
				continue
			}
			m, err := chain.ParseAddress(e.Attr("merchant"))
			if err != nil {
				continue
			}
			out[m] = e.Attr("rule_id")
		}
	}
	return out
}

// RuleEvaluations counts a tx's rule_evaluated events, and those that
// ended well (class ok) with an accept (decision 0).
func RuleEvaluations(evs []Event) (n, accepted int) {
	for _, e := range evs {
		if e.Type == "rule_evaluated" {
			n++
			if e.Attr("class") == "ok" && e.Attr("decision") == "0" {
				accepted++
			}
		}
	}
	return n, accepted
}

// blockResultsJSON is /block_results with the txs' events.
type blockResultsJSON struct {
	Height    Int64        `json:"height"`
	TxResults []ExecResult `json:"txs_results"`
}

// BlockExec fetches block h's txs and their results with events. It fails
// (with an RPC error) if the node has not executed h yet.
func (c *Client) BlockExec(ctx context.Context, h int64) ([][]byte, []ExecResult, error) {
	hs := strconv.FormatInt(h, 10)
	rs, err := c.Batch(ctx, []Request{
		{Method: "block_results", Params: map[string]any{"height": hs}},
		{Method: "block", Params: map[string]any{"height": hs}},
	})
	if err != nil {
		return nil, nil, err
	}
	for _, r := range rs {
		if r.Err != nil {
			return nil, nil, r.Err
		}
	}
	var br blockResultsJSON
	if err := json.Unmarshal(rs[0].Result, &br); err != nil {
		return nil, nil, fmt.Errorf("decode block_results: %w", err)
	}
	b, err := decodeBlock(rs[1].Result)
	if err != nil {
		return nil, nil, err
	}
	if len(br.TxResults) != len(b.Txs) {
		return nil, nil, fmt.Errorf("block %d has %d txs but %d results", h, len(b.Txs), len(br.TxResults))
	}
	for i := range br.TxResults {
		br.TxResults[i].Height = h
	}
	return b.Txs, br.TxResults, nil
}

// SubmitAndWait sends txs in one batch (in order) and waits up to timeout
// for every one to be committed, watching the blocks after the node's
// height at the call; it returns their results in txs' order. A tx that
// CheckTx refuses is an error.
func SubmitAndWait(ctx context.Context, c *Client, txs [][]byte, timeout time.Duration) ([]ExecResult, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	from := int64(st.SyncInfo.LatestBlockHeight) + 1
	want := map[[32]byte]int{}
	for i, tx := range txs {
		want[Hash(tx)] = i
	}
	brs, err := c.BroadcastSync(ctx, txs)
	if err != nil {
		return nil, err
	}
	for i, r := range brs {
		switch {
		case r.Err != nil:
			return nil, fmt.Errorf("tx %d refused: %v", i, r.Err)
		case r.Code != 0:
			return nil, fmt.Errorf("tx %d refused by CheckTx: code %d %s: %s", i, r.Code, r.Info, r.Log)
		}
	}
	out := make([]ExecResult, len(txs))
	left := len(txs)
	deadline := time.Now().Add(timeout)
	for h := from; left > 0; {
		bt, rs, err := c.BlockExec(ctx, h)
		if err != nil {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%d of %d txs not committed after %s (waiting for height %d: %v)", left, len(txs), timeout, h, err)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		for i, tx := range bt {
			if k, ok := want[Hash(tx)]; ok {
				out[k] = rs[i]
				delete(want, Hash(tx))
				left--
			}
		}
		h++
	}
	return out, nil
}

// RuleSetup is what SetupRules did.
type RuleSetup struct {
	// RuleIDs are the merchants' rules, bound to their payment hook.
	RuleIDs map[chain.Address]string
	// Txs is how many txs the deploys and the bind took; Height the block
	// that committed the bind.
	Txs    int
	Height int64
	// Took is the setup's wall time, submission to the last commit.
	Took time.Duration
}

// SetupRules deploys code as a rule of every merchant of lanes and binds
// it to the merchant's payment hook, on a running chain, with txs signed
// by signer (the merchants' acquirer: the member PayGenesis registered
// them with) from its current nonce; it waits for the deploys and then
// the bind to be committed with code 0 and checks the bindings with
// /rules/merchant queries.
func SetupRules(ctx context.Context, c *Client, chainID string, signer chain.PrivKey, merchants []chain.Address, code []byte) (*RuleSetup, error) {
	start := time.Now()
	nonces, err := NoncesOf(ctx, c, []chain.Address{signer.PubKey().Address()})
	if err != nil {
		return nil, fmt.Errorf("signer's nonce: %w", err)
	}
	nonce := nonces[0]
	deploys, err := RuleDeployTxs(chainID, signer, nonce, merchants, code, "ampbench")
	if err != nil {
		return nil, err
	}
	rs, err := SubmitAndWait(ctx, c, deploys, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	var evs [][]Event
	for i, r := range rs {
		if r.Code != 0 {
			return nil, fmt.Errorf("deploy tx %d: code %d %s: %s", i, r.Code, r.Info, r.Log)
		}
		evs = append(evs, r.Events)
	}
	ids := RuleIDs(evs...)
	bind, err := RuleBindTx(chainID, signer, nonce+uint64(len(deploys)), merchants, ids, pb.Hook_HOOK_PAYMENT)
	if err != nil {
		return nil, err
	}
	rs, err = SubmitAndWait(ctx, c, [][]byte{bind}, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("bind: %w", err)
	}
	if r := rs[0]; r.Code != 0 {
		return nil, fmt.Errorf("bind: code %d %s: %s", r.Code, r.Info, r.Log)
	}
	for _, m := range merchants {
		var v struct {
			Bindings []struct {
				Hook   string `json:"hook"`
				RuleID string `json:"rule_id"`
			} `json:"bindings"`
		}
		if err := c.QueryJSON(ctx, "/rules/merchant/"+m.String(), &v); err != nil {
			return nil, err
		}
		ok := false
		for _, b := range v.Bindings {
			ok = ok || b.Hook == "payment" && b.RuleID == ids[m]
		}
		if !ok {
			return nil, fmt.Errorf("merchant %s: %s is not bound to the payment hook after the bind (bindings %+v)", m, ids[m], v.Bindings)
		}
	}
	return &RuleSetup{RuleIDs: ids, Txs: len(deploys) + 1, Height: rs[0].Height, Took: time.Since(start)}, nil
}

// CheckRulesRan looks at the last blocks up to the node's height (at most
// back) for one holding payments and reports how many of its txs ran a
// rule that accepted them; it fails if none did.
func CheckRulesRan(ctx context.Context, c *Client, back int) (height int64, txs, accepted int, err error) {
	st, err := c.Status(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	top := int64(st.SyncInfo.LatestBlockHeight)
	for h := top; h > 0 && h > top-int64(back); h-- {
		bt, rs, err := c.BlockExec(ctx, h)
		if err != nil {
			return 0, 0, 0, err
		}
		n := 0
		for i, r := range rs {
			if _, ok := DecodePay(bt[i]); !ok || r.Code != 0 {
				continue
			}
			n++
			if _, acc := RuleEvaluations(r.Events); acc > 0 {
				accepted++
			}
		}
		if n == 0 {
			continue
		}
		if accepted == 0 {
			return h, n, 0, fmt.Errorf("block %d: none of its %d committed payments ran a rule", h, n)
		}
		return h, n, accepted, nil
	}
	return 0, 0, 0, fmt.Errorf("no committed payment in the last %d blocks", back)
}
