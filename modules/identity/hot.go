package identity

import (
	"encoding/binary"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/module"
)

// Every agent payment reads its agent and its merchant, several times. The
// JSON records (with bech32 addresses) cost tens of microseconds to decode,
// so each agent and merchant also has a compact fixed-layout record, written
// with the JSON one and checked against it by the invariants, that the hot
// path reads instead.
//
//	as/<agent n 8>   key address 20, owner 20, suspended 1, count 1, count × (level 1, expires_at 8)
//	mi/<merchant 20> acquirer 20, settlement 20, mcc 4, country 2
func agentStatusKey(n uint64) []byte         { return binary.BigEndian.AppendUint64([]byte("as/"), n) }
func merchantInfoKey(a chain.Address) []byte { return append([]byte("mi/"), a[:]...) }

// AgentStatus is what a payment needs of an agent.
type AgentStatus struct {
	Number       uint64
	KeyAddress   chain.Address
	Owner        chain.Address
	Suspended    bool
	Attestations []LevelExpiry
}

// LevelExpiry is one attestation's level and expiry.
type LevelExpiry struct {
	Level     uint32
	ExpiresAt int64
}

// ID is the agent's Agent ID.
func (s *AgentStatus) ID() string { return agentID(s.Number) }

// Level is the highest level among attestations unexpired at time now.
func (s *AgentStatus) Level(now int64) uint32 {
	var l uint32
	for _, a := range s.Attestations {
		if a.ExpiresAt > now {
			l = max(l, a.Level)
		}
	}
	return l
}

func (a *Agent) status() []byte {
	b := make([]byte, 0, 42+9*len(a.Attestations))
	b = append(b, a.KeyAddress[:]...)
	b = append(b, a.Owner[:]...)
	susp := byte(0)
	if len(a.Suspensions) > 0 {
		susp = 1
	}
	b = append(b, susp, byte(len(a.Attestations)))
	for _, at := range a.Attestations {
		b = append(b, byte(at.Level))
		b = binary.BigEndian.AppendUint64(b, uint64(at.ExpiresAt))
	}
	return b
}

func decodeStatus(n uint64, b []byte) (*AgentStatus, bool) {
	if len(b) < 42 || len(b) != 42+9*int(b[41]) {
		return nil, false
	}
	s := &AgentStatus{Number: n, Suspended: b[40] == 1}
	copy(s.KeyAddress[:], b[:20])
	copy(s.Owner[:], b[20:40])
	for i := 0; i < int(b[41]); i++ {
		o := 42 + 9*i
		s.Attestations = append(s.Attestations, LevelExpiry{Level: uint32(b[o]), ExpiresAt: int64(binary.BigEndian.Uint64(b[o+1 : o+9]))})
	}
	return s, true
}

// AgentStatusOf returns the compact status of agent number n.
func (k *Keeper) AgentStatusOf(ctx *module.Context, n uint64) (*AgentStatus, error) {
	b := st(ctx).Get(agentStatusKey(n))
	if b == nil {
		return nil, chain.Wrapf(ErrUnknownAgent, "%s", agentID(n))
	}
	s, ok := decodeStatus(n, b)
	if !ok {
		return nil, chain.Wrapf(chain.ErrInternal, "corrupt status record of %s", agentID(n))
	}
	return s, nil
}

// ActiveAgent is RequireAgent on the compact record: the agent exists, no
// suspension stands and an attestation is unexpired at the block time.
func (k *Keeper) ActiveAgent(ctx *module.Context, n uint64) (*AgentStatus, error) {
	s, err := k.AgentStatusOf(ctx, n)
	if err != nil {
		return nil, err
	}
	return s, k.CheckActive(ctx, s)
}

// CheckActive is ActiveAgent on a status already read in this tx.
func (k *Keeper) CheckActive(ctx *module.Context, s *AgentStatus) error {
	if s.Suspended {
		return chain.Wrapf(ErrAgentSuspended, "%s is suspended", s.ID())
	}
	if s.Level(ctx.Time.Unix()) == 0 {
		return chain.Wrapf(ErrAttestationExpired, "%s has no unexpired attestation", s.ID())
	}
	return nil
}

// Bound reports whether the agent (by number) is bound to the person.
func (k *Keeper) Bound(ctx *module.Context, person chain.Address, agent uint64) bool {
	return st(ctx).Get(pairKey(person, agent)) != nil
}

// MerchantInfo is what a payment needs of a merchant.
type MerchantInfo struct {
	Address    chain.Address
	Acquirer   chain.Address
	Settlement chain.Address
	MCC        string
	Country    string
}

func (m *Merchant) info() []byte {
	b := make([]byte, 0, 46)
	b = append(b, m.Acquirer[:]...)
	b = append(b, m.Settlement[:]...)
	return append(append(b, m.MCC...), m.Country...)
}

// MerchantInfoOf returns the compact record of a registered merchant.
func (k *Keeper) MerchantInfoOf(ctx *module.Context, a chain.Address) (*MerchantInfo, error) {
	b := st(ctx).Get(merchantInfoKey(a))
	if b == nil {
		return nil, chain.Wrapf(ErrUnknownMerchant, "%s", a)
	}
	if len(b) != 46 {
		return nil, chain.Wrapf(chain.ErrInternal, "corrupt merchant record of %s", a)
	}
	m := &MerchantInfo{Address: a, MCC: string(b[40:44]), Country: string(b[44:46])}
	copy(m.Acquirer[:], b[:20])
	copy(m.Settlement[:], b[20:40])
	return m, nil
}
