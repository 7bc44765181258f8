package loadgen

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/delegation"
	"github.com/amp-ledger/amp/modules/identity"
)

// DefaultPayAmount is what each agent payment moves: 10^12 base units of
// USD, i.e. $0.000001 (the same as a load transfer).
const DefaultPayAmount = DefaultAmount

// PayLane is one lane of agent payments: an agent's key, which signs
// amp.payments.v1.MsgPay under an AUTONOMOUS mandate its person granted.
type PayLane struct {
	Agent  chain.PrivKey
	Person chain.PrivKey
	// Mandate is the lane's mandate ("mandate-7"): set by PayGenesis, or
	// found on a running chain by FindMandates.
	Mandate string
}

// PayLanes are the lanes of an agent-payments load and the merchants
// their mandates allow; lane i pays merchant (i+j) mod len(Merchants) with
// its j-th payment.
type PayLanes struct {
	Lanes     []PayLane
	Merchants []chain.Address
}

// Without returns the lanes except those at the given indices.
func (l *PayLanes) Without(drop []int) *PayLanes {
	skip := map[int]bool{}
	for _, i := range drop {
		skip[i] = true
	}
	out := &PayLanes{Merchants: l.Merchants}
	for i, ln := range l.Lanes {
		if !skip[i] {
			out.Lanes = append(out.Lanes, ln)
		}
	}
	return out
}

// AgentKeys returns the lanes' agent keys as accounts (what signs the txs).
func (l *PayLanes) AgentKeys() []Account {
	out := make([]Account, len(l.Lanes))
	for i, ln := range l.Lanes {
		out[i] = Account{Key: ln.Agent, Addr: ln.Agent.PubKey().Address()}
	}
	return out
}

// MaxPayMerchants is how many merchants a load mandate may list (the
// delegation module's limit on a constraint list).
const MaxPayMerchants = 64

// deriveKey returns the key of type t whose secret is SHA-256(label/k) for
// the first k that gives a valid key (for ed25519 always 0; a P-256
// scalar must also be below the group order).
func deriveKey(t chain.KeyType, label string) chain.PrivKey {
	for k := 0; ; k++ {
		s := sha256.Sum256([]byte(label + "/" + strconv.Itoa(k)))
		if key, err := chain.PrivKeyFromBytes(t, s[:]); err == nil {
			return key
		}
	}
}

// DerivePayLanes returns n lanes whose keys are derived from seed: agent i
// of type agentKey (ed25519 or p256) and its person (ed25519), and the
// addresses of merchants merchants (1 to MaxPayMerchants). The genesis
// that creates them (PayGenesis) and the run that pays (NewPaySource)
// agree without sharing key files. Lanes of different key types on one
// seed share persons, so one chain holds one of them per seed.
func DerivePayLanes(seed string, n, merchants int, agentKey chain.KeyType) (*PayLanes, error) {
	if n < 1 {
		return nil, fmt.Errorf("need at least one payment lane")
	}
	if merchants < 1 || merchants > MaxPayMerchants {
		return nil, fmt.Errorf("merchants: %d is not from 1 to %d", merchants, MaxPayMerchants)
	}
	if agentKey != chain.KeyEd25519 && agentKey != chain.KeyP256 {
		return nil, fmt.Errorf("agent key type %s: want ed25519 or p256", agentKey)
	}
	l := &PayLanes{Lanes: make([]PayLane, n), Merchants: make([]chain.Address, merchants)}
	base := "amp-loadgen-pay/" + seed
	for i := range l.Lanes {
		l.Lanes[i] = PayLane{
			Agent:  deriveKey(agentKey, fmt.Sprintf("%s/agent-%s/%d", base, agentKey, i)),
			Person: deriveKey(chain.KeyEd25519, fmt.Sprintf("%s/person/%d", base, i)),
		}
	}
	for m := range l.Merchants {
		l.Merchants[m] = deriveKey(chain.KeyEd25519, fmt.Sprintf("%s/merchant/%d", base, m)).PubKey().Address()
	}
	return l, nil
}

