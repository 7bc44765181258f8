package identity

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/amp-ledger/amp/modules/module"
)

// Invariants: every binding points to an existing person and agent and is
// indexed both ways exactly once; every device belongs to exactly one
// registered person; the key index agrees with the records; an agent's key
// is blocked exactly while a suspension stands (so suspended agents
// authorise nothing).
func (k *Keeper) Invariants() []module.Invariant {
	return []module.Invariant{
		{Name: "identity/devices", Check: k.checkDevices},
		{Name: "identity/agents", Check: k.checkAgents},
		{Name: "identity/bindings", Check: k.checkBindings},
		{Name: "identity/merchants", Check: k.checkMerchants},
	}
}

func (k *Keeper) checkDevices(ctx *module.Context) error {
	var err error
	devices := 0
	st(ctx).Iterate([]byte("d/"), func(key, v []byte) bool {
		devices++
		var d Device
		if err = json.Unmarshal(v, &d); err != nil {
			return false
		}
		if _, e := k.Person(ctx, d.Person); e != nil {
			err = fmt.Errorf("device %s belongs to unregistered person %s", d.Address, d.Person)
			return false
		}
		if st(ctx).Get(personDeviceKey(d.Person, d.Address)) == nil {
			err = fmt.Errorf("device %s missing from the index of %s", d.Address, d.Person)
			return false
		}
		kind, _, p, ok := lookupIndex(ctx, d.Address)
		if !ok || kind != kindDevice || !bytes.Equal(p, d.Person[:]) {
			err = fmt.Errorf("key index of device %s disagrees", d.Address)
			return false
		}
		pk, e := d.Key.PubKey()
		if e != nil || pk.Address() != d.Address {
			err = fmt.Errorf("device %s: stored key does not match its address", d.Address)
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	indexed := 0
	st(ctx).Iterate([]byte("pd/"), func(_, _ []byte) bool { indexed++; return true })
	if indexed != devices {
		return fmt.Errorf("%d devices but %d person-device index entries", devices, indexed)
	}
	return nil
}

func (k *Keeper) checkAgents(ctx *module.Context) error {
	var err error
	st(ctx).Iterate([]byte("a/"), func(key, v []byte) bool {
		var a Agent
		if err = json.Unmarshal(v, &a); err != nil {
			return false
		}
		kind, status, p, ok := lookupIndex(ctx, a.KeyAddress)
		if !ok || kind != kindAgent || agentNumber(p) != binary.BigEndian.Uint64(key[2:]) {
			err = fmt.Errorf("key index of %s disagrees", a.ID)
			return false
		}
		if blocked := status == statusBlocked; blocked != (len(a.Suspensions) > 0) {
			err = fmt.Errorf("%s: key blocked=%v but %d standing suspensions", a.ID, blocked, len(a.Suspensions))
			return false
		}
		if !bytes.Equal(st(ctx).Get(agentStatusKey(a.number())), a.status()) {
			err = fmt.Errorf("%s: compact status record disagrees with the agent", a.ID)
			return false
		}
		return true
	})
	return err
}

func (k *Keeper) checkBindings(ctx *module.Context) error {
	var err error
	n := 0
	st(ctx).Iterate([]byte("b/"), func(key, v []byte) bool {
		n++
		var b Binding
		if err = json.Unmarshal(v, &b); err != nil {
			return false
		}
		if _, e := k.Person(ctx, b.Person); e != nil {
			err = fmt.Errorf("binding %s: person %s not registered", b.ID, b.Person)
			return false
		}
		a, e := k.Agent(ctx, b.AgentID)
		if e != nil {
			err = fmt.Errorf("binding %s: agent %s does not exist", b.ID, b.AgentID)
			return false
		}
		bn := binary.BigEndian.Uint64(key[2:])
		if st(ctx).Get(personBindingKey(b.Person, bn)) == nil || st(ctx).Get(agentBindingKey(a.number(), bn)) == nil ||
			!bytes.Equal(st(ctx).Get(pairKey(b.Person, a.number())), key[2:]) {
			err = fmt.Errorf("binding %s is not indexed", b.ID)
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, prefix := range []string{"pb/", "ab/", "pa/"} {
		c := 0
		st(ctx).Iterate([]byte(prefix), func(_, _ []byte) bool { c++; return true })
		if c != n {
			return fmt.Errorf("%d bindings but %d %s index entries", n, c, prefix)
		}
	}
	return nil
}

func (k *Keeper) checkMerchants(ctx *module.Context) error {
	var err error
	n := 0
	st(ctx).Iterate([]byte("m/"), func(_, v []byte) bool {
		n++
		var m Merchant
		if err = json.Unmarshal(v, &m); err != nil {
			return false
		}
		if !bytes.Equal(st(ctx).Get(merchantInfoKey(m.Address)), m.info()) {
			err = fmt.Errorf("merchant %s: compact record disagrees", m.Address)
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	c := 0
	st(ctx).Iterate([]byte("mi/"), func(_, _ []byte) bool { c++; return true })
	if c != n {
		return fmt.Errorf("%d merchants but %d compact records", n, c)
	}
	return nil
}
