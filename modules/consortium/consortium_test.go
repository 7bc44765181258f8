package consortium

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
)

func addr(b byte) chain.Address {
	var a chain.Address
	a[0], a[19] = b, 1
	return a
}

var consKey = base64.StdEncoding.EncodeToString(make([]byte, 32))

func TestGenesisValidation(t *testing.T) {
	valid := Member{Name: "wallet-a", Address: addr(1), Roles: []string{RoleValidator, RoleAssetIssuer},
		Validator: &Validator{PubKey: consKey, Power: 10}}
	with := func(edit func(m *Member)) Member {
		m := valid
		m.Roles = append([]string(nil), valid.Roles...)
		v := *valid.Validator
		m.Validator = &v
		edit(&m)
		return m
	}
	cases := []struct {
		name    string
		members []Member
		want    *chain.Error
	}{
		{"valid", []Member{valid}, nil},
		{"no members", nil, ErrInvalidMember},
		{"unknown role", []Member{with(func(m *Member) { m.Roles = append(m.Roles, "king") })}, ErrUnknownRole},
		{"role twice", []Member{with(func(m *Member) { m.Roles = append(m.Roles, RoleValidator) })}, ErrInvalidMember},
		{"no roles", []Member{with(func(m *Member) { m.Roles = nil; m.Validator = nil })}, ErrInvalidMember},
		{"empty name", []Member{with(func(m *Member) { m.Name = "" })}, ErrInvalidMember},
		{"zero address", []Member{with(func(m *Member) { m.Address = chain.Address{} })}, chain.ErrInvalidAddress},
		{"key without validator role", []Member{with(func(m *Member) { m.Roles = []string{RoleAcquirer} })}, ErrInvalidMember},
		{"short consensus key", []Member{with(func(m *Member) { m.Validator.PubKey = "AAAA" })}, ErrInvalidMember},
		{"zero power", []Member{with(func(m *Member) { m.Validator.Power = 0 })}, ErrInvalidMember},
		{"same address twice", []Member{valid, with(func(m *Member) { m.Name = "other"; m.Validator = nil })}, ErrInvalidMember},
		{"same consensus key twice", []Member{valid, with(func(m *Member) { m.Name = "other"; m.Address = addr(2) })}, ErrInvalidMember},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := module.NewMemStore()
			ctx := module.NewContext("test", 0, time.Time{}, st, nil, nil)
			raw, _ := json.Marshal(Genesis{Members: tc.members})
			err := New(params.New()).InitGenesis(ctx, raw)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %s", err, tc.want.Reason)
			}
		})
	}
}

func TestRolesAndQueries(t *testing.T) {
	st := module.NewMemStore()
	ctx := module.NewContext("test", 0, time.Time{}, st, nil, nil)
	m := New(params.New())
	raw, _ := json.Marshal(Genesis{Members: []Member{
		{Name: "acq", Address: addr(3), Roles: []string{RoleAcquirer}},
		{Name: "val", Address: addr(1), Roles: []string{RoleValidator, RoleKYAIssuer}, Validator: &Validator{PubKey: consKey, Power: 1}},
	}})
	if err := m.InitGenesis(ctx, raw); err != nil {
		t.Fatal(err)
	}
	if err := m.RequireRole(ctx, addr(3), RoleAcquirer); err != nil {
		t.Error(err)
	}
	if err := m.RequireRole(ctx, addr(3), RoleAssetIssuer); !errors.Is(err, ErrMissingRole) {
		t.Errorf("missing role: %v", err)
	}
	if err := m.RequireRole(ctx, addr(9), RoleAcquirer); !errors.Is(err, ErrNotMember) {
		t.Errorf("non-member: %v", err)
	}
	all, _ := m.Members(ctx)
	if len(all) != 2 || all[0].Name != "val" {
		t.Errorf("members not in address order: %+v", all)
	}
	vals, _ := m.Validators(ctx)
	if len(vals) != 1 || vals[0].Name != "val" {
		t.Errorf("validators: %+v", vals)
	}
	if _, err := m.Query(ctx, []string{"member", "nonsense"}); !errors.Is(err, chain.ErrInvalidAddress) {
		t.Errorf("bad address query: %v", err)
	}
	if _, err := m.Query(ctx, []string{"nope"}); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("unknown query: %v", err)
	}
}
