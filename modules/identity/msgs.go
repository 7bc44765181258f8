package identity

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/module"
)

// Routes are the module's messages.
func (k *Keeper) Routes() []module.Route {
	return []module.Route{
		module.NewRoute(validateRegisterPerson, k.handleRegisterPerson),
		module.NewRoute(validateAddDevice, k.handleAddDevice),
		module.NewRoute(validateRemoveDevice, k.handleRemoveDevice),
		module.NewRoute(validateOnboardAgent, k.handleOnboardAgent),
		module.NewRoute(validateAttestAgent, k.handleAttestAgent),
		module.NewRoute(validateSuspendAgent, k.handleSuspendAgent),
		module.NewRoute(validateReinstateAgent, k.handleReinstateAgent),
		module.NewRoute(validateRotateAgentKey, k.handleRotateAgentKey),
		module.NewRoute(validateRegisterMerchant, k.handleRegisterMerchant),
		module.NewRoute(validateBindAgent, k.handleBindAgent),
		module.NewRoute(validateUnbindAgent, k.handleUnbindAgent),
	}
}

// --- stateless validation (CheckTx) ---

func addr(field string, b []byte) (chain.Address, error) {
	a, err := chain.AddressFromBytes(b)
	if err != nil {
		return a, fmt.Errorf("%s: %w", field, err)
	}
	return a, nil
}

func hash32(field string, b []byte, required bool) error {
	if len(b) == 0 && !required {
		return nil
	}
	if len(b) != 32 {
		return chain.Wrapf(ErrInvalidIdentity, "%s has %d bytes, want 32 (SHA-256)", field, len(b))
	}
	return nil
}

// text checks a human-readable field: valid UTF-8, no control characters,
// at most max bytes.
func text(field, s string, required bool, max int) error {
	switch {
	case s == "" && required:
		return chain.Wrapf(ErrInvalidIdentity, "%s is required", field)
	case len(s) > max:
		return chain.Wrapf(ErrInvalidIdentity, "%s has %d bytes, at most %d", field, len(s), max)
	case !utf8.ValidString(s):
		return chain.Wrapf(ErrInvalidIdentity, "%s is not valid UTF-8", field)
	case strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return chain.Wrapf(ErrInvalidIdentity, "%s contains control characters", field)
	}
	return nil
}

// token checks an identifier: lower-case letters, digits and _.:- only.
func token(field, s string, max int) error {
	if s == "" || len(s) > max || strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == ':' || r == '-')
	}) >= 0 {
		return chain.Wrapf(ErrInvalidIdentity, "%s %q must be 1-%d characters of a-z 0-9 _ . : -", field, s, max)
	}
	return nil
}

// validScopes checks a scope list: known scopes, each once, at least one.
func validScopes(scopes []string) error {
	if len(scopes) == 0 {
		return chain.Wrapf(ErrDeviceScope, "a device needs at least one scope (%s)", strings.Join(Scopes, ", "))
	}
	for i, s := range scopes {
		if !contains(Scopes, s) {
			return chain.Wrapf(ErrDeviceScope, "unknown scope %q (known: %s)", s, strings.Join(Scopes, ", "))
		}
		if contains(scopes[:i], s) {
			return chain.Wrapf(ErrDeviceScope, "scope %q listed twice", s)
		}
	}
	return nil
}

func validateReview(r *pb.Review) error {
	if r == nil {
		return chain.Wrapf(ErrInvalidReview, "missing review")
	}
	if r.Level < 1 || r.Level > 3 {
		return chain.Wrapf(ErrInvalidReview, "level %d, want 1-3", r.Level)
	}
	for i, it := range r.Items {
		if !contains(ReviewItems, it) {
			return chain.Wrapf(ErrInvalidReview, "unknown review item %q (known: %s)", it, strings.Join(ReviewItems, ", "))
		}
		if contains(r.Items[:i], it) {
			return chain.Wrapf(ErrInvalidReview, "review item %q listed twice", it)
		}
	}
	for _, need := range levelItems[r.Level] {
		if !contains(r.Items, need) {
			return chain.Wrapf(ErrInvalidReview, "level %d needs review item %q to have passed", r.Level, need)
		}
	}
	if r.ExpiresAt <= 0 {
		return chain.Wrapf(ErrInvalidReview, "expires_at must be a Unix time")
	}
	return hash32("evidence_hash", r.EvidenceHash, false)
}

