package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
)

// Attr is one attribute of an event.
type Attr struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Event is an event a tx emitted.
type Event struct {
	Type  string `json:"type"`
	Attrs []Attr `json:"attributes"`
}

// TxResult is a committed tx's outcome.
type TxResult struct {
	Hash   string `json:"txhash"`
	Height int64  `json:"height"`
	Index  uint32 `json:"index"`
	Code   uint32 `json:"code"`
	// Reason and Log are the ledger's reason name and message for a
	// non-zero code.
	Reason string  `json:"reason,omitempty"`
	Log    string  `json:"log,omitempty"`
	Events []Event `json:"events,omitempty"`
	// Tx is the raw tx, when the node returned it.
	Tx []byte `json:"-"`
}

// Err returns the result as *Error if the tx failed, else nil.
func (r *TxResult) Err() error {
	if r.Code == 0 {
		return nil
	}
	e := newError(r.Code, r.Reason, r.Log)
	e.TxHash, e.Height = r.Hash, r.Height
	return e
}

// Attr returns the value of the first attribute key of the first event of
// type typ.
func (r *TxResult) Attr(typ, key string) (string, bool) {
	for _, e := range r.Events {
		if e.Type != typ {
			continue
		}
		for _, a := range e.Attrs {
			if a.Key == key {
				return a.Value, true
			}
		}
	}
	return "", false
}

func resultFrom(rt *ctypes.ResultTx) *TxResult {
	return resultFromExec(rt.Hash.String(), rt.Height, rt.Index, rt.TxResult, rt.Tx)
}

func resultFromExec(hash string, height int64, index uint32, r abci.ExecTxResult, tx []byte) *TxResult {
	out := &TxResult{Hash: hash, Height: height, Index: index, Code: r.Code, Tx: tx}
	if r.Code != 0 {
		out.Reason = newError(r.Code, r.Info, r.Log).Reason
		out.Log = r.Log
	}
	for _, e := range r.Events {
		ev := Event{Type: e.Type, Attrs: []Attr{}}
		for _, a := range e.Attributes {
			ev.Attrs = append(ev.Attrs, Attr{Key: a.Key, Value: a.Value})
		}
		out.Events = append(out.Events, ev)
	}
	return out
}

// HashString returns a tx's hash as CometBFT prints it: upper-case hex.
func HashString(tx []byte) string {
	h := chain.TxHash(tx)
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

// ParseHash parses a tx hash in hex (either case, optional 0x).
func ParseHash(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, chain.Wrapf(chain.ErrInvalidRequest, "tx hash %q must be 64 hex digits", s)
	}
	return b, nil
}

// BuildTx signs msgs as a tx of the node's chain with the given nonce.
func (c *Client) BuildTx(ctx context.Context, key chain.PrivKey, nonce uint64, opts chain.TxOptions, msgs ...proto.Message) ([]byte, error) {
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := chain.BuildTx(chainID, nonce, opts, msgs, key)
	if err != nil {
		return nil, fmt.Errorf("build tx: %w", err)
	}
	return tx, nil
}

// Broadcast submits a tx with broadcast_tx_sync and returns its hash once
// the node's CheckTx accepts it; a CheckTx rejection is an *Error.
func (c *Client) Broadcast(ctx context.Context, tx []byte) (string, error) {
	hash := HashString(tx)
	res, err := c.rpc.BroadcastTxSync(ctx, tx)
	if err != nil {
		msg := err.Error()
		// CometBFT v1 reports a CheckTx rejection as an RPC error whose
		// message carries the code and log; turn it back into the code.
		if e := parseInvalidTx(msg); e != nil {
			e.TxHash = hash
			return hash, e
		}
		switch {
		case strings.Contains(msg, "tx already exists in cache"):
			return hash, fmt.Errorf("%w (tx %s)", ErrTxInCache, hash)
		case strings.Contains(msg, "mempool is full"):
			return hash, fmt.Errorf("%w: %s", ErrMempoolFull, msg)
		}
		return hash, nodeErr("broadcast", err)
	}
	if res.Code != 0 {
		e := newError(res.Code, "", res.Log)
		e.TxHash = hash
		return hash, e
	}
	return hash, nil
}