// PayGenesisOptions shape what PayGenesis writes.
type PayGenesisOptions struct {
	// Issuer is the consortium member that vouches for the persons (their
	// member wallet), onboards the agents (kya_issuer) and registers the
	// merchants (acquirer). Zero picks the first genesis member holding
	// both roles (the member `ampd init` creates holds every role).
	Issuer chain.Address
	// PersonCoins is each person's balance (default "100USD").
	PersonCoins string
	// Budget and MaxPayment of each mandate (default "100USD", "1USD"):
	// within the default wallet limits (1000 USD a mandate, 5000 a day)
	// and a new agent's tier caps (100 USD a payment).
	Budget, MaxPayment string
	// Days the mandates and the agents' KYA reviews last from the genesis
	// time (default 300; a mandate may last at most 366).
	Days int
}

// PayGenesis adds what lanes need to pay to the genesis file at path: per
// lane a person (wallet: the issuer) with a balance, an agent onboarded by
// the issuer with an L2 review, a binding of the agent to the person, and
// an AUTONOMOUS mandate granted and activated at genesis for all of
// lanes' merchants, which it registers (acquirer: the issuer). It sets
// each lane's Mandate to the id the chain will give it. The identity and
// delegation sections are written as JSON straight into app_state, after
// what is there already.
func PayGenesis(path string, lanes *PayLanes, o PayGenesisOptions) error {
	if o.PersonCoins == "" {
		o.PersonCoins = "100USD"
	}
	if o.Budget == "" {
		o.Budget = "100USD"
	}
	if o.MaxPayment == "" {
		o.MaxPayment = "1USD"
	}
	if o.Days == 0 {
		o.Days = 300
	}
	return EditAppState(path, func(doc, state map[string]json.RawMessage) error {
		var genesisTime time.Time
		if err := json.Unmarshal(doc["genesis_time"], &genesisTime); err != nil {
			return fmt.Errorf("genesis_time: %w", err)
		}
		issuer := o.Issuer
		if issuer.IsZero() {
			var err error
			if issuer, err = payIssuer(state); err != nil {
				return err
			}
		}
		expires := genesisTime.Add(time.Duration(o.Days) * 24 * time.Hour).Unix()

		var ig identity.Genesis
		if raw, ok := state[identity.Name]; ok {
			if err := json.Unmarshal(raw, &ig); err != nil {
				return fmt.Errorf("genesis identity state: %w", err)
			}
		}
		var dg delegation.Genesis
		if raw, ok := state[delegation.Name]; ok {
			if err := json.Unmarshal(raw, &dg); err != nil {
				return fmt.Errorf("genesis delegation state: %w", err)
			}
		}
		for m, a := range lanes.Merchants {
			ig.Merchants = append(ig.Merchants, identity.GenesisMerchant{Acquirer: issuer, Address: a,
				Name: fmt.Sprintf("Load Shop %d", m+1), MCC: "5999", Country: "SG", Settlement: a})
		}
		persons := make([]chain.Address, len(lanes.Lanes))
		first := len(dg.Mandates) + 1
		for i := range lanes.Lanes {
			ln := &lanes.Lanes[i]
			person, agent := ln.Person.PubKey().Address(), ln.Agent.PubKey()
			persons[i] = person
			idv := sha256.Sum256([]byte("ampload identity check of " + person.String()))
			ig.Persons = append(ig.Persons, identity.GenesisPerson{Address: person, Wallet: issuer, IDVHash: idv[:]})
			ig.Agents = append(ig.Agents, identity.GenesisAgent{
				Issuer: issuer, Key: identity.KeyOf(agent), Owner: person, Builder: "ampload",
				Profile: identity.Profile{Name: fmt.Sprintf("load-agent-%d", i), Model: "ampload", Version: "1", Capabilities: []string{"shopping"}},
				Review:  identity.GenesisReview{Items: []string{"profile", "kyc", "aml", "security", "privacy"}, Level: 2, ExpiresAt: expires},
			})
			ig.Bindings = append(ig.Bindings, identity.GenesisBinding{Person: person, AgentKey: agent.Address()})
			dg.Mandates = append(dg.Mandates, delegation.GenesisMandate{
				Person: person, AgentKey: agent.Address(), Description: "ampload payments",
				Budget: o.Budget, MaxPayment: o.MaxPayment, Merchants: append([]chain.Address(nil), lanes.Merchants...),
				ExpiresAt: expires,
			})
			ln.Mandate = delegation.MandateID(uint64(first + i))
		}
		var err error
		if state[identity.Name], err = json.Marshal(ig); err != nil {
			return err
		}
		if state[delegation.Name], err = json.Marshal(dg); err != nil {
			return err
		}
		return addBalances(state, persons, o.PersonCoins)
	})
}