func validateProfile(p *pb.Profile) error {
	if p == nil {
		return chain.Wrapf(ErrInvalidIdentity, "missing profile")
	}
	for _, f := range []struct {
		name, v  string
		required bool
		max      int
	}{{"profile.name", p.Name, true, 64}, {"profile.model", p.Model, false, 64}, {"profile.version", p.Version, false, 32}, {"profile.metadata_uri", p.MetadataUri, false, maxURI}} {
		if err := text(f.name, f.v, f.required, f.max); err != nil {
			return err
		}
	}
	if len(p.Capabilities) > maxCapabilities {
		return chain.Wrapf(ErrInvalidIdentity, "%d capabilities, at most %d", len(p.Capabilities), maxCapabilities)
	}
	for i, c := range p.Capabilities {
		if err := token("capability", c, 64); err != nil {
			return err
		}
		if contains(p.Capabilities[:i], c) {
			return chain.Wrapf(ErrInvalidIdentity, "capability %q listed twice", c)
		}
	}
	return hash32("profile.metadata_hash", p.MetadataHash, false)
}

func validateRegisterPerson(m *pb.MsgRegisterPerson) error {
	if _, err := addr("wallet", m.Wallet); err != nil {
		return err
	}
	if _, err := addr("person", m.Person); err != nil {
		return err
	}
	return hash32("idv_hash", m.IdvHash, true)
}

func validateAddDevice(m *pb.MsgAddDevice) error {
	if _, err := addr("person", m.Person); err != nil {
		return err
	}
	if _, err := chain.PubKeyFromProto(m.PubKey); err != nil {
		return err
	}
	if !contains(DeviceKinds, m.Kind) {
		return chain.Wrapf(ErrInvalidIdentity, "device kind %q, want one of %s", m.Kind, strings.Join(DeviceKinds, ", "))
	}
	if err := text("label", m.Label, true, maxLabel); err != nil {
		return err
	}
	if err := validScopes(m.Scopes); err != nil {
		return err
	}
	if m.ApproveLimit != nil {
		if _, err := bank.CoinFromProto(m.ApproveLimit); err != nil {
			return fmt.Errorf("approve_limit: %w", err)
		}
		if !contains(m.Scopes, ScopeApprove) {
			return chain.Wrapf(ErrInvalidIdentity, "approve_limit without the approve scope")
		}
	}
	return nil
}

func validateRemoveDevice(m *pb.MsgRemoveDevice) error {
	if _, err := addr("person", m.Person); err != nil {
		return err
	}
	_, err := addr("device", m.Device)
	return err
}

func validateOnboardAgent(m *pb.MsgOnboardAgent) error {
	if _, err := addr("issuer", m.Issuer); err != nil {
		return err
	}
	if _, err := chain.PubKeyFromProto(m.PubKey); err != nil {
		return err
	}
	if _, err := addr("owner", m.Owner); err != nil {
		return err
	}
	if err := text("builder", m.Builder, true, maxName); err != nil {
		return err
	}
	if err := validateProfile(m.Profile); err != nil {
		return err
	}
	return validateReview(m.Review)
}

func validateAgentRef(id string) error {
	if _, ok := parseID(id, "agent-"); !ok {
		return chain.Wrapf(ErrUnknownAgent, "%q is not an Agent ID (agent-<n>)", id)
	}
	return nil
}

func validateAttestAgent(m *pb.MsgAttestAgent) error {
	if _, err := addr("issuer", m.Issuer); err != nil {
		return err
	}
	if err := validateAgentRef(m.AgentId); err != nil {
		return err
	}
	return validateReview(m.Review)
}