// Tx returns a committed tx's result; a tx the node does not know is
// chain.ErrNotFound.
func (c *Client) Tx(ctx context.Context, hash string) (*TxResult, error) {
	h, err := ParseHash(hash)
	if err != nil {
		return nil, err
	}
	rt, err := c.rpc.Tx(ctx, h, false)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return nil, &Error{Code: chain.ErrNotFound.Code, Reason: chain.ErrNotFound.Reason,
				Message: fmt.Sprintf("tx %s is not in a block (yet)", strings.ToUpper(hex.EncodeToString(h)))}
		}
		if indexDisabled(err) {
			return nil, fmt.Errorf("%w: this node keeps no tx index (tx_index = \"null\"); ask a node with tx_index = \"kv\"", ErrNoTxIndex)
		}
		return nil, nodeErr("tx", err)
	}
	return resultFrom(rt), nil
}

// WaitTx polls the node until the tx with hash is committed, and returns
// its result (whatever its code). It gives up with *TimeoutError when ctx
// is done. On a node without a tx index it looks for the tx in each block
// from the one before the latest on (waitInBlocks), so there it must be
// called soon after the broadcast, as BroadcastAndWait does.
func (c *Client) WaitTx(ctx context.Context, hash string) (*TxResult, error) {
	h, err := ParseHash(hash)
	if err != nil {
		return nil, err
	}
	t := time.NewTicker(c.pollEvery())
	defer t.Stop()
	for {
		rt, err := c.rpc.Tx(ctx, h, false)
		if err == nil {
			return resultFrom(rt), nil
		}
		if ctx.Err() != nil {
			return nil, &TimeoutError{TxHash: strings.ToUpper(hash)}
		}
		if indexDisabled(err) {
			return c.waitInBlocks(ctx, h)
		}
		if !strings.Contains(err.Error(), "not found") {
			return nil, nodeErr("tx", err)
		}
		select {
		case <-ctx.Done():
			return nil, &TimeoutError{TxHash: strings.ToUpper(hash)}
		case <-t.C:
		}
	}
}

func (c *Client) pollEvery() time.Duration {
	if c.PollInterval > 0 {
		return c.PollInterval
	}
	return DefaultPollInterval
}

// indexDisabled reports whether err is a node saying it keeps no tx
// index (tx_index = "null").
func indexDisabled(err error) bool {
	return err != nil && strings.Contains(err.Error(), "indexing is disabled")
}

// waitInBlocks finds a just-broadcast tx in the blocks committed from now
// on, for nodes that keep no tx index. The tx entered the node's mempool
// before WaitTx was called, so it can only be in a block committed since;
// the scan starts one block before the latest to cover a block committed
// between the broadcast and the first look.
func (c *Client) waitInBlocks(ctx context.Context, hash []byte) (*TxResult, error) {
	timeout := &TimeoutError{TxHash: strings.ToUpper(hex.EncodeToString(hash))}
	st, err := c.rpc.Status(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, timeout
		}
		return nil, nodeErr("status", err)
	}
	next := max(st.SyncInfo.LatestBlockHeight-1, 1)
	t := time.NewTicker(c.pollEvery())
	defer t.Stop()
	for {
		b, err := c.rpc.Block(ctx, &next)
		switch {
		case ctx.Err() != nil:
			return nil, timeout
		case err == nil && b.Block != nil:
			if r, err := c.findIn(ctx, b, hash); r != nil || err != nil {
				return r, err
			}
			next++
			continue
		case err != nil && !isFutureHeight(err):
			return nil, nodeErr("block", err)
		}
		select {
		case <-ctx.Done():
			return nil, timeout
		case <-t.C:
		}
	}
}

// findIn returns the result of the tx with hash if block b holds it. A
// node serves a block as soon as it is stored, before the block is
// executed, so its results may not be there yet ("could not find
// results"): findIn asks again until they are or ctx is done.
func (c *Client) findIn(ctx context.Context, b *ctypes.ResultBlock, hash []byte) (*TxResult, error) {
	for i, tx := range b.Block.Txs {
		if h := chain.TxHash(tx); string(h[:]) != string(hash) {
			continue
		}
		height := b.Block.Height
		t := time.NewTicker(c.pollEvery())
		defer t.Stop()
		for {
			br, err := c.rpc.BlockResults(ctx, &height)
			if err == nil {
				if i >= len(br.TxResults) {
					return nil, fmt.Errorf("block_results of height %d has %d results for %d txs", height, len(br.TxResults), len(b.Block.Txs))
				}
				return resultFromExec(strings.ToUpper(hex.EncodeToString(hash)), height, uint32(i), *br.TxResults[i], tx), nil
			}
			if ctx.Err() == nil && !strings.Contains(err.Error(), "could not find results for height") {
				return nil, nodeErr("block_results", err)
			}
			select {
			case <-ctx.Done():
				return nil, &TimeoutError{TxHash: strings.ToUpper(hex.EncodeToString(hash))}
			case <-t.C:
			}
		}
	}
	return nil, nil
}

