package loadgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Client is a lean CometBFT JSON-RPC client over HTTP with keep-alive and
// batch requests. It decodes only the fields the load generator and the
// crash test need, so that the client spends as little of the machine's CPU
// as possible while the node is measured.
type Client struct {
	url  string
	http *http.Client
	id   atomic.Int64
}

// RPCError is a JSON-RPC error answer (e.g. "mempool is full").
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data"`
}

func (e *RPCError) Error() string {
	if e.Data != "" {
		return fmt.Sprintf("rpc error %d: %s: %s", e.Code, e.Message, e.Data)
	}
	return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message)
}

// NewClient returns a client for the node at addr ("http://127.0.0.1:26657",
// "tcp://127.0.0.1:26657" or "127.0.0.1:26657"). Only loopback addresses
// are accepted: the load generator is a local benchmarking tool.
func NewClient(addr string) (*Client, error) {
	addr = strings.TrimSpace(addr)
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("rpc address %q: %w", addr, err)
	}
	if u.Scheme == "tcp" {
		u.Scheme = "http"
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("rpc address %q: only http is supported", addr)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("rpc address %q: the load generator only targets this machine (127.0.0.1)", addr)
	}
	tr := &http.Transport{
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &Client{url: u.Scheme + "://" + u.Host + "/", http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}, nil
}

// URL returns the node's RPC URL.
func (c *Client) URL() string { return c.url }

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Request is one call of a batch.
type Request struct {
	Method string
	Params map[string]any
}

type rpcRequest struct {
	JSONRPC string         `json:"jsonrpc"`
	ID      int64          `json:"id"`
	Method  string         `json:"method"`
	Params  map[string]any `json:"params"`
}

// Response is one answer of a batch: Result is the raw result, or Err.
type Response struct {
	Result json.RawMessage
	Err    error
}