func validateSuspendAgent(m *pb.MsgSuspendAgent) error {
	if _, err := addr("issuer", m.Issuer); err != nil {
		return err
	}
	if err := validateAgentRef(m.AgentId); err != nil {
		return err
	}
	if err := text("reason", m.Reason, true, maxReason); err != nil {
		return err
	}
	return hash32("evidence_hash", m.EvidenceHash, false)
}

func validateReinstateAgent(m *pb.MsgReinstateAgent) error {
	if _, err := addr("issuer", m.Issuer); err != nil {
		return err
	}
	return validateAgentRef(m.AgentId)
}

func validateRotateAgentKey(m *pb.MsgRotateAgentKey) error {
	if err := validateAgentRef(m.AgentId); err != nil {
		return err
	}
	_, err := chain.PubKeyFromProto(m.NewKey)
	return err
}

func validateRegisterMerchant(m *pb.MsgRegisterMerchant) error {
	for _, f := range []struct {
		name string
		b    []byte
	}{{"acquirer", m.Acquirer}, {"merchant", m.Merchant}, {"settlement", m.Settlement}} {
		if _, err := addr(f.name, f.b); err != nil {
			return err
		}
	}
	if err := text("name", m.Name, true, maxName); err != nil {
		return err
	}
	if len(m.Mcc) != 4 || strings.Trim(m.Mcc, "0123456789") != "" {
		return chain.Wrapf(ErrInvalidIdentity, "mcc %q must be 4 digits (ISO 18245)", m.Mcc)
	}
	if len(m.Country) != 2 || strings.Trim(m.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return chain.Wrapf(ErrInvalidIdentity, "country %q must be an upper-case ISO 3166-1 alpha-2 code", m.Country)
	}
	if m.SellerAgentKey != nil {
		if _, err := chain.PubKeyFromProto(m.SellerAgentKey); err != nil {
			return fmt.Errorf("seller_agent_key: %w", err)
		}
	}
	return nil
}

func validateBindAgent(m *pb.MsgBindAgent) error {
	if _, err := addr("person", m.Person); err != nil {
		return err
	}
	return validateAgentRef(m.AgentId)
}

func validateUnbindAgent(m *pb.MsgUnbindAgent) error {
	if _, ok := parseID(m.BindingId, "binding-"); !ok {
		return chain.Wrapf(ErrUnknownBinding, "%q is not a binding id (binding-<n>)", m.BindingId)
	}
	return nil
}

// --- handlers (FinalizeBlock): authorise, then apply ---

func (k *Keeper) requireSigned(ctx *module.Context, a chain.Address, who string) error {
	if !ctx.SignedBy(a) {
		return chain.Wrapf(chain.ErrUnauthorized, "the tx must be signed by the %s %s", who, a)
	}
	return nil
}

func (k *Keeper) requireRole(ctx *module.Context, a chain.Address, role string) error {
	if err := k.requireSigned(ctx, a, role); err != nil {
		return err
	}
	return k.members.RequireRole(ctx, a, role)
}

func (k *Keeper) handleRegisterPerson(ctx *module.Context, m *pb.MsgRegisterPerson) error {
	wallet, _ := chain.AddressFromBytes(m.Wallet)
	person, _ := chain.AddressFromBytes(m.Person)
	if err := k.requireSigned(ctx, wallet, "wallet member"); err != nil {
		return err
	}
	if _, err := k.members.Member(ctx, wallet); err != nil {
		return err
	}
	if err := k.requireSigned(ctx, person, "person"); err != nil {
		return err
	}
	return k.registerPerson(ctx, wallet, person, m.IdvHash)
}

func (k *Keeper) registerPerson(ctx *module.Context, wallet, person chain.Address, idv []byte) error {
	if _, err := k.Person(ctx, person); err == nil {
		return chain.Wrapf(ErrPersonExists, "%s", person)
	}
	if err := requireFree(ctx, person); err != nil {
		return err
	}
	p := Person{Address: person, Wallet: wallet, IDVHash: idv, RegisteredAt: ctx.Time.Unix(), Height: ctx.Height}
	put(ctx, personKey(person), p)
	setIndex(ctx, person, kindPerson, statusOK, nil)
	ctx.Emit("person_registered",
		module.Attr{Key: "person", Value: person.String(), Index: true},
		module.Attr{Key: "wallet", Value: wallet.String()})
	return nil
}