// isFutureHeight reports whether err is the node saying a height is not
// committed yet.
func isFutureHeight(err error) bool {
	return strings.Contains(err.Error(), "must be less than or equal to the current blockchain height")
}

// BroadcastAndWait broadcasts a tx and waits for its commit. A rejection in
// CheckTx or in the block is an *Error carrying the tx hash (and height).
func (c *Client) BroadcastAndWait(ctx context.Context, tx []byte) (*TxResult, error) {
	hash, err := c.Broadcast(ctx, tx)
	if err != nil {
		return nil, err
	}
	res, err := c.WaitTx(ctx, hash)
	if err != nil {
		return nil, err
	}
	return res, res.Err()
}

// Submit signs msgs with key at the key's next nonce (from the node),
// broadcasts the tx and waits for its commit.
func (c *Client) Submit(ctx context.Context, key chain.PrivKey, opts chain.TxOptions, msgs ...proto.Message) (*TxResult, error) {
	return c.SubmitSigned(ctx, []chain.PrivKey{key}, opts, msgs...)
}

// SubmitSigned is Submit with co-signers: keys[0] signs as the tx signer
// (its nonce is used) and the others co-sign — a new device or agent key
// proving possession, a merchant consenting to its registration.
func (c *Client) SubmitSigned(ctx context.Context, keys []chain.PrivKey, opts chain.TxOptions, msgs ...proto.Message) (*TxResult, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("submit: no signing key")
	}
	nonce, err := c.Nonce(ctx, keys[0].PubKey().Address())
	if err != nil {
		return nil, err
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := chain.BuildTx(chainID, nonce, opts, msgs, keys...)
	if err != nil {
		return nil, fmt.Errorf("build tx: %w", err)
	}
	return c.BroadcastAndWait(ctx, tx)
}

// Send transfers coin from key's account to to.
func (c *Client) Send(ctx context.Context, key chain.PrivKey, to chain.Address, coin chain.Coin) (*TxResult, error) {
	from := key.PubKey().Address()
	return c.Submit(ctx, key, chain.TxOptions{}, &pb.MsgSend{From: from[:], To: to[:], Amount: bank.CoinProto(coin)})
}

// Mint creates coin in to's account; key must be an asset issuer's.
func (c *Client) Mint(ctx context.Context, key chain.PrivKey, to chain.Address, coin chain.Coin) (*TxResult, error) {
	issuer := key.PubKey().Address()
	return c.Submit(ctx, key, chain.TxOptions{}, &pb.MsgMint{Issuer: issuer[:], To: to[:], Amount: bank.CoinProto(coin)})
}

// Burn destroys coin from key's account; key must be an asset issuer's.
func (c *Client) Burn(ctx context.Context, key chain.PrivKey, coin chain.Coin) (*TxResult, error) {
	from := key.PubKey().Address()
	return c.Submit(ctx, key, chain.TxOptions{}, &pb.MsgBurn{From: from[:], Amount: bank.CoinProto(coin)})
}

// invalidTxRE matches mempool.ErrInvalidTx's message.
var invalidTxRE = regexp.MustCompile(`(?s)tx [0-9A-Fa-f]* is invalid: code=(\d+), data=[0-9A-Fa-f]*, log='(.*)', codespace='[^']*'`)

// parseInvalidTx recovers the CheckTx code and log from the error CometBFT
// returns for a rejected broadcast, or returns nil.
func parseInvalidTx(msg string) *Error {
	m := invalidTxRE.FindStringSubmatch(msg)
	if m == nil {
		return nil
	}
	code, err := strconv.ParseUint(m[1], 10, 32)
	if err != nil || code == 0 {
		return nil
	}
	return newError(uint32(code), "", m[2])
}

// IsTimeout reports whether err is a wait that ran out of time.
func IsTimeout(err error) bool { return errors.Is(err, ErrTimeout) }
