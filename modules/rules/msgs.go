package rules

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/contracts"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/modules/module"
)

// Routes are the module's messages.
func (k *Keeper) Routes() []module.Route {
	return []module.Route{
		module.NewRoute(validateDeploy, k.handleDeploy),
		module.NewRoute(validateBind, k.handleBind),
		module.NewRoute(validateUpgrade, k.handleUpgrade),
		module.NewRoute(validateUnbind, k.handleUnbind),
		module.NewRoute(validateSetState, k.handleSetState),
		module.NewRoute(validateUpload, k.handleUpload),
	}
}

func validMerchant(b []byte) error {
	if _, err := chain.AddressFromBytes(b); err != nil {
		return fmt.Errorf("merchant: %w", err)
	}
	return nil
}

func validHook(h pb.Hook) error {
	if _, ok := hookNames[h]; !ok {
		return chain.Wrapf(chain.ErrInvalidRequest, "hook must be payment, claim or query")
	}
	return nil
}

func validateDeploy(m *pb.MsgDeployRule) error {
	if err := validMerchant(m.Merchant); err != nil {
		return err
	}
	switch {
	case len(m.Code) == 0 && len(m.CodeHash) != 32:
		return chain.Wrapf(ErrRuleInvalid, "no code: give the code, or the 32-byte hash of an upload")
	case len(m.Code) > 0 && len(m.CodeHash) > 0:
		return chain.Wrapf(ErrRuleInvalid, "give the code or the hash of an upload, not both")
	}
	if len(m.Label) > 64 || !utf8.ValidString(m.Label) || strings.IndexFunc(m.Label, func(r rune) bool { return r < 0x20 }) >= 0 {
		return chain.Wrapf(chain.ErrInvalidRequest, "label must be UTF-8 text of at most 64 bytes")
	}
	return nil
}

func validateBind(m *pb.MsgBindRule) error {
	if err := validMerchant(m.Merchant); err != nil {
		return err
	}
	if _, err := ParseRuleID(m.RuleId); err != nil {
		return err
	}
	return validHook(m.Hook)
}

func validateUpgrade(m *pb.MsgUpgradeRule) error {
	return validateBind(&pb.MsgBindRule{Merchant: m.Merchant, RuleId: m.RuleId, Hook: m.Hook})
}

func validateUnbind(m *pb.MsgUnbindRule) error {
	if err := validMerchant(m.Merchant); err != nil {
		return err
	}
	return validHook(m.Hook)
}

func validateSetState(m *pb.MsgSetRuleState) error {
	if err := validMerchant(m.Merchant); err != nil {
		return err
	}
	if len(m.Key) == 0 || len(m.Key) > contracts.MaxKey || len(m.Value) > contracts.MaxValue {
		return chain.Wrapf(ErrInvalidRuleState, "key of %d bytes, value of %d bytes", len(m.Key), len(m.Value))
	}
	return nil
}

// merchant checks that the merchant is registered and that the tx is
// signed by it or by its acquirer.
func (k *Keeper) merchant(ctx *module.Context, b []byte) (*identity.MerchantInfo, error) {
	a, _ := chain.AddressFromBytes(b)
	m, err := k.identity.MerchantInfoOf(ctx, a)
	if err != nil {
		return nil, err
	}
	if !ctx.SignedBy(a) && !ctx.SignedBy(m.Acquirer) {
		return nil, chain.Wrapf(chain.ErrUnauthorized, "merchant %s's rules are managed by the merchant or its acquirer", a)
	}
	return m, nil
}

func (k *Keeper) handleDeploy(ctx *module.Context, m *pb.MsgDeployRule) error {
	mer, err := k.merchant(ctx, m.Merchant)
	if err != nil {
		return err
	}
	lim, err := k.limits(ctx)
	if err != nil {
		return err
	}
	var sched contracts.GasSchedule
	if err := k.params.Get(ctx, ParamGasSchedule, &sched); err != nil {
		return err
	}
	code := m.Code
	if len(code) == 0 {
		if code, err = k.takeUpload(ctx, mer.Address, m.CodeHash); err != nil {
			return err
		}
	}
	metered, problems := Check(code, lim, sched)
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = string(p.Code)
		}
		// Only the problem codes enter the result: their messages may
		// change between releases.
		return chain.Wrapf(ErrRuleInvalid, "%s", strings.Join(msgs, ", "))
	}
	ch, mh := sum(code), sum(metered)
	s := st(ctx)
	if s.Get(codeKey(ch)) == nil {
		s.Set(codeKey(ch), code)
	}
	if s.Get(meteredKey(mh)) == nil {
		s.Set(meteredKey(mh), metered)
	}
	n := uint64(1)
	if v := s.Get([]byte("n/rule")); len(v) == 8 {
		n = binary.BigEndian.Uint64(v) + 1
	}
	s.Set([]byte("n/rule"), binary.BigEndian.AppendUint64(nil, n))
	r := Rule{ID: RuleID(n), Merchant: mer.Address, Label: m.Label, CodeHash: hexHash(ch), MeteredHash: hexHash(mh), Size: len(code),
		ABI: contracts.ABIVersion, GasScheduleVersion: sched.Version, InstrumentVersion: contracts.InstrumentVersion,
		DeployGas: sched.DeployByte * uint64(len(code)), DeployedHeight: ctx.Height}
	b, _ := json.Marshal(r)
	s.Set(ruleKey(n), b)
	ctx.UseGas(r.DeployGas)
	ctx.Emit("created", module.Attr{Key: "id", Value: r.ID})
	ctx.Emit("rule_deployed",
		module.Attr{Key: "rule_id", Value: r.ID, Index: true},
		module.Attr{Key: "merchant", Value: mer.Address.String(), Index: true},
		module.Attr{Key: "code_hash", Value: r.CodeHash},
		module.Attr{Key: "size", Value: fmt.Sprint(r.Size)},
		module.Attr{Key: "deploy_gas", Value: fmt.Sprint(r.DeployGas)})
	return nil
}