func (k *Keeper) handleAddDevice(ctx *module.Context, m *pb.MsgAddDevice) error {
	person, _ := chain.AddressFromBytes(m.Person)
	key, _ := chain.PubKeyFromProto(m.PubKey)
	if _, err := k.Person(ctx, person); err != nil {
		return err
	}
	actor, err := k.Authorize(ctx, person, ScopeManageDevices)
	if err != nil {
		return err
	}
	if err := k.requireSigned(ctx, key.Address(), "new device key (proof of possession)"); err != nil {
		return err
	}
	var limit *chain.Coin
	if m.ApproveLimit != nil {
		c, _ := bank.CoinFromProto(m.ApproveLimit)
		limit = &c
	}
	if actor != nil {
		if err := withinGrant(actor, m.Scopes, limit); err != nil {
			return err
		}
	}
	return k.addDevice(ctx, person, key, m.Kind, m.Label, m.Scopes, limit)
}

// withinGrant stops a device from granting more than it holds: scopes it
// lacks, or an approval limit above its own.
func withinGrant(actor *Device, scopes []string, limit *chain.Coin) error {
	for _, s := range scopes {
		if !actor.HasScope(s) {
			return chain.Wrapf(ErrDeviceScope, "device %s (%s) cannot grant scope %q it does not hold", actor.Address, actor.Label, s)
		}
	}
	if actor.ApproveLimit != nil && contains(scopes, ScopeApprove) {
		own, err := actor.ApproveLimit.Coin()
		if err != nil {
			return chain.Wrapf(chain.ErrInternal, "stored approve limit: %v", err)
		}
		if limit == nil || limit.Asset != own.Asset || limit.Amount.Cmp(own.Amount) > 0 {
			return chain.Wrapf(ErrDeviceScope, "device %s (%s) can grant approval only up to its own limit %s %s", actor.Address, actor.Label, own.Amount, own.Asset)
		}
	}
	return nil
}

func (k *Keeper) addDevice(ctx *module.Context, person chain.Address, key chain.PubKey, kind, label string, scopes []string, limit *chain.Coin) error {
	da := key.Address()
	if err := requireFree(ctx, da); err != nil {
		return err
	}
	n := 0
	st(ctx).Iterate(append([]byte("pd/"), person[:]...), func(_, _ []byte) bool { n++; return n < MaxDevices })
	if n >= MaxDevices {
		return chain.Wrapf(ErrTooMany, "%s already has %d devices", person, MaxDevices)
	}
	d := Device{Address: da, Person: person, Key: KeyOf(key), Kind: kind, Label: label,
		Scopes: slices.Clone(scopes), AddedAt: ctx.Time.Unix(), Height: ctx.Height}
	if limit != nil {
		if _, err := k.bank.Asset(ctx, limit.Asset); err != nil {
			return err
		}
		d.ApproveLimit = &Limit{Asset: limit.Asset, BaseUnits: limit.Amount.String()}
	}
	put(ctx, deviceKey(da), d)
	st(ctx).Set(personDeviceKey(person, da), []byte{})
	setIndex(ctx, da, kindDevice, statusOK, person[:])
	ctx.Emit("device_added",
		module.Attr{Key: "person", Value: person.String(), Index: true},
		module.Attr{Key: "device", Value: da.String(), Index: true},
		module.Attr{Key: "kind", Value: kind},
		module.Attr{Key: "scopes", Value: strings.Join(scopes, ",")})
	return nil
}

