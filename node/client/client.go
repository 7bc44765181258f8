package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/libs/bytes"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/node/keyring"
)

// DefaultNode is the RPC address of a local node (the dev chain's).
const DefaultNode = "http://127.0.0.1:26657"

// DefaultPollInterval is how often WaitTx asks the node for a tx.
const DefaultPollInterval = 100 * time.Millisecond

// RPC is the part of CometBFT's RPC client this package uses. Both the HTTP
// client (rpc/client/http) and the in-process one (rpc/client/local)
// implement it.
type RPC interface {
	Status(ctx context.Context) (*ctypes.ResultStatus, error)
	ABCIQuery(ctx context.Context, path string, data bytes.HexBytes) (*ctypes.ResultABCIQuery, error)
	BroadcastTxSync(ctx context.Context, tx types.Tx) (*ctypes.ResultBroadcastTx, error)
	Tx(ctx context.Context, hash []byte, prove bool) (*ctypes.ResultTx, error)
	// Block and BlockResults let WaitTx find a tx on a node that keeps no
	// tx index (tx_index = "null", the validator profile).
	Block(ctx context.Context, height *int64) (*ctypes.ResultBlock, error)
	BlockResults(ctx context.Context, height *int64) (*ctypes.ResultBlockResults, error)
}

// Client is a connection to one node. It is safe for concurrent use.
type Client struct {
	rpc RPC
	// Keyring, if set, lets key names stand for addresses.
	Keyring *keyring.Keyring
	// PollInterval is how often WaitTx polls; zero means DefaultPollInterval.
	PollInterval time.Duration

	mu      sync.Mutex
	chainID string
	assets  map[string]chain.Asset
}

// NormalizeNodeURL accepts "http://host:port", "https://…", "tcp://host:port"
// or a bare "host:port" and returns a URL the RPC client accepts.
func NormalizeNodeURL(node string) (string, error) {
	node = strings.TrimSpace(node)
	if node == "" {
		return "", fmt.Errorf("empty node address")
	}
	if !strings.Contains(node, "://") {
		node = "http://" + node
	}
	u, err := url.Parse(node)
	if err != nil {
		return "", fmt.Errorf("node address %q: %w", node, err)
	}
	switch u.Scheme {
	case "http", "https", "tcp", "unix":
	default:
		return "", fmt.Errorf("node address %q: scheme must be http, https, tcp or unix", node)
	}
	if u.Scheme != "unix" && u.Host == "" {
		return "", fmt.Errorf("node address %q has no host", node)
	}
	return node, nil
}

// New connects to the node's RPC at node (see NormalizeNodeURL); kr may be
// nil. No request is made until a method is called.
func New(node string, kr *keyring.Keyring) (*Client, error) {
	u, err := NormalizeNodeURL(node)
	if err != nil {
		return nil, err
	}
	h, err := rpchttp.New(u)
	if err != nil {
		return nil, fmt.Errorf("rpc client for %s: %w", u, err)
	}
	return &Client{rpc: h, Keyring: kr}, nil
}

// NewWithRPC wraps an existing RPC client, such as an in-process one.
func NewWithRPC(rpc RPC, kr *keyring.Keyring) *Client {
	return &Client{rpc: rpc, Keyring: kr}
}

// RPC returns the underlying RPC client.
func (c *Client) RPC() RPC { return c.rpc }

func nodeErr(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrNode, op, err)
}

// Status is a summary of the node's /status.
type Status struct {
	ChainID           string    `json:"chain_id"`
	Moniker           string    `json:"moniker"`
	NodeID            string    `json:"node_id"`
	Version           string    `json:"version"`
	LatestBlockHeight int64     `json:"latest_block_height"`
	LatestBlockHash   string    `json:"latest_block_hash"`
	LatestBlockTime   time.Time `json:"latest_block_time"`
	LatestAppHash     string    `json:"latest_app_hash"`
	CatchingUp        bool      `json:"catching_up"`
	ValidatorAddress  string    `json:"validator_address"`
	VotingPower       int64     `json:"voting_power"`
	ListenAddr        string    `json:"p2p_listen_addr"`
}

