package identity

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
)

// Name is the module's store prefix and query path.
const Name = "identity"

// Errors of this module (301-349).
var (
	ErrUnknownPerson      = chain.RegisterError(301, "unknown_person", "the account is not a registered person")
	ErrPersonExists       = chain.RegisterError(302, "person_exists", "the person is already registered")
	ErrUnknownDevice      = chain.RegisterError(303, "unknown_device", "no device key is registered at that address")
	ErrDeviceNotOwned     = chain.RegisterError(304, "device_not_owned", "the device belongs to another person")
	ErrDeviceScope        = chain.RegisterError(305, "device_scope", "the device's scopes do not allow this action (or the grant exceeds the granting device's own scopes)")
	ErrKeyInUse           = chain.RegisterError(306, "key_in_use", "the key or account is already registered as a person, device, agent, merchant or seller agent")
	ErrUnknownAgent       = chain.RegisterError(307, "unknown_agent", "no agent has that Agent ID or key")
	ErrAgentSuspended     = chain.RegisterError(308, "agent_suspended", "the agent is suspended: it can do nothing until reinstated")
	ErrAttestationExpired = chain.RegisterError(309, "attestation_expired", "the attestation is expired, or the agent has no unexpired attestation")
	ErrInvalidReview      = chain.RegisterError(310, "invalid_review", "the review's items, level or expiry are malformed or inconsistent")
	ErrUnknownMerchant    = chain.RegisterError(311, "unknown_merchant", "the account is not a registered merchant")
	ErrMerchantExists     = chain.RegisterError(312, "merchant_exists", "the merchant is already registered")
	ErrUnknownBinding     = chain.RegisterError(313, "unknown_binding", "no wallet binding has that id")
	ErrAlreadyBound       = chain.RegisterError(314, "already_bound", "the agent is already bound to the person's wallet")
	ErrInvalidIdentity    = chain.RegisterError(315, "invalid_identity", "a field of an identity record is malformed or out of range")
	ErrNotSuspended       = chain.RegisterError(316, "not_suspended", "the issuer has no standing suspension of the agent to lift")
	ErrAlreadySuspended   = chain.RegisterError(317, "already_suspended", "the issuer has already suspended the agent")
	ErrTooMany            = chain.RegisterError(318, "too_many", "the person has reached the maximum number of devices or bindings")
	ErrBindingNotOwned    = chain.RegisterError(319, "binding_not_owned", "the signer is neither the binding's person (or a device with the bind scope), its agent nor the agent's owner")
)

// Device scopes: which messages a device key may sign for its person.
const (
	ScopeSend          = "send"           // bank transfers from the person's account
	ScopeActivate      = "activate"       // activate or grant mandates
	ScopeUpdate        = "update"         // raise or lower mandate limits
	ScopeRevoke        = "revoke"         // revoke mandates
	ScopeApprove       = "approve"        // co-sign payments above a mandate's approval threshold
	ScopeBind          = "bind"           // bind and unbind agents
	ScopeClaim         = "claim"          // file claims for refunds
	ScopeManageDevices = "manage_devices" // add and remove the person's devices
)

// Scopes lists every scope in a fixed order.
var Scopes = []string{ScopeSend, ScopeActivate, ScopeUpdate, ScopeRevoke, ScopeApprove, ScopeBind, ScopeClaim, ScopeManageDevices}

// DeviceKinds are the kinds a device may declare.
var DeviceKinds = []string{"phone", "watch", "car", "browser", "other"}

// Agent statuses as shown by queries.
const (
	StatusActive    = "active"    // attested and not suspended
	StatusSuspended = "suspended" // some issuer's suspension stands
	StatusExpired   = "expired"   // no unexpired attestation: needs a renewed review
)

// Review items, after AMP's KYA review, and the levels they support.
var (
	ReviewItems = []string{"profile", "kyc", "aml", "security", "privacy", "anti_bribery", "ai_compliance", "prohibited_scenarios"}
	// levelItems[l] lists the items a review must have passed to attest level l.
	levelItems = [4][]string{
		1: {"profile", "kyc", "aml"},
		2: {"profile", "kyc", "aml", "security", "privacy"},
		3: {"profile", "kyc", "aml", "security", "privacy", "anti_bribery", "ai_compliance", "prohibited_scenarios"},
	}
)