// ownRule returns the rule if the merchant deployed it.
func (k *Keeper) ownRule(ctx *module.Context, merchant chain.Address, id string) (uint64, *Rule, error) {
	n, _ := ParseRuleID(id)
	r, err := k.Rule(ctx, n)
	if err != nil {
		return 0, nil, err
	}
	if r.Merchant != merchant {
		return 0, nil, chain.Wrapf(ErrRuleNotOwned, "%s belongs to %s", id, r.Merchant)
	}
	return n, r, nil
}

func (k *Keeper) bind(ctx *module.Context, merchant chain.Address, hook pb.Hook, n uint64, r *Rule, event string) {
	mh, _ := hexDecode32(r.MeteredHash)
	version := uint32(1)
	if v := st(ctx).Get(versionKey(merchant, hook)); len(v) == 4 {
		version = binary.BigEndian.Uint32(v) + 1
	}
	st(ctx).Set(versionKey(merchant, hook), binary.BigEndian.AppendUint32(nil, version))
	v := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, n), version)
	st(ctx).Set(bindingKey(merchant, hook), append(v, mh[:]...))
	ctx.Emit(event,
		module.Attr{Key: "merchant", Value: merchant.String(), Index: true},
		module.Attr{Key: "hook", Value: HookName(hook)},
		module.Attr{Key: "rule_id", Value: r.ID, Index: true},
		module.Attr{Key: "version", Value: fmt.Sprint(version)})
}

func (k *Keeper) handleBind(ctx *module.Context, m *pb.MsgBindRule) error {
	mer, err := k.merchant(ctx, m.Merchant)
	if err != nil {
		return err
	}
	n, r, err := k.ownRule(ctx, mer.Address, m.RuleId)
	if err != nil {
		return err
	}
	if _, bound := k.BindingOf(ctx, mer.Address, m.Hook); bound {
		return chain.Wrapf(ErrHookBound, "merchant %s's %s hook is bound", mer.Address, HookName(m.Hook))
	}
	k.bind(ctx, mer.Address, m.Hook, n, r, "rule_bound")
	return nil
}

func (k *Keeper) handleUpgrade(ctx *module.Context, m *pb.MsgUpgradeRule) error {
	mer, err := k.merchant(ctx, m.Merchant)
	if err != nil {
		return err
	}
	n, r, err := k.ownRule(ctx, mer.Address, m.RuleId)
	if err != nil {
		return err
	}
	if _, bound := k.BindingOf(ctx, mer.Address, m.Hook); !bound {
		return chain.Wrapf(ErrHookUnbound, "merchant %s's %s hook is free: bind instead", mer.Address, HookName(m.Hook))
	}
	k.bind(ctx, mer.Address, m.Hook, n, r, "rule_upgraded")
	return nil
}

func (k *Keeper) handleUnbind(ctx *module.Context, m *pb.MsgUnbindRule) error {
	mer, err := k.merchant(ctx, m.Merchant)
	if err != nil {
		return err
	}
	if _, bound := k.BindingOf(ctx, mer.Address, m.Hook); !bound {
		return chain.Wrapf(ErrHookUnbound, "merchant %s's %s hook is free", mer.Address, HookName(m.Hook))
	}
	st(ctx).Delete(bindingKey(mer.Address, m.Hook))
	ctx.Emit("rule_unbound",
		module.Attr{Key: "merchant", Value: mer.Address.String(), Index: true},
		module.Attr{Key: "hook", Value: HookName(m.Hook)})
	return nil
}

func (k *Keeper) handleSetState(ctx *module.Context, m *pb.MsgSetRuleState) error {
	mer, err := k.merchant(ctx, m.Merchant)
	if err != nil {
		return err
	}
	key := append(statePrefix(mer.Address), m.Key...)
	if len(m.Value) == 0 {
		st(ctx).Delete(key)
	} else {
		st(ctx).Set(key, m.Value)
	}
	ctx.Emit("rule_state_set",
		module.Attr{Key: "merchant", Value: mer.Address.String(), Index: true},
		module.Attr{Key: "key", Value: fmt.Sprintf("%x", m.Key)},
		module.Attr{Key: "deleted", Value: fmt.Sprint(len(m.Value) == 0)})
	return nil
}