// Status returns the node's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return nil, nodeErr("status", err)
	}
	c.mu.Lock()
	c.chainID = st.NodeInfo.Network
	c.mu.Unlock()
	return &Status{
		ChainID:           st.NodeInfo.Network,
		Moniker:           st.NodeInfo.Moniker,
		NodeID:            string(st.NodeInfo.DefaultNodeID),
		Version:           st.NodeInfo.Version,
		LatestBlockHeight: st.SyncInfo.LatestBlockHeight,
		LatestBlockHash:   st.SyncInfo.LatestBlockHash.String(),
		LatestBlockTime:   st.SyncInfo.LatestBlockTime,
		LatestAppHash:     st.SyncInfo.LatestAppHash.String(),
		CatchingUp:        st.SyncInfo.CatchingUp,
		ValidatorAddress:  st.ValidatorInfo.Address.String(),
		VotingPower:       st.ValidatorInfo.VotingPower,
		ListenAddr:        st.NodeInfo.ListenAddr,
	}, nil
}

// ChainID returns the node's chain id (fetched once, then cached).
func (c *Client) ChainID(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.chainID
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	st, err := c.Status(ctx)
	if err != nil {
		return "", err
	}
	return st.ChainID, nil
}

// Query runs an ABCI query and decodes its JSON answer into out (which may
// be nil). A non-zero code comes back as *Error.
func (c *Client) Query(ctx context.Context, path string, out any) error {
	res, err := c.rpc.ABCIQuery(ctx, path, nil)
	if err != nil {
		return nodeErr("query "+path, err)
	}
	r := res.Response
	if r.Code != 0 {
		return newError(r.Code, r.Info, r.Log)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.Value, out); err != nil {
		return fmt.Errorf("%w: query %s: decode answer: %w", ErrNode, path, err)
	}
	return nil
}

// Resolve turns a key name (from the keyring) or a bech32 address into an
// address. A string that is neither is a chain.ErrInvalidAddress.
func (c *Client) Resolve(s string) (chain.Address, error) {
	return c.Keyring.Resolve(s)
}

// Key returns a signing key from the keyring by name or by address.
func (c *Client) Key(nameOrAddr string) (*keyring.Key, error) {
	if c.Keyring == nil {
		return nil, fmt.Errorf("%w: cannot sign as %q: no keyring", keyring.ErrNotFound, nameOrAddr)
	}
	if a, err := chain.ParseAddress(nameOrAddr); err == nil {
		return c.Keyring.ByAddress(a)
	}
	return c.Keyring.Get(nameOrAddr)
}

// NonceInfo is the answer to /app/nonce/<address>.
type NonceInfo struct {
	Address chain.Address `json:"address"`
	Nonce   uint64        `json:"nonce"`
}

// Nonce returns the next nonce of the key with address a, counting txs in
// the node's mempool.
func (c *Client) Nonce(ctx context.Context, a chain.Address) (uint64, error) {
	var n NonceInfo
	if err := c.Query(ctx, "/app/nonce/"+a.String(), &n); err != nil {
		return 0, err
	}
	return n.Nonce, nil
}

// Assets returns the registered assets, and refreshes the cache ParseCoin
// uses.
func (c *Client) Assets(ctx context.Context) ([]chain.Asset, error) {
	var as []chain.Asset
	if err := c.Query(ctx, "/bank/assets", &as); err != nil {
		return nil, err
	}
	m := make(map[string]chain.Asset, len(as))
	for _, a := range as {
		m[a.Symbol] = a
	}
	c.mu.Lock()
	c.assets = m
	c.mu.Unlock()
	return as, nil
}

// Asset returns a registered asset by symbol (case-insensitive), from the
// cache or the node; an unknown one is chain.ErrUnknownAsset.
func (c *Client) Asset(ctx context.Context, symbol string) (chain.Asset, error) {
	symbol = strings.ToUpper(strings.TrimSpace(symbol))
	c.mu.Lock()
	a, ok := c.assets[symbol]
	cached := c.assets != nil
	c.mu.Unlock()
	if ok {
		return a, nil
	}
	if !cached {
		if _, err := c.Assets(ctx); err != nil {
			return chain.Asset{}, err
		}
		c.mu.Lock()
		a, ok = c.assets[symbol]
		c.mu.Unlock()
		if ok {
			return a, nil
		}
	}
	return chain.Asset{}, chain.Wrapf(chain.ErrUnknownAsset, "asset %q is not registered on this chain", symbol)
}

