package loadgen

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
)

// DefaultAmount is what each transfer moves: 10^12 base units of USD,
// i.e. $0.000001.
const DefaultAmount = "1000000000000"

// Account is a load account: a key derived from a seed, so that the
// genesis that funds the accounts and the run that spends from them agree
// without sharing key files.
type Account struct {
	Key  chain.PrivKey
	Addr chain.Address
}

// DeriveAccounts returns n ed25519 accounts whose seeds are
// SHA-256("amp-loadgen/" + seed + "/" + i).
func DeriveAccounts(seed string, n int) []Account {
	out := make([]Account, n)
	for i := range out {
		s := sha256.Sum256([]byte(fmt.Sprintf("amp-loadgen/%s/%d", seed, i)))
		k, err := chain.PrivKeyFromBytes(chain.KeyEd25519, s[:])
		if err != nil {
			panic(err) // 32 bytes is always a valid ed25519 seed
		}
		out[i] = Account{Key: k, Addr: k.PubKey().Address()}
	}
	return out
}

// FundGenesis adds a bank balance of coins (e.g. "1000USD") for each
// account to the app_state of the genesis file at path, leaving every other
// field as it is. It is how a bench funds its accounts without a single tx.
func FundGenesis(path string, accts []Account, coins string) error {
	addrs := make([]chain.Address, len(accts))
	for i, a := range accts {
		addrs[i] = a.Addr
	}
	return EditAppState(path, func(_ map[string]json.RawMessage, state map[string]json.RawMessage) error {
		return addBalances(state, addrs, coins)
	})
}

