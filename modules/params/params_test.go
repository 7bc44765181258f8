package params

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/amp-ledger/amp/modules/module"
)

func TestDefaultsOverridesAndRaw(t *testing.T) {
	k := New()
	k.Declare(Def{Key: "m.n", Default: 5, Validate: func(raw json.RawMessage) error {
		var n int
		if err := json.Unmarshal(raw, &n); err != nil || n < 1 {
			return errors.New("want a positive number")
		}
		return nil
	}})
	k.Declare(Def{Key: "m.list", Default: []string{"a", "b"}})
	ctx := module.NewContext("t", 1, time.Time{}, module.NewMemStore(), nil, nil)
	if raw, err := k.Raw(ctx, "m.list"); err != nil || string(raw) != `["a","b"]` {
		t.Fatalf("default raw %s, %v", raw, err)
	}
	if err := k.InitGenesis(ctx, json.RawMessage(`{"m.n": 7}`)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := k.Get(ctx, "m.n", &n); err != nil || n != 7 {
		t.Fatalf("m.n = %d, %v", n, err)
	}
	if err := k.Set(ctx, "m.n", json.RawMessage(`0`)); !errors.Is(err, ErrInvalidParam) {
		t.Fatalf("invalid value accepted: %v", err)
	}
	if err := k.Set(ctx, "m.n", json.RawMessage(` 9 `)); err != nil {
		t.Fatal(err)
	}
	if raw, _ := k.Raw(ctx, "m.n"); string(raw) != "9" {
		t.Fatalf("stored raw %q, want compact 9", raw)
	}
	if _, err := k.Raw(ctx, "m.unknown"); !errors.Is(err, ErrInvalidParam) {
		t.Fatalf("unknown param: %v", err)
	}
}
