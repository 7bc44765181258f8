package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/identity"
	"github.com/amp-ledger/amp/node/client"
)

// identityTxCmd is `amp tx identity`: people, devices, agents, merchants
// and wallet bindings (docs/identity.md).
func identityTxCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "People, devices, agents (KYA), merchants and wallet bindings"}

	// one makes a tx command whose tx holds the single message build makes.
	one := func(use, short, long string, nargs int, fromUsage string,
		build func(ctx context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error)) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Long: long, Args: cobra.ExactArgs(nargs)}
		return e.newTxCmd(c, fromUsage, func(args []string) (builder, afterCommit, error) {
			return func(ctx context.Context, c *client.Client, signer chain.Address) ([]proto.Message, []chain.PrivKey, error) {
				m, co, err := build(ctx, c, signer, args)
				if err != nil {
					return nil, nil, err
				}
				return []proto.Message{m}, co, nil
			}, nil, nil
		})
	}

	var idvRef string
	registerPerson := one("register-person --from WALLET PERSON --idv-ref REF",
		"Register a person vouched for by their wallet (a member); the person's key co-signs",
		`Register PERSON (a key name in the keyring, which co-signs as consent) as a
person whose identity the wallet member --from has checked. --idv-ref names the
wallet's identity-verification record; its SHA-256 is stored.`,
		1, "name (or address) of the wallet member's key", func(ctx context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
			if idvRef == "" {
				return nil, nil, usagef("--idv-ref is required: the wallet's identity-verification record")
			}
			p, err := c.Key(args[0])
			if err != nil {
				return nil, nil, err
			}
			h := sha256.Sum256([]byte(idvRef))
			pa := p.Address()
			return &pb.MsgRegisterPerson{Wallet: signer[:], Person: pa[:], IdvHash: h[:]}, []chain.PrivKey{p.PrivKey()}, nil
		})
	registerPerson.Flags().StringVar(&idvRef, "idv-ref", "", "reference of the wallet's identity check (hashed)")

	var person, device, kind, label, scopes, approveLimit string
	addDevice := one("add-device --from PERSON|DEVICE --device KEY --kind KIND --label L --scopes s1,s2 [--approve-limit AMOUNT]",
		"Register a device key of a person with its scopes; the device key co-signs",
		`Register the key --device (a key name in the keyring; it co-signs as proof of
possession) as a device of the person. --from is the person, or one of their
devices with the manage_devices scope, which can grant only scopes it holds.
Kinds: `+strings.Join(identity.DeviceKinds, ", ")+`.
Scopes: `+strings.Join(identity.Scopes, ", ")+`.`,
		0, "name (or address) of the person's key or of a device with manage_devices", func(ctx context.Context, c *client.Client, signer chain.Address, _ []string) (proto.Message, []chain.PrivKey, error) {
			pa, err := personOf(ctx, c, signer, person)
			if err != nil {
				return nil, nil, err
			}
			d, err := c.Key(device)
			if err != nil {
				return nil, nil, err
			}
			m := &pb.MsgAddDevice{Person: pa[:], PubKey: d.PubKey().Proto(), Kind: kind, Label: label, Scopes: splitList(scopes)}
			if approveLimit != "" {
				coin, err := c.ParseCoin(ctx, approveLimit)
				if err != nil {
					return nil, nil, err
				}
				m.ApproveLimit = bank.CoinProto(coin)
			}
			return m, []chain.PrivKey{d.PrivKey()}, nil
		})
	df := addDevice.Flags()
	df.StringVar(&person, "person", "", "the person (default: --from, or --from's person when --from is a device)")
	df.StringVar(&device, "device", "", "key name of the new device in the keyring")
	df.StringVar(&kind, "kind", "", "phone, watch, car, browser or other")
	df.StringVar(&label, "label", "", "a name the person recognises (at most 64 bytes)")
	df.StringVar(&scopes, "scopes", "", "comma-separated scopes")
	df.StringVar(&approveLimit, "approve-limit", "", "largest payment the device may approve, e.g. 50USD")
	for _, f := range []string{"device", "kind", "label", "scopes"} {
		_ = addDevice.MarkFlagRequired(f)
	}

	var rmPerson string
	removeDevice := one("remove-device --from PERSON|DEVICE DEVICE",
		"Remove a device key (e.g. a lost phone) by the person or a device with manage_devices", "",
		1, "name (or address) of the person's key or of a device with manage_devices", func(ctx context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
			da, err := c.Resolve(args[0])
			if err != nil {
				return nil, nil, err
			}
			pa, err := personOf(ctx, c, signer, rmPerson)
			if err != nil {
				return nil, nil, err
			}
			return &pb.MsgRemoveDevice{Person: pa[:], Device: da[:]}, nil, nil
		})
	removeDevice.Flags().StringVar(&rmPerson, "person", "", "the person (default: --from, or --from's person when --from is a device)")

	var rv reviewFlags
	var agentKey, owner, builderName, agentName, model, version, caps, metaURI, metaHash string
	onboard := one("onboard-agent --from ISSUER --agent-key KEY --owner ADDRESS|KEY --builder B --name N --level 1|2|3 [...]",
		"Onboard an agent after its KYA review (kya_issuer members); prints its Agent ID",
		`Onboard an agent whose key --agent-key (a key name in the keyring; it co-signs
as proof of possession) passed the issuer's review. The ledger assigns the
Agent ID, printed as "id". Level 1 needs the review items profile, kyc and aml;
level 2 adds security and privacy; level 3 all of: `+strings.Join(identity.ReviewItems, ", ")+`.
--items defaults to exactly the level's items.`,
		0, "name (or address) of the issuer member's key", func(ctx context.Context, c *client.Client, signer chain.Address, _ []string) (proto.Message, []chain.PrivKey, error) {
			ak, err := c.Key(agentKey)
			if err != nil {
				return nil, nil, err
			}
			oa, err := c.Resolve(owner)
			if err != nil {
				return nil, nil, fmt.Errorf("--owner: %w", err)
			}
			r, err := rv.review()
			if err != nil {
				return nil, nil, err
			}
			p := &pb.Profile{Name: agentName, Model: model, Version: version, Capabilities: splitList(caps), MetadataUri: metaURI}
			if metaHash != "" {
				if p.MetadataHash, err = hex.DecodeString(metaHash); err != nil {
					return nil, nil, usagef("--metadata-hash must be hex: %v", err)
				}
			}
			return &pb.MsgOnboardAgent{Issuer: signer[:], PubKey: ak.PubKey().Proto(), Owner: oa[:], Builder: builderName, Profile: p, Review: r},
				[]chain.PrivKey{ak.PrivKey()}, nil
		})
	of := onboard.Flags()
	of.StringVar(&agentKey, "agent-key", "", "key name of the agent's key in the keyring")
	of.StringVar(&owner, "owner", "", "account that controls the agent (the person it acts for, or its operator)")
	of.StringVar(&builderName, "builder", "", "entity that built and operates the agent")
	of.StringVar(&agentName, "name", "", "the agent's name")
	of.StringVar(&model, "model", "", "model the agent runs")
	of.StringVar(&version, "version", "", "the agent's version")
	of.StringVar(&caps, "capabilities", "", "comma-separated declared capabilities")
	of.StringVar(&metaURI, "metadata-uri", "", "where the agent's metadata lives")
	of.StringVar(&metaHash, "metadata-hash", "", "SHA-256 of the metadata, hex")
	rv.add(onboard)
	for _, f := range []string{"agent-key", "owner", "builder", "name", "level"} {
		_ = onboard.MarkFlagRequired(f)
	}

	var rv2 reviewFlags
	attest := one("attest --from ISSUER AGENT --level 1|2|3 [--items ...] [--expires 365d]",
		"Add or renew the issuer's attestation of an agent (kya_issuer members)",
		`Attest AGENT (Agent ID, or key name or address of its key) after a review, or
renew the issuer's attestation (a new review replaces the issuer's previous one).`,
		1, "name (or address) of the issuer member's key", func(ctx context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
			id, err := c.AgentID(ctx, args[0])
			if err != nil {
				return nil, nil, err
			}
			r, err := rv2.review()
			if err != nil {
				return nil, nil, err
			}
			return &pb.MsgAttestAgent{Issuer: signer[:], AgentId: id, Review: r}, nil, nil
		})
	attest.Aliases = []string{"renew"}
	rv2.add(attest)
	_ = attest.MarkFlagRequired("level")

	var reason, evidence string
	suspend := one("suspend --from ISSUER AGENT --reason TEXT [--evidence-ref REF]",
		"Suspend an agent from the next block: every tx its key signs fails (kya_issuer members)", "",
		1, "name (or address) of the issuer member's key", func(ctx context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
			id, err := c.AgentID(ctx, args[0])
			if err != nil {
				return nil, nil, err
			}
			return &pb.MsgSuspendAgent{Issuer: signer[:], AgentId: id, Reason: reason, EvidenceHash: refHash(evidence)}, nil, nil
		})
	suspend.Flags().StringVar(&reason, "reason", "", "why, shown to the agent's people")
	suspend.Flags().StringVar(&evidence, "evidence-ref", "", "reference of the evidence (hashed)")
	_ = suspend.MarkFlagRequired("reason")

	reinstate := one("reinstate --from ISSUER AGENT", "Lift the issuer's own suspension of an agent", "",
		1, "name (or address) of the issuer member's key", func(ctx context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
			id, err := c.AgentID(ctx, args[0])
			if err != nil {
				return nil, nil, err
			}
			return &pb.MsgReinstateAgent{Issuer: signer[:], AgentId: id}, nil, nil
		})

	var newKey string
	rotate := one("rotate-key --from OWNER AGENT --new-key KEY", "Replace an agent's key (by its owner); the new key co-signs", "",
		1, "name (or address) of the agent owner's key", func(ctx context.Context, c *client.Client, _ chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
			id, err := c.AgentID(ctx, args[0])
			if err != nil {
				return nil, nil, err
			}
			nk, err := c.Key(newKey)
			if err != nil {
				return nil, nil, err
			}
			return &pb.MsgRotateAgentKey{AgentId: id, NewKey: nk.PubKey().Proto()}, []chain.PrivKey{nk.PrivKey()}, nil
		})
	rotate.Flags().StringVar(&newKey, "new-key", "", "key name of the new agent key in the keyring")
	_ = rotate.MarkFlagRequired("new-key")

	var merchant, mName, mcc, country, settlement, sellerKey string
	registerMerchant := one("register-merchant --from ACQUIRER --merchant KEY --name N --mcc 5411 --country SG [--settlement ADDRESS] [--seller-key KEY]",
		"Register a merchant (acquirer members); the merchant's key co-signs", "",
		0, "name (or address) of the acquirer member's key", func(ctx context.Context, c *client.Client, signer chain.Address, _ []string) (proto.Message, []chain.PrivKey, error) {
			mk, err := c.Key(merchant)
			if err != nil {
				return nil, nil, err
			}
			ma := mk.Address()
			sa := ma
			if settlement != "" {
				if sa, err = c.Resolve(settlement); err != nil {
					return nil, nil, fmt.Errorf("--settlement: %w", err)
				}
			}
			m := &pb.MsgRegisterMerchant{Acquirer: signer[:], Merchant: ma[:], Name: mName, Mcc: mcc, Country: strings.ToUpper(country), Settlement: sa[:]}
			co := []chain.PrivKey{mk.PrivKey()}
			if sellerKey != "" {
				sk, err := c.Key(sellerKey)
				if err != nil {
					return nil, nil, err
				}
				m.SellerAgentKey = sk.PubKey().Proto()
				co = append(co, sk.PrivKey())
			}
			return m, co, nil
		})
	mf := registerMerchant.Flags()
	mf.StringVar(&merchant, "merchant", "", "key name of the merchant's account in the keyring")
	mf.StringVar(&mName, "name", "", "the merchant's name")
	mf.StringVar(&mcc, "mcc", "", "ISO 18245 merchant category code (4 digits)")
	mf.StringVar(&country, "country", "", "ISO 3166-1 alpha-2 country code")
	mf.StringVar(&settlement, "settlement", "", "account receiving released payments (default: the merchant's)")
	mf.StringVar(&sellerKey, "seller-key", "", "key name of the merchant's seller agent (co-signs)")
	for _, f := range []string{"merchant", "name", "mcc", "country"} {
		_ = registerMerchant.MarkFlagRequired(f)
	}

	var bindPerson string
	bind := one("bind --from PERSON|DEVICE AGENT", "Bind an agent to a person's wallet; prints the binding id", "",
		1, "name (or address) of the person's key or of a device with the bind scope", func(ctx context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
			id, err := c.AgentID(ctx, args[0])
			if err != nil {
				return nil, nil, err
			}
			pa, err := personOf(ctx, c, signer, bindPerson)
			if err != nil {
				return nil, nil, err
			}
			return &pb.MsgBindAgent{Person: pa[:], AgentId: id}, nil, nil
		})
	bind.Flags().StringVar(&bindPerson, "person", "", "the person (default: --from, or --from's person when --from is a device)")

	unbind := one("unbind --from SIGNER BINDING", "End a wallet binding (the person, a device with bind, the agent or its owner)", "",
		1, "name (or address) of the signing key", func(_ context.Context, _ *client.Client, _ chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
			return &pb.MsgUnbindAgent{BindingId: args[0]}, nil, nil
		})

	cmd.AddCommand(registerPerson, addDevice, removeDevice, onboard, attest, suspend, reinstate, rotate, registerMerchant, bind, unbind)
	return cmd
}