// EditAppState reads the genesis file at path, lets edit change the
// document's top-level fields (doc) and its app_state (state, one raw
// section per module), and writes the file back; fields edit leaves alone
// keep their values.
func EditAppState(path string, edit func(doc, state map[string]json.RawMessage) error) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("genesis %s: %w", path, err)
	}
	var state map[string]json.RawMessage
	if err := json.Unmarshal(doc["app_state"], &state); err != nil {
		return fmt.Errorf("genesis app_state: %w", err)
	}
	if state == nil {
		state = map[string]json.RawMessage{}
	}
	if err := edit(doc, state); err != nil {
		return err
	}
	if doc["app_state"], err = json.Marshal(state); err != nil {
		return err
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// addBalances appends a balance of coins for each address to the bank
// section of state.
func addBalances(state map[string]json.RawMessage, addrs []chain.Address, coins string) error {
	var bk map[string]json.RawMessage
	if b, ok := state[bank.Name]; ok {
		if err := json.Unmarshal(b, &bk); err != nil {
			return fmt.Errorf("genesis bank state: %w", err)
		}
	}
	if bk == nil {
		bk = map[string]json.RawMessage{}
	}
	var bals []json.RawMessage
	if b, ok := bk["balances"]; ok && string(b) != "null" {
		if err := json.Unmarshal(b, &bals); err != nil {
			return fmt.Errorf("genesis bank balances: %w", err)
		}
	}
	for _, a := range addrs {
		b, err := json.Marshal(bank.GenesisBalance{Address: a, Coins: []string{coins}})
		if err != nil {
			return err
		}
		bals = append(bals, b)
	}
	var err error
	if bk["balances"], err = json.Marshal(bals); err != nil {
		return err
	}
	state[bank.Name], err = json.Marshal(bk)
	return err
}

// GenesisBalances reads the bank balances of a genesis file, as base units
// of asset per address.
func GenesisBalances(path string) (map[chain.Address]chain.Amount, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		AppState struct {
			Bank bank.Genesis `json:"bank"`
		} `json:"app_state"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("genesis %s: %w", path, err)
	}
	assets := map[string]chain.Asset{}
	for _, a := range doc.AppState.Bank.Assets {
		assets[a.Symbol] = a
	}
	lookup := func(s string) (chain.Asset, bool) { a, ok := assets[s]; return a, ok }
	out := map[chain.Address]chain.Amount{}
	for _, b := range doc.AppState.Bank.Balances {
		for _, c := range b.Coins {
			coin, err := chain.ParseCoin(c, lookup)
			if err != nil {
				return nil, fmt.Errorf("genesis balance of %s: %w", b.Address, err)
			}
			if coin.Asset != chain.DefaultAsset {
				continue
			}
			if out[b.Address], err = out[b.Address].Add(coin.Amount); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// NonceOf asks the node for an account's next nonce (/app/nonce/<addr>).
func NonceOf(ctx context.Context, c *Client, a chain.Address) (uint64, error) {
	var v struct {
		Nonce uint64 `json:"nonce"`
	}
	if err := c.QueryJSON(ctx, "/app/nonce/"+a.String(), &v); err != nil {
		return 0, err
	}
	return v.Nonce, nil
}

// Nonces asks the node for the next nonce of every account, in batches.
func Nonces(ctx context.Context, c *Client, accts []Account) ([]uint64, error) {
	addrs := make([]chain.Address, len(accts))
	for i, a := range accts {
		addrs[i] = a.Addr
	}
	return NoncesOf(ctx, c, addrs)
}

// NoncesOf asks the node for the next nonce of every address, in batches.
func NoncesOf(ctx context.Context, c *Client, addrs []chain.Address) ([]uint64, error) {
	out := make([]uint64, len(addrs))
	const batch = 50
	for i := 0; i < len(addrs); i += batch {
		end := min(i+batch, len(addrs))
		reqs := make([]Request, 0, end-i)
		for _, a := range addrs[i:end] {
			reqs = append(reqs, Request{Method: "abci_query", Params: map[string]any{"path": "/app/nonce/" + a.String()}})
		}
		rs, err := c.Batch(ctx, reqs)
		if err != nil {
			return nil, err
		}
		for j, r := range rs {
			if r.Err != nil {
				return nil, r.Err
			}
			var q struct {
				Response QueryResponse `json:"response"`
			}
			if err := json.Unmarshal(r.Result, &q); err != nil {
				return nil, err
			}
			if q.Response.Code != 0 {
				return nil, fmt.Errorf("nonce of %s: %s", addrs[i+j], q.Response.Log)
			}
			var v struct {
				Nonce uint64 `json:"nonce"`
			}
			if err := json.Unmarshal(q.Response.Value, &v); err != nil {
				return nil, err
			}
			out[i+j] = v.Nonce
		}
	}
	return out, nil
}

// Transfer describes one signed transfer.
type Transfer struct {
	From, To chain.Address
	Nonce    uint64
	Amount   string // base units of USD
}

// DecodeTransfer reads a single-MsgSend tx back into a Transfer; ok is false
// for any other tx.
func DecodeTransfer(raw []byte) (Transfer, bool) {
	tx, err := chain.DecodeTx(raw)
	if err != nil || len(tx.Body.Msgs) != 1 || tx.Body.Msgs[0].Type != chain.MsgType(&pb.MsgSend{}) {
		return Transfer{}, false
	}
	var m pb.MsgSend
	if err := chain.UnmarshalCanonical(tx.Body.Msgs[0].Value, &m); err != nil || m.Amount == nil || m.Amount.Asset != chain.DefaultAsset {
		return Transfer{}, false
	}
	from, err1 := chain.AddressFromBytes(m.From)
	to, err2 := chain.AddressFromBytes(m.To)
	if err1 != nil || err2 != nil {
		return Transfer{}, false
	}
	return Transfer{From: from, To: to, Nonce: tx.Body.Nonce, Amount: m.Amount.Amount}, true
}

// TransferSource is a Source of signed bank transfers: one lane per
// account, sequential nonces from the account's next nonce, each tx moving
// Amount to another account of the set. Txs are signed up front (in
// parallel) so that signing does not compete with the node for CPU while it
// is measured.
type TransferSource struct {
	txs  [][][]byte // per account
	pos  []int
	size int
}

// TransferOptions configure NewTransferSource.
type TransferOptions struct {
	ChainID  string
	Accounts []Account
	// StartNonces are the accounts' next nonces (nil: all zero).
	StartNonces []uint64
	// PerAccount is how many txs each account signs.
	PerAccount int
	// Amount in base units of USD; empty means DefaultAmount.
	Amount string
}

// NewTransferSource signs o.PerAccount transfers for every account.
func NewTransferSource(o TransferOptions) (*TransferSource, error) {
	n := len(o.Accounts)
	if n < 2 {
		return nil, fmt.Errorf("transfers need at least two accounts")
	}
	if o.PerAccount < 1 {
		return nil, fmt.Errorf("per-account tx count must be positive")
	}
	amount := o.Amount
	if amount == "" {
		amount = DefaultAmount
	}
	txs, size, err := signLanes(n, o.PerAccount, func(i, j int) ([]byte, error) {
		var start uint64
		if o.StartNonces != nil {
			start = o.StartNonces[i]
		}
		to := o.Accounts[(i+1+j%(n-1))%n].Addr
		from := o.Accounts[i].Addr
		msg := &pb.MsgSend{From: from[:], To: to[:], Amount: &pb.Coin{Asset: chain.DefaultAsset, Amount: amount}}
		return chain.BuildTx(o.ChainID, start+uint64(j), chain.TxOptions{}, []proto.Message{msg}, o.Accounts[i].Key)
	})
	if err != nil {
		return nil, err
	}
	return &TransferSource{txs: txs, pos: make([]int, n), size: size}, nil
}

// signLanes builds per txs for each of n lanes with build(lane, j), on
// every core, and returns them with their mean size.
func signLanes(n, per int, build func(lane, j int) ([]byte, error)) ([][][]byte, int, error) {
	out := make([][][]byte, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		total    int64
	)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				txs := make([][]byte, per)
				var sum int64
				for j := range txs {
					tx, err := build(i, j)
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						return
					}
					txs[j] = tx
					sum += int64(len(tx))
				}
				mu.Lock()
				out[i] = txs
				total += sum
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, 0, firstErr
	}
	if n*per == 0 {
		return out, 0, nil
	}
	return out, int((total + int64(n*per)/2) / int64(n*per)), nil
}

func (*TransferSource) Name() string  { return "amp-transfer" }
func (s *TransferSource) Lanes() int  { return len(s.txs) }
func (s *TransferSource) TxSize() int { return s.size }

// Reset starts every account from its first tx again (for a new chain).
func (s *TransferSource) Reset() {
	for i := range s.pos {
		s.pos[i] = 0
	}
}

// Next returns the account's next signed transfer.
func (s *TransferSource) Next(lane int) []byte {
	p := s.pos[lane]
	if p >= len(s.txs[lane]) {
		return nil
	}
	s.pos[lane]++
	return s.txs[lane][p]
}

// SampleTransferSize signs one transfer on chainID with a nonce typical of
// a run and returns its size: what a kvstore tx is padded to.
func SampleTransferSize(chainID string) (int, error) {
	a := DeriveAccounts("size-sample", 2)
	src, err := NewTransferSource(TransferOptions{ChainID: chainID, Accounts: a, StartNonces: []uint64{1000, 1000}, PerAccount: 1})
	if err != nil {
		return 0, err
	}
	return src.TxSize(), nil
}

// FundingSource is a Source of one lane: txs from a funder, each paying
// coins to up to chain.MaxMsgs of the accounts, so that a running chain's
// funded key (e.g. the dev chain's issuer) can fund load accounts.
type FundingSource struct {
	txs  [][]byte
	pos  int
	size int
}

// NewFundingSource signs the funding txs from funder, whose next nonce is
// nonce, paying amount (base units of USD) to every account.
func NewFundingSource(chainID string, funder chain.PrivKey, nonce uint64, accts []Account, amount chain.Amount) (*FundingSource, error) {
	if amount.IsZero() {
		return nil, fmt.Errorf("funding amount must be positive")
	}
	from := funder.PubKey().Address()
	s := &FundingSource{}
	total := 0
	for i := 0; i < len(accts); i += chain.MaxMsgs {
		var msgs []proto.Message
		for _, a := range accts[i:min(i+chain.MaxMsgs, len(accts))] {
			msgs = append(msgs, &pb.MsgSend{From: from[:], To: a.Addr[:], Amount: &pb.Coin{Asset: chain.DefaultAsset, Amount: amount.String()}})
		}
		tx, err := chain.BuildTx(chainID, nonce, chain.TxOptions{}, msgs, funder)
		if err != nil {
			return nil, err
		}
		nonce++
		s.txs = append(s.txs, tx)
		total += len(tx)
	}
	if len(s.txs) > 0 {
		s.size = total / len(s.txs)
	}
	return s, nil
}

func (*FundingSource) Name() string  { return "funding" }
func (*FundingSource) Lanes() int    { return 1 }
func (s *FundingSource) TxSize() int { return s.size }

// Next returns the next funding tx.
func (s *FundingSource) Next(int) []byte {
	if s.pos >= len(s.txs) {
		return nil
	}
	s.pos++
	return s.txs[s.pos-1]
}