func (k *Keeper) handleRemoveDevice(ctx *module.Context, m *pb.MsgRemoveDevice) error {
	person, _ := chain.AddressFromBytes(m.Person)
	da, _ := chain.AddressFromBytes(m.Device)
	if _, err := k.Person(ctx, person); err != nil {
		return err
	}
	d, err := k.Device(ctx, da)
	if err != nil {
		return err
	}
	if d.Person != person {
		return chain.Wrapf(ErrDeviceNotOwned, "device %s belongs to %s, not %s", da, d.Person, person)
	}
	if _, err := k.Authorize(ctx, person, ScopeManageDevices); err != nil {
		return err
	}
	st(ctx).Delete(deviceKey(da))
	st(ctx).Delete(personDeviceKey(person, da))
	st(ctx).Delete(indexKey(da))
	ctx.Emit("device_removed",
		module.Attr{Key: "person", Value: person.String(), Index: true},
		module.Attr{Key: "device", Value: da.String(), Index: true})
	return nil
}

// review converts a validated review, checking its expiry against the
// block time and the longest validity allowed.
func (k *Keeper) review(ctx *module.Context, issuer chain.Address, r *pb.Review) (Attestation, error) {
	now := ctx.Time.Unix()
	if r.ExpiresAt <= now {
		return Attestation{}, chain.Wrapf(ErrAttestationExpired, "the review expires at %d, not after the block time %d", r.ExpiresAt, now)
	}
	var days int64
	if err := k.params.Get(ctx, ParamMaxReviewDays, &days); err != nil {
		return Attestation{}, err
	}
	if r.ExpiresAt-now > days*86400 {
		return Attestation{}, chain.Wrapf(ErrInvalidReview, "the review expires more than %d days after the block time", days)
	}
	return Attestation{Issuer: issuer, Items: slices.Clone(r.Items), Level: r.Level, ExpiresAt: r.ExpiresAt,
		EvidenceHash: r.EvidenceHash, AttestedAt: now, Height: ctx.Height}, nil
}

func (k *Keeper) handleOnboardAgent(ctx *module.Context, m *pb.MsgOnboardAgent) error {
	issuer, _ := chain.AddressFromBytes(m.Issuer)
	key, _ := chain.PubKeyFromProto(m.PubKey)
	if err := k.requireRole(ctx, issuer, consortium.RoleKYAIssuer); err != nil {
		return err
	}
	if err := k.requireSigned(ctx, key.Address(), "agent key (proof of possession)"); err != nil {
		return err
	}
	owner, _ := chain.AddressFromBytes(m.Owner)
	_, err := k.onboard(ctx, issuer, key, owner, m.Builder, m.Profile, m.Review)
	return err
}

func (k *Keeper) onboard(ctx *module.Context, issuer chain.Address, key chain.PubKey, owner chain.Address, builder string, p *pb.Profile, r *pb.Review) (*Agent, error) {
	if err := requireFree(ctx, key.Address()); err != nil {
		return nil, err
	}
	at, err := k.review(ctx, issuer, r)
	if err != nil {
		return nil, err
	}
	n := nextID(ctx, "agent")
	a := &Agent{
		ID: agentID(n), Key: KeyOf(key), KeyAddress: key.Address(), Owner: owner, Builder: builder,
		Issuer: issuer, OnboardedAt: ctx.Time.Unix(), Height: ctx.Height,
		Profile: Profile{Name: p.Name, Model: p.Model, Version: p.Version, Capabilities: slices.Clone(p.Capabilities),
			MetadataURI: p.MetadataUri, MetadataHash: p.MetadataHash},
		Attestations: []Attestation{at}, Suspensions: []Suspension{},
	}
	setIndex(ctx, a.KeyAddress, kindAgent, statusOK, agentPayload(n))
	ctx.Emit("created", module.Attr{Key: "id", Value: a.ID})
	ctx.Emit("agent_onboarded",
		module.Attr{Key: "agent_id", Value: a.ID, Index: true},
		module.Attr{Key: "issuer", Value: issuer.String(), Index: true},
		module.Attr{Key: "owner", Value: owner.String(), Index: true},
		module.Attr{Key: "level", Value: fmt.Sprint(at.Level)})
	return a, k.saveAgent(ctx, a)
}