// Limits that bound each person's and agent's state.
const (
	MaxDevices      = 16
	MaxBindings     = 256
	MaxAttestations = 16
	maxLabel        = 64
	maxName         = 128
	maxReason       = 256
	maxURI          = 256
	maxCapabilities = 32
)

// ParamMaxReviewDays bounds how far ahead a review may expire.
const ParamMaxReviewDays = "identity.max_review_validity_days"

// Store layout under "identity/":
//
//	p/<person 20>                      Person (JSON)
//	d/<device 20>                      Device (JSON)
//	pd/<person 20><device 20>          index: a person's devices
//	a/<agent n 8>                      Agent (JSON); Agent ID "agent-<n>"
//	k/<address 20>                     key index: kind byte, status byte, id (8 bytes for agents)
//	m/<merchant 20>                    Merchant (JSON)
//	b/<binding n 8>                    Binding (JSON); binding id "binding-<n>"
//	pb/<person 20><binding n 8>        index: a person's bindings
//	ab/<agent n 8><binding n 8>        index: an agent's bindings
//	pa/<person 20><agent n 8>          binding n: one binding per person and agent
//	n/agent, n/binding                 last id assigned
func personKey(a chain.Address) []byte { return append([]byte("p/"), a[:]...) }
func deviceKey(a chain.Address) []byte { return append([]byte("d/"), a[:]...) }
func personDeviceKey(p, d chain.Address) []byte {
	return append(append([]byte("pd/"), p[:]...), d[:]...)
}
func agentKey(n uint64) []byte           { return binary.BigEndian.AppendUint64([]byte("a/"), n) }
func indexKey(a chain.Address) []byte    { return append([]byte("k/"), a[:]...) }
func merchantKey(a chain.Address) []byte { return append([]byte("m/"), a[:]...) }
func bindingKey(n uint64) []byte         { return binary.BigEndian.AppendUint64([]byte("b/"), n) }
func personBindingKey(p chain.Address, n uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte("pb/"), p[:]...), n)
}
func agentBindingKey(agent, n uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte("ab/"), agent), n)
}
func pairKey(p chain.Address, agent uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte("pa/"), p[:]...), agent)
}

// Kinds of registered keys and accounts in the key index.
const (
	kindPerson     = 'p'
	kindDevice     = 'd'
	kindAgent      = 'a'
	kindMerchant   = 'm'
	kindSellerKey  = 's'
	statusOK       = 0
	statusBlocked  = 1 // a suspended agent's key: every tx it signs fails
	indexHeaderLen = 2
)

// Key is a public key in records and genesis: {"type":"p256","key":"<base64>"}.
type Key struct {
	Type string `json:"type"`
	Key  []byte `json:"key"`
}

// KeyOf converts a validated public key.
func KeyOf(k chain.PubKey) Key { return Key{Type: k.Type.String(), Key: k.Bytes} }

// PubKey validates and converts back.
func (k Key) PubKey() (chain.PubKey, error) {
	t, err := chain.ParseKeyType(k.Type)
	if err != nil {
		return chain.PubKey{}, err
	}
	return chain.NewPubKey(t, k.Key)
}

// Person is a principal: an account whose identity a wallet member vouches for.
type Person struct {
	Address chain.Address `json:"address"`
	// Wallet is the consortium member acting as the person's Mobile Payment Provider.
	Wallet       chain.Address `json:"wallet"`
	IDVHash      []byte        `json:"idv_hash"`
	RegisteredAt int64         `json:"registered_at"`
	Height       int64         `json:"height"`
}

// Device is a key that acts for its person within its scopes.
type Device struct {
	Address chain.Address `json:"address"`
	Person  chain.Address `json:"person"`
	Key     Key           `json:"key"`
	Kind    string        `json:"kind"`
	Label   string        `json:"label"`
	Scopes  []string      `json:"scopes"`
	// ApproveLimit, if set, caps the payments this device may approve (a car).
	ApproveLimit *Limit `json:"approve_limit,omitempty"`
	AddedAt      int64  `json:"added_at"`
	Height       int64  `json:"height"`
}

// Limit is an amount of an asset in base units.
type Limit struct {
	Asset     string `json:"asset"`
	BaseUnits string `json:"base_units"`
}