type rpcResponse struct {
	ID     int64           `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *RPCError       `json:"error"`
}

// Batch sends reqs in one HTTP request; CometBFT runs them in order. The
// answers are in the order of reqs. The node limits a batch to its
// rpc.max_request_batch_size.
func (c *Client) Batch(ctx context.Context, reqs []Request) ([]Response, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	first := c.id.Add(int64(len(reqs))) - int64(len(reqs)) + 1
	body := make([]rpcRequest, len(reqs))
	for i, r := range reqs {
		p := r.Params
		if p == nil {
			p = map[string]any{}
		}
		body[i] = rpcRequest{JSONRPC: "2.0", ID: first + int64(i), Method: r.Method, Params: p}
	}
	var raw []byte
	var err error
	if len(reqs) == 1 {
		raw, err = c.post(ctx, body[0])
	} else {
		raw, err = c.post(ctx, body)
	}
	if err != nil {
		return nil, err
	}
	var answers []rpcResponse
	if len(raw) > 0 && raw[0] == '[' {
		err = json.Unmarshal(raw, &answers)
	} else {
		var one rpcResponse
		err = json.Unmarshal(raw, &one)
		answers = []rpcResponse{one}
	}
	if err != nil {
		return nil, fmt.Errorf("decode rpc answer: %w", err)
	}
	out := make([]Response, len(reqs))
	for i := range out {
		out[i].Err = errors.New("no answer in batch")
	}
	for _, a := range answers {
		i := a.ID - first
		if i < 0 || i >= int64(len(reqs)) {
			if len(answers) == 1 && a.Error != nil {
				// The whole batch was refused (e.g. too large).
				return nil, a.Error
			}
			continue
		}
		if a.Error != nil {
			out[i] = Response{Err: a.Error}
		} else {
			out[i] = Response{Result: a.Result}
		}
	}
	return out, nil
}

func (c *Client) post(ctx context.Context, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("rpc: empty answer (http %d)", resp.StatusCode)
	}
	return raw, nil
}

// Call makes one request and decodes its result into out (if not nil).
func (c *Client) Call(ctx context.Context, method string, params map[string]any, out any) error {
	rs, err := c.Batch(ctx, []Request{{Method: method, Params: params}})
	if err != nil {
		return err
	}
	if rs[0].Err != nil {
		return rs[0].Err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(rs[0].Result, out); err != nil {
		return fmt.Errorf("decode %s result: %w", method, err)
	}
	return nil
}

// Int64 is an int64 that CometBFT's JSON writes as a string.
type Int64 int64

// UnmarshalJSON accepts "5" and 5.
func (i *Int64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*i = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*i = Int64(v)
	return nil
}

// HexBytes is CometBFT's upper-case hex in JSON.
type HexBytes []byte

// UnmarshalJSON decodes hex.
func (h *HexBytes) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = v
	return nil
}

func (h HexBytes) String() string { return strings.ToUpper(hex.EncodeToString(h)) }

// Status is the part of /status we use.
type Status struct {
	NodeInfo struct {
		Network string `json:"network"`
		Version string `json:"version"`
	} `json:"node_info"`
	SyncInfo struct {
		LatestBlockHeight Int64     `json:"latest_block_height"`
		LatestAppHash     HexBytes  `json:"latest_app_hash"`
		LatestBlockTime   time.Time `json:"latest_block_time"`
		CatchingUp        bool      `json:"catching_up"`
	} `json:"sync_info"`
}

// Status calls /status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	if err := c.Call(ctx, "status", nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// ABCIInfo is the part of /abci_info we use.
type ABCIInfo struct {
	LastBlockHeight  Int64  `json:"last_block_height"`
	LastBlockAppHash []byte `json:"last_block_app_hash"` // base64 in JSON
}

// ABCIInfo calls /abci_info.
func (c *Client) ABCIInfo(ctx context.Context) (*ABCIInfo, error) {
	var r struct {
		Response ABCIInfo `json:"response"`
	}
	if err := c.Call(ctx, "abci_info", nil, &r); err != nil {
		return nil, err
	}
	return &r.Response, nil
}

// Block is the part of /block we use.
type Block struct {
	Height  int64
	Hash    HexBytes // block id hash
	Time    time.Time
	AppHash HexBytes // app hash after the previous block
	// LastResultsHash commits to the previous block's tx results.
	LastResultsHash HexBytes
	Txs             [][]byte
}

type blockJSON struct {
	BlockID struct {
		Hash HexBytes `json:"hash"`
	} `json:"block_id"`
	Block struct {
		Header struct {
			Height  Int64     `json:"height"`
			Time    time.Time `json:"time"`
			AppHash HexBytes  `json:"app_hash"`
			Results HexBytes  `json:"last_results_hash"`
		} `json:"header"`
		Data struct {
			Txs []string `json:"txs"`
		} `json:"data"`
	} `json:"block"`
}

func decodeBlock(raw json.RawMessage) (*Block, error) {
	var bj blockJSON
	if err := json.Unmarshal(raw, &bj); err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	b := &Block{
		Height:          int64(bj.Block.Header.Height),
		Hash:            bj.BlockID.Hash,
		Time:            bj.Block.Header.Time,
		AppHash:         bj.Block.Header.AppHash,
		LastResultsHash: bj.Block.Header.Results,
		Txs:             make([][]byte, len(bj.Block.Data.Txs)),
	}
	for i, s := range bj.Block.Data.Txs {
		tx, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("decode block tx %d: %w", i, err)
		}
		b.Txs[i] = tx
	}
	return b, nil
}

// Block calls /block?height=h.
func (c *Client) Block(ctx context.Context, h int64) (*Block, error) {
	var raw json.RawMessage
	if err := c.Call(ctx, "block", map[string]any{"height": strconv.FormatInt(h, 10)}, &raw); err != nil {
		return nil, err
	}
	return decodeBlock(raw)
}

// TxResult is one tx's result in a block.
type TxResult struct {
	Code      uint32 `json:"code"`
	Codespace string `json:"codespace"`
	Info      string `json:"info"`
	Log       string `json:"log"`
	GasWanted Int64  `json:"gas_wanted"`
	GasUsed   Int64  `json:"gas_used"`
}

// BlockResults is the part of /block_results we use.
type BlockResults struct {
	Height    Int64      `json:"height"`
	TxResults []TxResult `json:"txs_results"`
	AppHash   []byte     `json:"app_hash"` // base64 in JSON
}

// BlockResults calls /block_results?height=h.
func (c *Client) BlockResults(ctx context.Context, h int64) (*BlockResults, error) {
	var r BlockResults
	if err := c.Call(ctx, "block_results", map[string]any{"height": strconv.FormatInt(h, 10)}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// CommittedBlock is a block with its tx results, as the node reports it
// once the block is executed.
type CommittedBlock struct {
	Block
	Results []TxResult
	// ResultAppHash is the app hash the block's execution produced (it
	// appears in the next block's header).
	ResultAppHash []byte
	// At is when the load generator saw the app commit the block (set by
	// Run's OnBlock; zero from Client.CommittedBlock).
	At time.Time
}

// CommittedBlock fetches /block_results and /block of height h in one
// batch. It fails (with an RPC error) if the node has not executed h yet.
func (c *Client) CommittedBlock(ctx context.Context, h int64) (*CommittedBlock, error) {
	hs := strconv.FormatInt(h, 10)
	rs, err := c.Batch(ctx, []Request{
		{Method: "block_results", Params: map[string]any{"height": hs}},
		{Method: "block", Params: map[string]any{"height": hs}},
	})
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.Err != nil {
			return nil, r.Err
		}
	}
	var br BlockResults
	if err := json.Unmarshal(rs[0].Result, &br); err != nil {
		return nil, fmt.Errorf("decode block_results: %w", err)
	}
	b, err := decodeBlock(rs[1].Result)
	if err != nil {
		return nil, err
	}
	if len(br.TxResults) != len(b.Txs) {
		return nil, fmt.Errorf("block %d has %d txs but %d results", h, len(b.Txs), len(br.TxResults))
	}
	return &CommittedBlock{Block: *b, Results: br.TxResults, ResultAppHash: br.AppHash}, nil
}

// QueryResponse is the part of an ABCI query answer we use.
type QueryResponse struct {
	Code   uint32 `json:"code"`
	Log    string `json:"log"`
	Info   string `json:"info"`
	Value  []byte `json:"value"` // base64 in JSON
	Height Int64  `json:"height"`
}

// ABCIQuery calls /abci_query with a path and no data.
func (c *Client) ABCIQuery(ctx context.Context, path string) (*QueryResponse, error) {
	var r struct {
		Response QueryResponse `json:"response"`
	}
	if err := c.Call(ctx, "abci_query", map[string]any{"path": path}, &r); err != nil {
		return nil, err
	}
	return &r.Response, nil
}

// QueryJSON runs an ABCI query and decodes its JSON value into out; a
// non-zero code is an error.
func (c *Client) QueryJSON(ctx context.Context, path string, out any) error {
	r, err := c.ABCIQuery(ctx, path)
	if err != nil {
		return err
	}
	if r.Code != 0 {
		return fmt.Errorf("query %s: code %d (%s): %s", path, r.Code, r.Info, r.Log)
	}
	return json.Unmarshal(r.Value, out)
}

// TxInfo is the part of /tx we use.
type TxInfo struct {
	Hash     HexBytes `json:"hash"`
	Height   Int64    `json:"height"`
	Index    uint32   `json:"index"`
	TxResult TxResult `json:"tx_result"`
	Tx       []byte   `json:"tx"` // base64 in JSON
}

// Tx calls /tx?hash=… .
func (c *Client) Tx(ctx context.Context, hash []byte) (*TxInfo, error) {
	var r TxInfo
	if err := c.Call(ctx, "tx", map[string]any{"hash": base64.StdEncoding.EncodeToString(hash)}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// BroadcastResult is the answer to broadcast_tx_sync: the CheckTx code, or
// Err when the node refused the tx before CheckTx (mempool full, already in
// cache, …).
type BroadcastResult struct {
	Code uint32
	Log  string
	Info string
	Err  error
}

// BroadcastSync sends txs with broadcast_tx_sync in one batch (in order)
// and returns each one's CheckTx answer.
func (c *Client) BroadcastSync(ctx context.Context, txs [][]byte) ([]BroadcastResult, error) {
	reqs := make([]Request, len(txs))
	for i, tx := range txs {
		reqs[i] = Request{Method: "broadcast_tx_sync", Params: map[string]any{"tx": base64.StdEncoding.EncodeToString(tx)}}
	}
	rs, err := c.Batch(ctx, reqs)
	if err != nil {
		return nil, err
	}
	out := make([]BroadcastResult, len(txs))
	for i, r := range rs {
		if r.Err != nil {
			out[i].Err = r.Err
			continue
		}
		var br struct {
			Code uint32 `json:"code"`
			Log  string `json:"log"`
			Info string `json:"info"`
		}
		if err := json.Unmarshal(r.Result, &br); err != nil {
			out[i].Err = err
			continue
		}
		out[i] = BroadcastResult{Code: br.Code, Log: br.Log, Info: br.Info}
	}
	return out, nil
}

// WaitReady waits until the node answers /status and has produced at least
// minHeight blocks, or ctx ends.
func (c *Client) WaitReady(ctx context.Context, minHeight int64) (*Status, error) {
	var last error
	for {
		s, err := c.Status(ctx)
		if err == nil && int64(s.SyncInfo.LatestBlockHeight) >= minHeight {
			return s, nil
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("height %d, waiting for %d", s.SyncInfo.LatestBlockHeight, minHeight)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("node at %s not ready: %v", c.url, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Hash is the tx hash CometBFT indexes a tx by: SHA-256 of its bytes.
func Hash(tx []byte) [32]byte { return sha256.Sum256(tx) }