// saveAgent stores the agent and tells the observer.
func (k *Keeper) saveAgent(ctx *module.Context, a *Agent) error {
	put(ctx, agentKey(a.number()), a)
	st(ctx).Set(agentStatusKey(a.number()), a.status())
	if k.observer != nil {
		return k.observer.AgentChanged(ctx, a.Facts())
	}
	return nil
}

func (k *Keeper) issuerAgent(ctx *module.Context, issuer chain.Address, id string) (*Agent, error) {
	if err := k.requireRole(ctx, issuer, consortium.RoleKYAIssuer); err != nil {
		return nil, err
	}
	return k.Agent(ctx, id)
}

func (k *Keeper) handleAttestAgent(ctx *module.Context, m *pb.MsgAttestAgent) error {
	issuer, _ := chain.AddressFromBytes(m.Issuer)
	a, err := k.issuerAgent(ctx, issuer, m.AgentId)
	if err != nil {
		return err
	}
	at, err := k.review(ctx, issuer, m.Review)
	if err != nil {
		return err
	}
	i, found := slices.BinarySearchFunc(a.Attestations, issuer, func(x Attestation, t chain.Address) int { return compareAddr(x.Issuer, t) })
	if found {
		a.Attestations[i] = at
	} else {
		if len(a.Attestations) >= MaxAttestations {
			return chain.Wrapf(ErrTooMany, "%s already has %d attestations", a.ID, MaxAttestations)
		}
		a.Attestations = slices.Insert(a.Attestations, i, at)
	}
	ctx.Emit("agent_attested",
		module.Attr{Key: "agent_id", Value: a.ID, Index: true},
		module.Attr{Key: "issuer", Value: issuer.String(), Index: true},
		module.Attr{Key: "level", Value: fmt.Sprint(at.Level)},
		module.Attr{Key: "expires_at", Value: fmt.Sprint(at.ExpiresAt)})
	return k.saveAgent(ctx, a)
}

func (k *Keeper) handleSuspendAgent(ctx *module.Context, m *pb.MsgSuspendAgent) error {
	issuer, _ := chain.AddressFromBytes(m.Issuer)
	a, err := k.issuerAgent(ctx, issuer, m.AgentId)
	if err != nil {
		return err
	}
	i, found := slices.BinarySearchFunc(a.Suspensions, issuer, func(x Suspension, t chain.Address) int { return compareAddr(x.Issuer, t) })
	if found {
		return chain.Wrapf(ErrAlreadySuspended, "%s already suspended %s", issuer, a.ID)
	}
	now := ctx.Time.Unix()
	a.Suspensions = slices.Insert(a.Suspensions, i, Suspension{Issuer: issuer, Reason: m.Reason, EvidenceHash: m.EvidenceHash, At: now, Height: ctx.Height})
	a.SuspensionCount++
	a.LastSuspendedAt = now
	setIndex(ctx, a.KeyAddress, kindAgent, statusBlocked, agentPayload(a.number()))
	ctx.Emit("agent_suspended",
		module.Attr{Key: "agent_id", Value: a.ID, Index: true},
		module.Attr{Key: "issuer", Value: issuer.String(), Index: true},
		module.Attr{Key: "reason", Value: m.Reason})
	return k.saveAgent(ctx, a)
}

func (k *Keeper) handleReinstateAgent(ctx *module.Context, m *pb.MsgReinstateAgent) error {
	issuer, _ := chain.AddressFromBytes(m.Issuer)
	a, err := k.issuerAgent(ctx, issuer, m.AgentId)
	if err != nil {
		return err
	}
	i, found := slices.BinarySearchFunc(a.Suspensions, issuer, func(x Suspension, t chain.Address) int { return compareAddr(x.Issuer, t) })
	if !found {
		// No suspension of its own: the issuer may lift the ledger's (see LedgerIssuer).
		if i, err = a.ledgerSuspension(issuer, ctx.Time.Unix()); err != nil {
			return err
		}
	}
	a.Suspensions = slices.Delete(a.Suspensions, i, i+1)
	if len(a.Suspensions) == 0 {
		setIndex(ctx, a.KeyAddress, kindAgent, statusOK, agentPayload(a.number()))
	}
	ctx.Emit("agent_reinstated",
		module.Attr{Key: "agent_id", Value: a.ID, Index: true},
		module.Attr{Key: "issuer", Value: issuer.String(), Index: true},
		module.Attr{Key: "still_suspended", Value: fmt.Sprint(len(a.Suspensions) > 0)})
	return k.saveAgent(ctx, a)
}