// Coin returns the limit as a coin.
func (l *Limit) Coin() (chain.Coin, error) {
	a, err := chain.ParseBaseUnits(l.BaseUnits)
	return chain.Coin{Asset: l.Asset, Amount: a}, err
}

// HasScope reports whether the device may act in scope.
func (d *Device) HasScope(scope string) bool { return contains(d.Scopes, scope) }

// Profile is what an agent declares about itself.
type Profile struct {
	Name         string   `json:"name"`
	Model        string   `json:"model,omitempty"`
	Version      string   `json:"version,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
	MetadataURI  string   `json:"metadata_uri,omitempty"`
	MetadataHash []byte   `json:"metadata_hash,omitempty"`
}

// Attestation is one KYA issuer's review of an agent; an issuer holds at
// most one per agent, which a new review replaces.
type Attestation struct {
	Issuer       chain.Address `json:"issuer"`
	Items        []string      `json:"items"`
	Level        uint32        `json:"level"`
	ExpiresAt    int64         `json:"expires_at"`
	EvidenceHash []byte        `json:"evidence_hash,omitempty"`
	AttestedAt   int64         `json:"attested_at"`
	Height       int64         `json:"height"`
}

// Suspension is one issuer's standing suspension of an agent.
type Suspension struct {
	Issuer       chain.Address `json:"issuer"`
	Reason       string        `json:"reason"`
	EvidenceHash []byte        `json:"evidence_hash,omitempty"`
	At           int64         `json:"at"`
	Height       int64         `json:"height"`
}

// Agent is a KYA identity.
type Agent struct {
	ID         string        `json:"agent_id"`
	Key        Key           `json:"key"`
	KeyAddress chain.Address `json:"key_address"`
	Owner      chain.Address `json:"owner"`
	Builder    string        `json:"builder"`
	// Issuer onboarded the agent (AMP's Credential Provider).
	Issuer       chain.Address `json:"issuer"`
	Profile      Profile       `json:"profile"`
	OnboardedAt  int64         `json:"onboarded_at"`
	Height       int64         `json:"height"`
	Attestations []Attestation `json:"attestations"` // by issuer address
	Suspensions  []Suspension  `json:"suspensions"`  // standing ones, by issuer address
	// History the trust rating reads.
	SuspensionCount uint32 `json:"suspension_count"`
	LastSuspendedAt int64  `json:"last_suspended_at,omitempty"`
	KeyRotations    uint32 `json:"key_rotations"`
	LastRotatedAt   int64  `json:"last_rotated_at,omitempty"`
}

// Level is the highest level among attestations unexpired at time now
// (0 if none), and issuers the number of issuers behind them.
func (a *Agent) Level(now int64) (level uint32, issuers int) {
	for _, at := range a.Attestations {
		if at.ExpiresAt > now {
			issuers++
			level = max(level, at.Level)
		}
	}
	return level, issuers
}

// Status is active, suspended or expired at time now.
func (a *Agent) Status(now int64) string {
	if len(a.Suspensions) > 0 {
		return StatusSuspended
	}
	if l, _ := a.Level(now); l == 0 {
		return StatusExpired
	}
	return StatusActive
}

func (a *Agent) number() uint64 {
	n, _ := parseID(a.ID, "agent-")
	return n
}

// Facts returns what the trust rating reads.
func (a *Agent) Facts() AgentFacts {
	f := AgentFacts{
		AgentID: a.ID, OnboardedAt: a.OnboardedAt, Suspended: len(a.Suspensions) > 0,
		Suspensions: a.SuspensionCount, LastSuspendedAt: a.LastSuspendedAt,
		KeyRotations: a.KeyRotations, LastRotatedAt: a.LastRotatedAt,
	}
	for _, at := range a.Attestations {
		f.Attestations = append(f.Attestations, AttestationFact{Issuer: at.Issuer, Level: at.Level, ExpiresAt: at.ExpiresAt})
	}
	return f
}

// Merchant is a business registered by its acquirer.
type Merchant struct {
	Address        chain.Address `json:"address"`
	Acquirer       chain.Address `json:"acquirer"`
	Name           string        `json:"name"`
	MCC            string        `json:"mcc"`
	Country        string        `json:"country"`
	Settlement     chain.Address `json:"settlement"`
	SellerAgentKey *Key          `json:"seller_agent_key,omitempty"`
	RegisteredAt   int64         `json:"registered_at"`
	Height         int64         `json:"height"`
}

// Binding links an agent to a person's wallet; its id is what the agent
// uses to reference the wallet (AMP's binding token).
type Binding struct {
	ID        string        `json:"binding_id"`
	Person    chain.Address `json:"person"`
	AgentID   string        `json:"agent_id"`
	CreatedAt int64         `json:"created_at"`
	Height    int64         `json:"height"`
}

// Keeper is the identity module.
type Keeper struct {
	members  *consortium.Module
	bank     *bank.Keeper
	params   *params.Keeper
	observer Observer
}

// New returns the module. Roles are checked with members and assets of
// device limits with bank; its parameters are declared in ps.
func New(ps *params.Keeper, members *consortium.Module, b *bank.Keeper) *Keeper {
	ps.Declare(params.Def{
		Key: ParamMaxReviewDays, Default: 400,
		Doc: "how many days ahead of the block time a KYA review may expire (AMP reviews agents yearly)",
		Validate: func(raw json.RawMessage) error {
			var n int64
			if err := json.Unmarshal(raw, &n); err != nil || n < 1 || n > 3650 {
				return fmt.Errorf("want a whole number of days from 1 to 3650")
			}
			return nil
		},
	})
	return &Keeper{members: members, bank: b, params: ps}
}

// SetObserver registers the module told of agent changes (the trust rating).
func (k *Keeper) SetObserver(o Observer) { k.observer = o }

func (*Keeper) Name() string { return Name }

func st(ctx *module.Context) module.Store { return ctx.Store(Name + "/") }

func get[T any](ctx *module.Context, key []byte, notFound error) (*T, error) {
	b := st(ctx).Get(key)
	if b == nil {
		return nil, notFound
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "stored identity record %q: %v", key, err)
	}
	return v, nil
}

func put(ctx *module.Context, key []byte, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("identity: encode %T: %v", v, err)) // only plain structs are stored
	}
	st(ctx).Set(key, b)
}

// Person returns a registered person.
func (*Keeper) Person(ctx *module.Context, a chain.Address) (*Person, error) {
	return get[Person](ctx, personKey(a), chain.Wrapf(ErrUnknownPerson, "%s", a))
}

// Device returns a registered device by its key's address.
func (*Keeper) Device(ctx *module.Context, a chain.Address) (*Device, error) {
	return get[Device](ctx, deviceKey(a), chain.Wrapf(ErrUnknownDevice, "%s", a))
}

// Devices returns a person's devices in address order.
func (k *Keeper) Devices(ctx *module.Context, person chain.Address) ([]Device, error) {
	out := []Device{}
	var err error
	st(ctx).Iterate(append([]byte("pd/"), person[:]...), func(key, _ []byte) bool {
		var d *Device
		var a chain.Address
		copy(a[:], key[3+chain.AddressLen:])
		if d, err = k.Device(ctx, a); err != nil {
			return false
		}
		out = append(out, *d)
		return true
	})
	return out, err
}

// Agent returns an agent by Agent ID.
func (*Keeper) Agent(ctx *module.Context, id string) (*Agent, error) {
	n, ok := parseID(id, "agent-")
	if !ok {
		return nil, chain.Wrapf(ErrUnknownAgent, "%q is not an Agent ID (agent-<n>)", id)
	}
	return get[Agent](ctx, agentKey(n), chain.Wrapf(ErrUnknownAgent, "%s", id))
}

// AgentByKey returns the agent whose current key has address a.
func (k *Keeper) AgentByKey(ctx *module.Context, a chain.Address) (*Agent, error) {
	kind, _, p, ok := lookupIndex(ctx, a)
	if !ok || kind != kindAgent {
		return nil, chain.Wrapf(ErrUnknownAgent, "no agent has key %s", a)
	}
	return get[Agent](ctx, agentKey(agentNumber(p)), chain.Wrapf(ErrUnknownAgent, "%s", a))
}

// ResolveAgent turns an Agent ID or the address of an agent's key into the
// Agent ID.
func (k *Keeper) ResolveAgent(ctx *module.Context, ref string) (string, error) {
	if strings.HasPrefix(ref, "agent-") {
		a, err := k.Agent(ctx, ref)
		if err != nil {
			return "", err
		}
		return a.ID, nil
	}
	addr, err := chain.ParseAddress(ref)
	if err != nil {
		return "", chain.Wrapf(ErrUnknownAgent, "%q is neither an Agent ID nor an address", ref)
	}
	a, err := k.AgentByKey(ctx, addr)
	if err != nil {
		return "", err
	}
	return a.ID, nil
}

// AgentFacts returns the facts the trust rating reads.
func (k *Keeper) AgentFacts(ctx *module.Context, id string) (AgentFacts, error) {
	a, err := k.Agent(ctx, id)
	if err != nil {
		return AgentFacts{}, err
	}
	return a.Facts(), nil
}

// RequireAgent returns the agent if it may act at the block time: it exists,
// no suspension stands and it holds an unexpired attestation. Every module
// acting for an agent calls it.
func (k *Keeper) RequireAgent(ctx *module.Context, id string) (*Agent, error) {
	a, err := k.Agent(ctx, id)
	if err != nil {
		return nil, err
	}
	switch a.Status(ctx.Time.Unix()) {
	case StatusSuspended:
		return nil, chain.Wrapf(ErrAgentSuspended, "%s is suspended by %s: %s", a.ID, a.Suspensions[0].Issuer, a.Suspensions[0].Reason)
	case StatusExpired:
		return nil, chain.Wrapf(ErrAttestationExpired, "%s has no unexpired attestation", a.ID)
	}
	return a, nil
}

// Merchant returns a registered merchant.
func (*Keeper) Merchant(ctx *module.Context, a chain.Address) (*Merchant, error) {
	return get[Merchant](ctx, merchantKey(a), chain.Wrapf(ErrUnknownMerchant, "%s", a))
}

// Binding returns a binding by id.
func (*Keeper) Binding(ctx *module.Context, id string) (*Binding, error) {
	n, ok := parseID(id, "binding-")
	if !ok {
		return nil, chain.Wrapf(ErrUnknownBinding, "%q is not a binding id (binding-<n>)", id)
	}
	return get[Binding](ctx, bindingKey(n), chain.Wrapf(ErrUnknownBinding, "%s", id))
}

// BindingOf returns the binding between a person and an agent, if any.
func (k *Keeper) BindingOf(ctx *module.Context, person chain.Address, agentID string) (*Binding, error) {
	an, ok := parseID(agentID, "agent-")
	if !ok {
		return nil, chain.Wrapf(ErrUnknownAgent, "%q", agentID)
	}
	v := st(ctx).Get(pairKey(person, an))
	if len(v) != 8 {
		return nil, chain.Wrapf(ErrUnknownBinding, "%s is not bound to %s", agentID, person)
	}
	return get[Binding](ctx, bindingKey(binary.BigEndian.Uint64(v)), chain.Wrapf(ErrUnknownBinding, "%s/%s", person, agentID))
}

func (k *Keeper) bindingsUnder(ctx *module.Context, prefix []byte) ([]Binding, error) {
	out := []Binding{}
	var err error
	st(ctx).Iterate(prefix, func(key, _ []byte) bool {
		var b *Binding
		if b, err = get[Binding](ctx, bindingKey(binary.BigEndian.Uint64(key[len(key)-8:])), chain.Wrapf(chain.ErrInternal, "dangling binding index %q", key)); err != nil {
			return false
		}
		out = append(out, *b)
		return true
	})
	return out, err
}

// PersonBindings returns a person's bindings in creation order.
func (k *Keeper) PersonBindings(ctx *module.Context, person chain.Address) ([]Binding, error) {
	return k.bindingsUnder(ctx, append([]byte("pb/"), person[:]...))
}

// AgentBindings returns an agent's bindings in creation order.
func (k *Keeper) AgentBindings(ctx *module.Context, agentID string) ([]Binding, error) {
	n, ok := parseID(agentID, "agent-")
	if !ok {
		return nil, chain.Wrapf(ErrUnknownAgent, "%q", agentID)
	}
	return k.bindingsUnder(ctx, binary.BigEndian.AppendUint64([]byte("ab/"), n))
}

// lookupIndex reads the key index: what an address is registered as, and
// the payload: an agent's number, a device's person or a seller key's merchant.
func lookupIndex(ctx *module.Context, a chain.Address) (kind, status byte, payload []byte, ok bool) {
	v := st(ctx).Get(indexKey(a))
	if len(v) < indexHeaderLen {
		return 0, 0, nil, false
	}
	return v[0], v[1], v[indexHeaderLen:], true
}

func setIndex(ctx *module.Context, a chain.Address, kind, status byte, payload []byte) {
	st(ctx).Set(indexKey(a), append([]byte{kind, status}, payload...))
}

func agentPayload(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func agentNumber(payload []byte) uint64 {
	if len(payload) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(payload)
}

func agentID(n uint64) string { return fmt.Sprintf("agent-%d", n) }

var kindNames = map[byte]string{kindPerson: "person", kindDevice: "device", kindAgent: "agent key", kindMerchant: "merchant", kindSellerKey: "seller agent key"}

// requireFree fails if the address is registered as anything already.
func requireFree(ctx *module.Context, a chain.Address) error {
	if kind, _, _, ok := lookupIndex(ctx, a); ok {
		return chain.Wrapf(ErrKeyInUse, "%s is already registered as a %s", a, kindNames[kind])
	}
	return nil
}

// GuardTx fails a tx that a suspended agent's key signs, whatever it does:
// a suspension stops everything the agent does from the block that
// includes it. It costs one read per signer.
func (k *Keeper) GuardTx(ctx *module.Context) error {
	for _, s := range ctx.Signers() {
		a := s.Address()
		if kind, status, p, ok := lookupIndex(ctx, a); ok && kind == kindAgent && status == statusBlocked {
			return chain.Wrapf(ErrAgentSuspended, "the tx is signed by the key of suspended agent %s", agentID(agentNumber(p)))
		}
	}
	return nil
}

// Authorize returns nil, and the acting device (nil for the person's own
// key), if the tx is signed by the person or by one of their devices
// holding scope. The error says which rule failed: device_not_owned,
// device_scope, or unauthorized.
func (k *Keeper) Authorize(ctx *module.Context, person chain.Address, scope string) (*Device, error) {
	if ctx.SignedBy(person) {
		return nil, nil
	}
	var failure error
	for _, s := range ctx.Signers() {
		d, err := k.Device(ctx, s.Address())
		if err != nil {
			continue
		}
		switch {
		case d.Person != person:
			failure = chain.Wrapf(ErrDeviceNotOwned, "device %s (%s) belongs to %s, not %s", d.Address, d.Label, d.Person, person)
		case !d.HasScope(scope):
			if failure == nil {
				failure = chain.Wrapf(ErrDeviceScope, "device %s (%s) of %s lacks scope %q (has %s)", d.Address, d.Label, person, scope, strings.Join(d.Scopes, ","))
			}
		default:
			return d, nil
		}
	}
	if failure != nil {
		return nil, failure
	}
	return nil, chain.Wrapf(chain.ErrUnauthorized, "no signature of the tx is %s or one of their devices", person)
}

// Authorizer lets other modules' ctx.Authorize accept a person's devices
// within their scopes.
func (k *Keeper) Authorizer() module.Authorizer {
	return func(ctx *module.Context, account chain.Address, signer chain.PubKey, scope string) bool {
		d, err := k.Device(ctx, signer.Address())
		return err == nil && d.Person == account && d.HasScope(scope)
	}
}

func parseID(id, prefix string) (uint64, bool) {
	s, ok := strings.CutPrefix(id, prefix)
	if !ok || s == "" || s[0] == '0' || len(s) > 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

func nextID(ctx *module.Context, counter string) uint64 {
	key := []byte("n/" + counter)
	var n uint64
	if v := st(ctx).Get(key); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	n++
	st(ctx).Set(key, binary.BigEndian.AppendUint64(nil, n))
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// LevelItems returns the review items a review must have passed to attest
// level (nil for a level outside 1-3).
func LevelItems(level uint32) []string {
	if level < 1 || level > 3 {
		return nil
	}
	return slices.Clone(levelItems[level])
}

// ParseAgentID returns the number of an Agent ID ("agent-<n>").
func ParseAgentID(id string) (uint64, error) {
	n, ok := parseID(id, "agent-")
	if !ok {
		return 0, chain.Wrapf(ErrUnknownAgent, "%q is not an Agent ID (agent-<n>)", id)
	}
	return n, nil
}

// AgentID formats an agent number as its Agent ID.
func AgentID(n uint64) string { return agentID(n) }