// ParseCoin parses a human amount such as "12.5USD", "0.000001usd" or "5"
// (USD) into base units, with the asset's decimals from the node. Zero,
// negative or malformed amounts and more decimals than the asset has are
// errors carrying the chain's codes.
func (c *Client) ParseCoin(ctx context.Context, s string) (chain.Coin, error) {
	num, sym := chain.SplitCoin(s)
	if num == "" {
		return chain.Coin{}, chain.Wrapf(chain.ErrInvalidAmount, "amount %q has no number", s)
	}
	if strings.HasPrefix(num, "-") {
		return chain.Coin{}, chain.Wrapf(chain.ErrInvalidAmount, "amount %q is negative", s)
	}
	a, err := c.Asset(ctx, sym)
	if err != nil {
		return chain.Coin{}, err
	}
	amt, err := chain.ParseDecimal(num, a.Decimals)
	if err != nil {
		return chain.Coin{}, err
	}
	if amt.IsZero() {
		return chain.Coin{}, chain.Wrapf(chain.ErrInvalidAmount, "amount %q must be positive", s)
	}
	return chain.Coin{Asset: a.Symbol, Amount: amt}, nil
}

// FormatCoin prints base units as an exact decimal with the asset, e.g.
// "12.5USD"; unknown assets print in base units.
func (c *Client) FormatCoin(ctx context.Context, coin chain.Coin) string {
	a, err := c.Asset(ctx, coin.Asset)
	if err != nil {
		return coin.Amount.String() + coin.Asset
	}
	return chain.FormatCoin(coin, a.Decimals)
}

// Balance returns an account's balances: every registered asset, or only
// asset if it is not empty.
func (c *Client) Balance(ctx context.Context, a chain.Address, asset string) (*bank.AccountBalances, error) {
	path := "/bank/balance/" + a.String()
	if asset != "" {
		path += "/" + strings.ToUpper(asset)
	}
	var out bank.AccountBalances
	if err := c.Query(ctx, path, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BalanceOf returns an account's balance of one asset in base units.
func (c *Client) BalanceOf(ctx context.Context, a chain.Address, asset string) (chain.Amount, error) {
	b, err := c.Balance(ctx, a, asset)
	if err != nil {
		return chain.Amount{}, err
	}
	for _, v := range b.Balances {
		if v.Asset == strings.ToUpper(asset) {
			amt, err := chain.ParseBaseUnits(v.BaseUnits)
			if err != nil {
				return chain.Amount{}, fmt.Errorf("%w: balance of %s: %w", ErrNode, a, err)
			}
			return amt, nil
		}
	}
	return chain.Amount{}, nil
}

// Supply returns the supply of an asset.
func (c *Client) Supply(ctx context.Context, asset string) (*bank.BalanceView, error) {
	var out bank.BalanceView
	if err := c.Query(ctx, "/bank/supply/"+strings.ToUpper(asset), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Members returns the consortium's members.
func (c *Client) Members(ctx context.Context) ([]consortium.Member, error) {
	var out []consortium.Member
	if err := c.Query(ctx, "/consortium/members", &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Member returns one consortium member.
func (c *Client) Member(ctx context.Context, a chain.Address) (*consortium.Member, error) {
	var out consortium.Member
	if err := c.Query(ctx, "/consortium/member/"+a.String(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ErrorInfo is one entry of the ledger's error registry.
type ErrorInfo struct {
	Code   uint32 `json:"code"`
	Reason string `json:"reason"`
	Doc    string `json:"doc"`
}

// ChainErrors returns the node's error registry (/app/errors).
func (c *Client) ChainErrors(ctx context.Context) ([]ErrorInfo, error) {
	var out []ErrorInfo
	if err := c.Query(ctx, "/app/errors", &out); err != nil {
		return nil, err
	}
	return out, nil
}

// LocalErrors returns the error registry compiled into this program.
func LocalErrors() []ErrorInfo {
	var out []ErrorInfo
	for _, e := range chain.Errors() {
		out = append(out, ErrorInfo{Code: e.Code, Reason: e.Reason, Doc: e.Doc})
	}
	return out
}