func (k *Keeper) handleRotateAgentKey(ctx *module.Context, m *pb.MsgRotateAgentKey) error {
	a, err := k.Agent(ctx, m.AgentId)
	if err != nil {
		return err
	}
	if err := k.requireSigned(ctx, a.Owner, "agent's owner"); err != nil {
		return err
	}
	key, _ := chain.PubKeyFromProto(m.NewKey)
	if err := k.requireSigned(ctx, key.Address(), "new agent key (proof of possession)"); err != nil {
		return err
	}
	if err := requireFree(ctx, key.Address()); err != nil {
		return err
	}
	_, status, _, _ := lookupIndex(ctx, a.KeyAddress)
	st(ctx).Delete(indexKey(a.KeyAddress))
	setIndex(ctx, key.Address(), kindAgent, status, agentPayload(a.number()))
	old := a.KeyAddress
	a.Key, a.KeyAddress = KeyOf(key), key.Address()
	a.KeyRotations++
	a.LastRotatedAt = ctx.Time.Unix()
	ctx.Emit("agent_key_rotated",
		module.Attr{Key: "agent_id", Value: a.ID, Index: true},
		module.Attr{Key: "old_key", Value: old.String()},
		module.Attr{Key: "new_key", Value: a.KeyAddress.String()})
	return k.saveAgent(ctx, a)
}

func (k *Keeper) handleRegisterMerchant(ctx *module.Context, m *pb.MsgRegisterMerchant) error {
	acq, _ := chain.AddressFromBytes(m.Acquirer)
	ma, _ := chain.AddressFromBytes(m.Merchant)
	if err := k.requireRole(ctx, acq, consortium.RoleAcquirer); err != nil {
		return err
	}
	if err := k.requireSigned(ctx, ma, "merchant"); err != nil {
		return err
	}
	var seller *chain.PubKey
	if m.SellerAgentKey != nil {
		s, _ := chain.PubKeyFromProto(m.SellerAgentKey)
		if err := k.requireSigned(ctx, s.Address(), "seller agent key (proof of possession)"); err != nil {
			return err
		}
		seller = &s
	}
	settle, _ := chain.AddressFromBytes(m.Settlement)
	return k.registerMerchant(ctx, Merchant{Address: ma, Acquirer: acq, Name: m.Name, MCC: m.Mcc, Country: m.Country, Settlement: settle}, seller)
}

func (k *Keeper) registerMerchant(ctx *module.Context, mr Merchant, seller *chain.PubKey) error {
	if _, err := k.Merchant(ctx, mr.Address); err == nil {
		return chain.Wrapf(ErrMerchantExists, "%s", mr.Address)
	}
	if err := requireFree(ctx, mr.Address); err != nil {
		return err
	}
	if seller != nil {
		if seller.Address() == mr.Address {
			return chain.Wrapf(ErrKeyInUse, "the seller agent key is the merchant's own key")
		}
		if err := requireFree(ctx, seller.Address()); err != nil {
			return err
		}
		sk := KeyOf(*seller)
		mr.SellerAgentKey = &sk
		setIndex(ctx, seller.Address(), kindSellerKey, statusOK, mr.Address[:])
	}
	mr.RegisteredAt, mr.Height = ctx.Time.Unix(), ctx.Height
	put(ctx, merchantKey(mr.Address), mr)
	st(ctx).Set(merchantInfoKey(mr.Address), mr.info())
	setIndex(ctx, mr.Address, kindMerchant, statusOK, nil)
	ctx.Emit("merchant_registered",
		module.Attr{Key: "merchant", Value: mr.Address.String(), Index: true},
		module.Attr{Key: "acquirer", Value: mr.Acquirer.String(), Index: true},
		module.Attr{Key: "mcc", Value: mr.MCC})
	return nil
}

