package consortium

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
)

// Name is the module's store prefix and query path.
const Name = "consortium"

// Roles a member may hold.
const (
	RoleValidator   = "validator"    // runs a validator node
	RoleKYAIssuer   = "kya_issuer"   // onboards and attests agents (AMP's Credential Provider)
	RoleAcquirer    = "acquirer"     // registers merchants
	RoleAssetIssuer = "asset_issuer" // mints and burns assets
	RoleArbiter     = "arbiter"      // rules on contested money-back claims when payments.arbiter is "arbiter_role"
)

// AllRoles lists the roles in a fixed order.
var AllRoles = []string{RoleValidator, RoleKYAIssuer, RoleAcquirer, RoleAssetIssuer, RoleArbiter}

// Errors of this module.
var (
	ErrUnknownRole   = chain.RegisterError(201, "unknown_role", "a role name is not one of validator, kya_issuer, acquirer, asset_issuer, arbiter")
	ErrNotMember     = chain.RegisterError(202, "not_member", "the account is not a consortium member")
	ErrMissingRole   = chain.RegisterError(203, "missing_role", "the member does not hold the role this action needs")
	ErrInvalidMember = chain.RegisterError(204, "invalid_member", "a member record is malformed or duplicated")
)

// Validator is a member's consensus key and voting power.
type Validator struct {
	// PubKey is the base64 ed25519 consensus public key (CometBFT's
	// priv_validator_key.json "pub_key.value").
	PubKey string `json:"pub_key"`
	Power  int64  `json:"power"`
}

// Member is one consortium member.
type Member struct {
	Name      string        `json:"name"`
	Address   chain.Address `json:"address"`
	Roles     []string      `json:"roles"`
	Validator *Validator    `json:"validator,omitempty"`
	// NodeID is the member's CometBFT node ID (40 lower-case hex
	// characters); only members' nodes are accepted as peers.
	NodeID string `json:"node_id,omitempty"`
}

// HasRole reports whether the member holds role.
func (m *Member) HasRole(role string) bool {
	for _, r := range m.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Genesis is the module's part of app_state.
type Genesis struct {
	Members []Member `json:"members"`
}

// Module is the consortium module.
type Module struct {
	params *params.Keeper
}

// New returns the module. Its governance parameters are declared in ps,
// whose values passed proposals may change.
func New(ps *params.Keeper) *Module {
	declareParams(ps)
	return &Module{params: ps}
}

func (*Module) Name() string { return Name }

func memberKey(a chain.Address) []byte { return append([]byte("m/"), a[:]...) }

// Member returns the member at address, or ErrNotMember.
func (*Module) Member(ctx *module.Context, a chain.Address) (*Member, error) {
	b := ctx.Store(Name + "/").Get(memberKey(a))
	if b == nil {
		return nil, chain.Wrapf(ErrNotMember, "%s", a)
	}
	var m Member
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, chain.Wrapf(chain.ErrInternal, "stored member %s: %v", a, err)
	}
	return &m, nil
}

// RequireRole returns nil if address is a member holding role, and
// ErrNotMember or ErrMissingRole otherwise.
func (m *Module) RequireRole(ctx *module.Context, a chain.Address, role string) error {
	mem, err := m.Member(ctx, a)
	if err != nil {
		return err
	}
	if !mem.HasRole(role) {
		return chain.Wrapf(ErrMissingRole, "member %s (%s) lacks role %s", mem.Name, a, role)
	}
	return nil
}

// Members returns every member in address order.
func (*Module) Members(ctx *module.Context) ([]Member, error) {
	var out []Member
	var err error
	ctx.Store(Name+"/").Iterate([]byte("m/"), func(_, v []byte) bool {
		var m Member
		if err = json.Unmarshal(v, &m); err != nil {
			return false
		}
		out = append(out, m)
		return true
	})
	return out, err
}

// Validators returns the validator members in address order.
func (m *Module) Validators(ctx *module.Context) ([]Member, error) {
	all, err := m.Members(ctx)
	if err != nil {
		return nil, err
	}
	var out []Member
	for _, mem := range all {
		if mem.Validator != nil {
			out = append(out, mem)
		}
	}
	return out, nil
}

// ValidateMember checks a member record on its own.
func ValidateMember(m *Member) error {
	if m.Name == "" || len(m.Name) > 64 || strings.TrimSpace(m.Name) != m.Name {
		return chain.Wrapf(ErrInvalidMember, "member name %q must have 1-64 characters without surrounding space", m.Name)
	}
	if m.Address.IsZero() {
		return chain.Wrapf(ErrInvalidMember, "member %s has no address", m.Name)
	}
	if len(m.Roles) == 0 {
		return chain.Wrapf(ErrInvalidMember, "member %s has no role", m.Name)
	}
	seen := map[string]bool{}
	for _, r := range m.Roles {
		if !isRole(r) {
			return chain.Wrapf(ErrUnknownRole, "member %s: role %q", m.Name, r)
		}
		if seen[r] {
			return chain.Wrapf(ErrInvalidMember, "member %s lists role %s twice", m.Name, r)
		}
		seen[r] = true
	}
	if m.NodeID != "" && !validNodeID(m.NodeID) {
		return chain.Wrapf(ErrInvalidMember, "member %s: node id must be 40 lower-case hex characters", m.Name)
	}
	if m.HasRole(RoleValidator) && m.Validator == nil {
		return chain.Wrapf(ErrInvalidMember, "member %s has the validator role but no consensus key", m.Name)
	}
	if m.Validator != nil {
		if !m.HasRole(RoleValidator) {
			return chain.Wrapf(ErrInvalidMember, "member %s has a consensus key but not the validator role", m.Name)
		}
		k, err := base64.StdEncoding.DecodeString(m.Validator.PubKey)
		if err != nil || len(k) != 32 {
			return chain.Wrapf(ErrInvalidMember, "member %s: consensus key must be 32 bytes of base64 ed25519", m.Name)
		}
		if m.Validator.Power <= 0 {
			return chain.Wrapf(ErrInvalidMember, "member %s: validator power must be positive", m.Name)
		}
	}
	return nil
}