// payIssuer is the first genesis member holding the kya_issuer and
// acquirer roles.
func payIssuer(state map[string]json.RawMessage) (chain.Address, error) {
	var cg consortium.Genesis
	if err := json.Unmarshal(state[consortium.Name], &cg); err != nil {
		return chain.Address{}, fmt.Errorf("genesis consortium state: %w", err)
	}
	for _, m := range cg.Members {
		if m.HasRole(consortium.RoleKYAIssuer) && m.HasRole(consortium.RoleAcquirer) {
			return m.Address, nil
		}
	}
	return chain.Address{}, fmt.Errorf("no genesis member holds the %s and %s roles", consortium.RoleKYAIssuer, consortium.RoleAcquirer)
}

// PayIssuer returns the member PayGenesis picks by default in the genesis
// file at path: the acquirer of the load merchants, whose key manages
// their rules.
func PayIssuer(path string) (chain.Address, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return chain.Address{}, err
	}
	var doc struct {
		AppState map[string]json.RawMessage `json:"app_state"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return chain.Address{}, fmt.Errorf("genesis %s: %w", path, err)
	}
	return payIssuer(doc.AppState)
}

// OrderHash is the order a load payment pays: SHA-256 of the agent's
// address and the tx's nonce, so unique on a chain (a merchant accepts
// one payment per order).
func OrderHash(agent chain.Address, nonce uint64) []byte {
	h := sha256.Sum256([]byte("amp-loadgen-order/" + agent.String() + "/" + strconv.FormatUint(nonce, 10)))
	return h[:]
}

// PayOptions configure NewPaySource.
type PayOptions struct {
	ChainID string
	Lanes   *PayLanes
	// StartNonces are the agents' next nonces (nil: all zero).
	StartNonces []uint64
	// PerLane is how many payments each agent signs.
	PerLane int
	// Amount in base units of USD; empty means DefaultPayAmount.
	Amount string
}

// PaySource is a Source of agent payments: one lane per agent, each tx a
// MsgPay under the lane's mandate to one of the merchants, for a new order,
// with sequential nonces. Like TransferSource it signs everything up front.
type PaySource struct {
	name string
	txs  [][][]byte
	pos  []int
	size int
}

// NewPaySource signs o.PerLane payments for every lane.
func NewPaySource(o PayOptions) (*PaySource, error) {
	if o.Lanes == nil || len(o.Lanes.Lanes) == 0 || len(o.Lanes.Merchants) == 0 {
		return nil, fmt.Errorf("payments need lanes and merchants")
	}
	if o.PerLane < 1 {
		return nil, fmt.Errorf("per-lane tx count must be positive")
	}
	for i, ln := range o.Lanes.Lanes {
		if _, err := delegation.ParseMandateID(ln.Mandate); err != nil {
			return nil, fmt.Errorf("lane %d: %w", i, err)
		}
	}
	amount := o.Amount
	if amount == "" {
		amount = DefaultPayAmount
	}
	l := o.Lanes
	n := len(l.Lanes)
	txs, size, err := signLanes(n, o.PerLane, func(i, j int) ([]byte, error) {
		var start uint64
		if o.StartNonces != nil {
			start = o.StartNonces[i]
		}
		ln := l.Lanes[i]
		nonce := start + uint64(j)
		merchant := l.Merchants[(i+j)%len(l.Merchants)]
		msg := &pb.MsgPay{MandateId: ln.Mandate, Merchant: merchant[:],
			Amount: &pb.Coin{Asset: chain.DefaultAsset, Amount: amount}, OrderHash: OrderHash(ln.Agent.PubKey().Address(), nonce)}
		return chain.BuildTx(o.ChainID, nonce, chain.TxOptions{}, []proto.Message{msg}, ln.Agent)
	})
	if err != nil {
		return nil, err
	}
	name := "amp-pay"
	if t := l.Lanes[0].Agent.Type(); t != chain.KeyEd25519 {
		name += "-" + t.String()
	}
	return &PaySource{name: name, txs: txs, pos: make([]int, n), size: size}, nil
}

func (s *PaySource) Name() string { return s.name }
func (s *PaySource) Lanes() int   { return len(s.txs) }
func (s *PaySource) TxSize() int  { return s.size }

// Reset starts every lane from its first tx again (for a new chain).
func (s *PaySource) Reset() {
	for i := range s.pos {
		s.pos[i] = 0
	}
}

// Next returns the lane's next signed payment.
func (s *PaySource) Next(lane int) []byte {
	p := s.pos[lane]
	if p >= len(s.txs[lane]) {
		return nil
	}
	s.pos[lane]++
	return s.txs[lane][p]
}

// LaneTxs returns every tx signed for a lane, in nonce order.
func (s *PaySource) LaneTxs(lane int) [][]byte { return s.txs[lane] }

// Pay describes one signed payment.
type Pay struct {
	Agent     chain.Address // the tx signer
	Nonce     uint64
	Mandate   string
	Merchant  chain.Address
	Amount    string // base units of USD
	OrderHash []byte
}

// DecodePay reads a single-MsgPay tx back; ok is false for any other tx.
func DecodePay(raw []byte) (Pay, bool) {
	tx, err := chain.DecodeTx(raw)
	if err != nil || len(tx.Body.Msgs) != 1 || tx.Body.Msgs[0].Type != chain.MsgType(&pb.MsgPay{}) {
		return Pay{}, false
	}
	var m pb.MsgPay
	if err := chain.UnmarshalCanonical(tx.Body.Msgs[0].Value, &m); err != nil || m.Amount == nil || m.Amount.Asset != chain.DefaultAsset {
		return Pay{}, false
	}
	merchant, err := chain.AddressFromBytes(m.Merchant)
	if err != nil {
		return Pay{}, false
	}
	return Pay{Agent: tx.Signer().Address(), Nonce: tx.Body.Nonce, Mandate: m.MandateId, Merchant: merchant,
		Amount: m.Amount.Amount, OrderHash: m.OrderHash}, true
}

// SamplePaySize signs one payment on chainID with a nonce typical of a run
// and returns its size.
func SamplePaySize(chainID string) (int, error) {
	l, err := DerivePayLanes("size-sample", 1, 1, chain.KeyEd25519)
	if err != nil {
		return 0, err
	}
	l.Lanes[0].Mandate = delegation.MandateID(1000)
	src, err := NewPaySource(PayOptions{ChainID: chainID, Lanes: l, StartNonces: []uint64{1000}, PerLane: 1})
	if err != nil {
		return 0, err
	}
	return src.TxSize(), nil
}

// FindMandates sets each lane's Mandate from a running chain: the newest
// activated mandate of the lane's agent granted by the lane's person
// (/delegation/mandates/<agent key address>), asked in batches. Lanes
// whose agent has none left (revoked, finished, expired) get an empty
// Mandate and are returned in missing.
func FindMandates(ctx context.Context, c *Client, lanes *PayLanes) (missing []int, err error) {
	const batch = 50
	for i := 0; i < len(lanes.Lanes); i += batch {
		end := min(i+batch, len(lanes.Lanes))
		reqs := make([]Request, 0, end-i)
		for _, ln := range lanes.Lanes[i:end] {
			reqs = append(reqs, Request{Method: "abci_query", Params: map[string]any{"path": "/delegation/mandates/" + ln.Agent.PubKey().Address().String()}})
		}
		rs, err := c.Batch(ctx, reqs)
		if err != nil {
			return nil, err
		}
		for j, r := range rs {
			ln := &lanes.Lanes[i+j]
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
				return nil, fmt.Errorf("mandates of lane %d's agent %s: %s (was the chain's genesis made with `ampload genesis --mode pay` and the same seed?)",
					i+j, ln.Agent.PubKey().Address(), q.Response.Log)
			}
			var ms []delegation.MandateView
			if err := json.Unmarshal(q.Response.Value, &ms); err != nil {
				return nil, err
			}
			ln.Mandate = ""
			person := ln.Person.PubKey().Address()
			for _, m := range ms { // newest first
				if m.Status == delegation.StatusName(delegation.StatusActivated) && m.Person == person {
					ln.Mandate = m.ID
					break
				}
			}
			if ln.Mandate == "" {
				missing = append(missing, i+j)
			}
		}
	}
	return missing, nil
}

// MandateStatus asks the node for a mandate's status ("activated",
// "revoked", …).
func MandateStatus(ctx context.Context, c *Client, id string) (string, error) {
	var v delegation.MandateView
	if err := c.QueryJSON(ctx, "/delegation/mandate/"+id, &v); err != nil {
		return "", err
	}
	return v.Status, nil
}