func (k *Keeper) handleBindAgent(ctx *module.Context, m *pb.MsgBindAgent) error {
	person, _ := chain.AddressFromBytes(m.Person)
	if _, err := k.Person(ctx, person); err != nil {
		return err
	}
	if _, err := k.Authorize(ctx, person, ScopeBind); err != nil {
		return err
	}
	_, err := k.bind(ctx, person, m.AgentId)
	return err
}

func (k *Keeper) bind(ctx *module.Context, person chain.Address, agentID string) (*Binding, error) {
	a, err := k.RequireAgent(ctx, agentID)
	if err != nil {
		return nil, err
	}
	an := a.number()
	if st(ctx).Get(pairKey(person, an)) != nil {
		return nil, chain.Wrapf(ErrAlreadyBound, "%s is already bound to %s", a.ID, person)
	}
	count := 0
	st(ctx).Iterate(append([]byte("pb/"), person[:]...), func(_, _ []byte) bool { count++; return count < MaxBindings })
	if count >= MaxBindings {
		return nil, chain.Wrapf(ErrTooMany, "%s already has %d bindings", person, MaxBindings)
	}
	n := nextID(ctx, "binding")
	b := &Binding{ID: fmt.Sprintf("binding-%d", n), Person: person, AgentID: a.ID, CreatedAt: ctx.Time.Unix(), Height: ctx.Height}
	put(ctx, bindingKey(n), b)
	st(ctx).Set(personBindingKey(person, n), []byte{})
	st(ctx).Set(agentBindingKey(an, n), []byte{})
	st(ctx).Set(pairKey(person, an), binary.BigEndian.AppendUint64(nil, n))
	ctx.Emit("created", module.Attr{Key: "id", Value: b.ID})
	ctx.Emit("agent_bound",
		module.Attr{Key: "binding_id", Value: b.ID, Index: true},
		module.Attr{Key: "person", Value: person.String(), Index: true},
		module.Attr{Key: "agent_id", Value: a.ID, Index: true})
	return b, nil
}

func (k *Keeper) handleUnbindAgent(ctx *module.Context, m *pb.MsgUnbindAgent) error {
	b, err := k.Binding(ctx, m.BindingId)
	if err != nil {
		return err
	}
	a, err := k.Agent(ctx, b.AgentID)
	if err != nil {
		return err
	}
	by := "agent"
	switch {
	case ctx.SignedBy(a.KeyAddress) || ctx.SignedBy(a.Owner):
	default:
		if _, err := k.Authorize(ctx, b.Person, ScopeBind); err != nil {
			return chain.Wrapf(ErrBindingNotOwned, "%s (%v)", b.ID, err)
		}
		by = "person"
	}
	n, _ := parseID(b.ID, "binding-")
	an := a.number()
	st(ctx).Delete(bindingKey(n))
	st(ctx).Delete(personBindingKey(b.Person, n))
	st(ctx).Delete(agentBindingKey(an, n))
	st(ctx).Delete(pairKey(b.Person, an))
	ctx.Emit("agent_unbound",
		module.Attr{Key: "binding_id", Value: b.ID, Index: true},
		module.Attr{Key: "person", Value: b.Person.String(), Index: true},
		module.Attr{Key: "agent_id", Value: a.ID, Index: true},
		module.Attr{Key: "by", Value: by})
	return nil
}

func compareAddr(a, b chain.Address) int { return bytes.Compare(a[:], b[:]) }

// PriorityMsgTypes are the messages a block proposer puts first: a
// suspension takes effect before the agent's txs in the same block.
func (k *Keeper) PriorityMsgTypes() []string {
	return []string{chain.MsgType(&pb.MsgSuspendAgent{})}
}