func isRole(r string) bool {
	for _, x := range AllRoles {
		if x == r {
			return true
		}
	}
	return false
}

// InitGenesis stores the genesis members.
func (*Module) InitGenesis(ctx *module.Context, raw json.RawMessage) error {
	var g Genesis
	if err := json.Unmarshal(raw, &g); err != nil {
		return fmt.Errorf("consortium genesis: %w", err)
	}
	if len(g.Members) == 0 {
		return chain.Wrapf(ErrInvalidMember, "genesis needs at least one member")
	}
	st := ctx.Store(Name + "/")
	names, keys := map[string]bool{}, map[string]bool{}
	for i := range g.Members {
		m := &g.Members[i]
		if err := ValidateMember(m); err != nil {
			return err
		}
		if names[m.Name] || st.Get(memberKey(m.Address)) != nil {
			return chain.Wrapf(ErrInvalidMember, "member %s (%s) appears twice", m.Name, m.Address)
		}
		names[m.Name] = true
		if m.Validator != nil {
			if keys[m.Validator.PubKey] {
				return chain.Wrapf(ErrInvalidMember, "consensus key of %s is used twice", m.Name)
			}
			keys[m.Validator.PubKey] = true
		}
		if m.NodeID != "" && st.Get(nodeKey(m.NodeID)) != nil {
			return chain.Wrapf(ErrInvalidMember, "node id of %s is used twice", m.Name)
		}
		putMember(ctx, m)
	}
	return nil
}

func nodeKey(id string) []byte { return []byte("n/" + id) }

func validNodeID(id string) bool {
	if len(id) != 40 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// putMember stores a member (roles sorted) and its node-id index.
func putMember(ctx *module.Context, m *Member) {
	st := ctx.Store(Name + "/")
	roles := append([]string(nil), m.Roles...)
	sort.Strings(roles)
	m.Roles = roles
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("consortium: encode member: %v", err)) // plain struct: cannot fail
	}
	st.Set(memberKey(m.Address), b)
	if m.NodeID != "" {
		st.Set(nodeKey(m.NodeID), m.Address[:])
	}
}

// deleteMember removes a member and its node-id index. A validator's node
// stays acceptable as a peer until its removal takes effect in CometBFT
// (two blocks on): it still signs until then, and cutting it off earlier
// could stall a small network.
func deleteMember(ctx *module.Context, m *Member) {
	st := ctx.Store(Name + "/")
	st.Delete(memberKey(m.Address))
	if m.NodeID == "" {
		return
	}
	if m.Validator != nil {
		st.Set(nodeKey(m.NodeID), be64(uint64(ctx.Height+2)))
	} else {
		st.Delete(nodeKey(m.NodeID))
	}
}

// AllowsPeer reports whether a CometBFT node ID belongs to a current member
// (or to a removed validator whose removal has not taken effect yet): the
// answer to the permissioned network's peer filter. ctx.Height is the last
// committed height.
func (*Module) AllowsPeer(ctx *module.Context, nodeID string) bool {
	if !validNodeID(nodeID) {
		return false
	}
	v := ctx.Store(Name + "/").Get(nodeKey(nodeID))
	switch len(v) {
	case chain.AddressLen:
		return true
	case 8: // a removed validator's node, allowed until that height
		return ctx.Height < int64(binary.BigEndian.Uint64(v))
	}
	return false
}

// Query answers /consortium/members, /consortium/member/<address>,
// /consortium/proposals, /consortium/proposal/<id> and
// /consortium/validators.
func (c *Module) Query(ctx *module.Context, path []string) (any, error) {
	switch {
	case len(path) == 1 && path[0] == "proposals":
		return c.Proposals(ctx)
	case len(path) == 2 && path[0] == "proposal":
		id, err := strconv.ParseUint(path[1], 10, 64)
		if err != nil {
			return nil, chain.Wrapf(chain.ErrInvalidRequest, "proposal id %q", path[1])
		}
		p, err := c.Proposal(ctx, id)
		if err != nil {
			return nil, err
		}
		return p.view(), nil
	case len(path) == 1 && path[0] == "validators":
		vs, err := c.Validators(ctx)
		if vs == nil {
			vs = []Member{}
		}
		return vs, err
	case len(path) == 1 && path[0] == "members":
		ms, err := c.Members(ctx)
		if ms == nil {
			ms = []Member{}
		}
		return ms, err
	case len(path) == 2 && path[0] == "member":
		a, err := chain.ParseAddress(path[1])
		if err != nil {
			return nil, err
		}
		return c.Member(ctx, a)
	}
	return nil, chain.Wrapf(chain.ErrNotFound, "no consortium query %q", strings.Join(path, "/"))
}