// personOf is the person a command acts for: --person if given, else the
// signer's person when the signer is a device, else the signer.
func personOf(ctx context.Context, c *client.Client, signer chain.Address, flag string) (chain.Address, error) {
	if flag != "" {
		a, err := c.Resolve(flag)
		if err != nil {
			return a, fmt.Errorf("--person: %w", err)
		}
		return a, nil
	}
	w, err := c.Whois(ctx, signer)
	if err != nil {
		return signer, err
	}
	if w.Kind == "device" {
		return chain.ParseAddress(w.Of)
	}
	return signer, nil
}

// reviewFlags are the flags of a KYA review.
type reviewFlags struct {
	level    uint32
	items    string
	expires  string
	evidence string
}

func (r *reviewFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.Uint32Var(&r.level, "level", 0, "attestation level 1, 2 or 3")
	f.StringVar(&r.items, "items", "", "comma-separated review items that passed (default: those the level needs)")
	f.StringVar(&r.expires, "expires", "365d", "when the review expires: a duration from now (365d, 720h) or an RFC 3339 time")
	f.StringVar(&r.evidence, "evidence-ref", "", "reference of the review report (hashed)")
}

func (r *reviewFlags) review() (*pb.Review, error) {
	exp, err := parseExpiry(r.expires, time.Now())
	if err != nil {
		return nil, err
	}
	items := splitList(r.items)
	if len(items) == 0 {
		items = identity.LevelItems(r.level)
	}
	return &pb.Review{Items: items, Level: r.level, ExpiresAt: exp.Unix(), EvidenceHash: refHash(r.evidence)}, nil
}

// parseExpiry reads "365d", a Go duration, or an RFC 3339 time.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err == nil && n > 0 {
			return now.Add(time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("--expires %q: want a number of days (365d), a duration (720h) or an RFC 3339 time", s)
}

func refHash(ref string) []byte {
	if ref == "" {
		return nil
	}
	h := sha256.Sum256([]byte(ref))
	return h[:]
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
