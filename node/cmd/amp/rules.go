package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/contracts"
	"github.com/amp-ledger/amp/modules/rules"
	"github.com/amp-ledger/amp/node/client"
)

// maxRuleInTx is the largest code a deploy tx can carry: the tx limit less
// room for the envelope, the merchant and a signature.
const maxRuleInTx = chain.MaxTxBytes - 1024

// rulesTxCmd is `amp tx rules`: a merchant's WebAssembly rules.
func rulesTxCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Deploy, bind, upgrade and unbind a merchant's WebAssembly rules; set their state"}
	var merchant string
	merchantOf := func(signer chain.Address, c *client.Client) (chain.Address, error) {
		if merchant == "" {
			return signer, nil
		}
		a, err := c.Resolve(merchant)
		if err != nil {
			return a, fmt.Errorf("--merchant: %w", err)
		}
		return a, nil
	}
	addMerchant := func(c *cobra.Command) {
		c.Flags().StringVar(&merchant, "merchant", "", "the merchant, when --from is its acquirer (default: --from)")
	}

	var label string
	deploy := e.msgCmd(&cobra.Command{
		Use:   "deploy --from MERCHANT FILE.wasm [--label L]",
		Short: "Deploy a rule (checked and metered by the ledger); prints the rule id",
		Long: `Deploy the rule in FILE.wasm for the merchant. The ledger runs the deploy-time
checks ("amp rules check FILE.wasm" runs them locally first), injects its gas
meter and stores the code by its SHA-256; the tx prints the rule id ("id").
A module larger than one tx (a Go rule, ~1.8 MB) is first uploaded in pieces
of about 62 KiB, one tx each, then deployed by its hash. Binding it to a hook
is a separate step ("amp tx rules bind").`,
		Args: cobra.ExactArgs(1),
	}, "name (or address) of the merchant's key or its acquirer's", nil, func(ctx context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
		code, err := os.ReadFile(args[0])
		if err != nil {
			return nil, nil, usagef("read %s: %v", args[0], err)
		}
		m, err := merchantOf(signer, c)
		if err != nil {
			return nil, nil, err
		}
		if len(code) <= maxRuleInTx {
			return &pb.MsgDeployRule{Merchant: m[:], Code: code, Label: label}, nil, nil
		}
		// Too large for one tx (a Go rule): upload it in pieces first,
		// then deploy it by its hash.
		hash, err := uploadCode(ctx, c, signer, m, code, e.stderr)
		if err != nil {
			return nil, nil, err
		}
		return &pb.MsgDeployRule{Merchant: m[:], CodeHash: hash[:], Label: label}, nil, nil
	})
	deploy.Flags().StringVar(&label, "label", "", "a name for people (at most 64 bytes)")
	addMerchant(deploy)

	hookCmd := func(use, short string, nargs int, make func(m chain.Address, rule string, h pb.Hook) proto.Message) *cobra.Command {
		var hook string
		c := e.msgCmd(&cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(nargs)},
			"name (or address) of the merchant's key or its acquirer's", nil,
			func(_ context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
				h, err := rules.ParseHook(hook)
				if err != nil {
					return nil, nil, usagef("--hook: %v", err)
				}
				m, err := merchantOf(signer, c)
				if err != nil {
					return nil, nil, err
				}
				rule := ""
				if nargs == 1 {
					rule = args[0]
				}
				return make(m, rule, h), nil, nil
			})
		c.Flags().StringVar(&hook, "hook", "", "payment, claim or query")
		_ = c.MarkFlagRequired("hook")
		addMerchant(c)
		return c
	}
	bind := hookCmd("bind --from MERCHANT RULE --hook payment|claim|query", "Bind a deployed rule to a free hook", 1,
		func(m chain.Address, r string, h pb.Hook) proto.Message {
			return &pb.MsgBindRule{Merchant: m[:], RuleId: r, Hook: h}
		})
	upgrade := hookCmd("upgrade --from MERCHANT RULE --hook payment|claim|query", "Replace the rule bound to a hook (its version increases)", 1,
		func(m chain.Address, r string, h pb.Hook) proto.Message {
			return &pb.MsgUpgradeRule{Merchant: m[:], RuleId: r, Hook: h}
		})
	unbind := hookCmd("unbind --from MERCHANT --hook payment|claim|query", "Free a hook", 0,
		func(m chain.Address, _ string, h pb.Hook) proto.Message {
			return &pb.MsgUnbindRule{Merchant: m[:], Hook: h}
		})

	var sv stateValue
	setState := e.msgCmd(&cobra.Command{
		Use:   "set-state --from MERCHANT KEY [--amount A | --hex H | --text T | --delete]",
		Short: "Set (or delete) one key of the merchant's rule state",
		Long: `Set KEY (text) of the merchant's rule state. --amount stores an amount as the
rules ABI reads it (16 bytes, u128 little-endian base units: "max" of
max-amount.wasm, "limit" of daily-totals.wasm); --hex and --text store raw
bytes; --delete removes the key.`,
		Args: cobra.ExactArgs(1),
	}, "name (or address) of the merchant's key or its acquirer's", nil, func(ctx context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
		v, err := sv.bytes(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		m, err := merchantOf(signer, c)
		if err != nil {
			return nil, nil, err
		}
		return &pb.MsgSetRuleState{Merchant: m[:], Key: []byte(args[0]), Value: v}, nil, nil
	})
	sv.add(setState)
	addMerchant(setState)

	cmd.AddCommand(deploy, bind, upgrade, unbind, setState)
	return cmd
}

// uploadPiece is the code carried by one upload tx.
const uploadPiece = maxRuleInTx - 1024

// uploadCode sends code in pieces (MsgUploadCode), each waiting for its
// commit, and returns its hash for the deploy.
func uploadCode(ctx context.Context, c *client.Client, signer, merchant chain.Address, code []byte, progress io.Writer) ([32]byte, error) {
	hash := sha256.Sum256(code)
	key, err := c.Key(signer.String())
	if err != nil {
		return hash, err
	}
	for off := 0; off < len(code); off += uploadPiece {
		end := min(off+uploadPiece, len(code))
		msg := &pb.MsgUploadCode{Merchant: merchant[:], CodeHash: hash[:], Total: uint64(len(code)), Offset: uint64(off), Chunk: code[off:end]}
		if _, err := c.SubmitSigned(ctx, []chain.PrivKey{key.PrivKey()}, chain.TxOptions{}, msg); err != nil {
			return hash, fmt.Errorf("upload at %d of %d bytes: %w", off, len(code), err)
		}
		fmt.Fprintf(progress, "uploaded %d of %d bytes\n", end, len(code))
	}
	return hash, nil
}

// stateValue is the value flags of set-state.
type stateValue struct {
	amount, hex, text string
	del               bool
}

func (s *stateValue) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.amount, "amount", "", "an amount, e.g. 10USD, stored as u128 little-endian base units")
	f.StringVar(&s.hex, "hex", "", "raw bytes in hex")
	f.StringVar(&s.text, "text", "", "raw bytes as text")
	f.BoolVar(&s.del, "delete", false, "delete the key")
}

func (s *stateValue) bytes(ctx context.Context, c *client.Client) ([]byte, error) {
	n := 0
	for _, set := range []bool{s.amount != "", s.hex != "", s.text != "", s.del} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, usagef("give exactly one of --amount, --hex, --text, --delete")
	}
	switch {
	case s.amount != "":
		coin, err := c.ParseCoin(ctx, s.amount)
		if err != nil {
			return nil, err
		}
		v := coin.Amount.Uint256()
		if v.BitLen() > 128 {
			return nil, usagef("--amount %s does not fit in 128 bits", s.amount)
		}
		return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, v[0]), v[1]), nil
	case s.hex != "":
		b, err := hex.DecodeString(s.hex)
		if err != nil || len(b) == 0 {
			return nil, usagef("--hex must be non-empty hex")
		}
		return b, nil
	case s.text != "":
		return []byte(s.text), nil
	}
	return nil, nil
}

// rulesQueryCmd is `amp query rules`.
func rulesQueryCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Deployed rules, merchants' bindings and rule state"}
	rule := &cobra.Command{
		Use: "rule RULE", Short: "A deployed rule: merchant, code hash, size, ABI and gas versions", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*rules.Rule, error) { return c.Rule(ctx, args[0]) },
				func(r *rules.Rule) {
					fields(e.stdout, "rule", r.ID, "merchant", r.Merchant.String(), "label", r.Label, "code hash", r.CodeHash,
						"size", fmt.Sprintf("%d bytes", r.Size), "abi", r.ABI, "gas schedule", fmt.Sprint(r.GasScheduleVersion),
						"instrument", fmt.Sprint(r.InstrumentVersion), "deploy gas", fmt.Sprint(r.DeployGas), "deployed at height", fmt.Sprint(r.DeployedHeight))
				})
		},
	}
	merchant := &cobra.Command{
		Use: "merchant MERCHANT", Short: "The rules a merchant bound to its hooks", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*rules.MerchantView, error) {
				a, err := c.Resolve(args[0])
				if err != nil {
					return nil, err
				}
				return c.MerchantRules(ctx, a)
			}, func(v *rules.MerchantView) {
				var rows [][]string
				for _, b := range v.Bindings {
					rows = append(rows, []string{b.Hook, b.RuleID, fmt.Sprint(b.Version)})
				}
				table(e.stdout, []string{"HOOK", "RULE", "VERSION"}, rows)
			})
		},
	}
	state := &cobra.Command{
		Use: "state MERCHANT KEY", Short: "One key of a merchant's rule state (KEY as text)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*rules.StateView, error) {
				a, err := c.Resolve(args[0])
				if err != nil {
					return nil, err
				}
				return c.RuleState(ctx, a, []byte(args[1]))
			}, func(v *rules.StateView) { fields(e.stdout, "found", fmt.Sprint(v.Found), "value (hex)", v.Value) })
		},
	}
	cmd.AddCommand(rule, merchant, state)
	return cmd
}

// rulesCmd is `amp rules`: tools for rule authors that need no chain.
func rulesCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Tools for rule authors: check a rule before deploying it"}
	check := &cobra.Command{
		Use:   "check FILE.wasm",
		Short: "Run the deploy-time checks and metering locally and print what would be rejected and why",
		Long: `check runs the same validation and gas metering the ledger runs at deploy, with
the chain's limits and gas schedule if the node answers (else the defaults),
and prints each problem with its code, or the sizes and hashes of a rule that
passes. It exits 1 if the rule would be rejected.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := os.ReadFile(args[0])
			if err != nil {
				return usagef("read %s: %v", args[0], err)
			}
			lim, sched, source := contracts.DefaultLimits(), contracts.DefaultGasSchedule(), "defaults (node not reached)"
			if c, err := e.client(); err == nil {
				ctx, cancel := e.ctx(cmd)
				if l, s, err := c.RuleParams(ctx); err == nil {
					lim, sched, source = l, s, "the chain's parameters"
				}
				cancel()
			}
			metered, problems := rules.Check(code, lim, sched)
			h := sha256.Sum256(code)
			out := checkOutput{File: args[0], Size: len(code), CodeHash: hex.EncodeToString(h[:]), Checked: source, Problems: problems, OK: len(problems) == 0}
			if out.OK {
				mh := sha256.Sum256(metered)
				out.MeteredSize, out.MeteredHash = len(metered), hex.EncodeToString(mh[:])
			}
			if e.json() {
				printJSON(e.stdout, out)
			} else {
				fields(e.stdout, "file", out.File, "size", fmt.Sprintf("%d bytes", out.Size), "code hash", out.CodeHash, "checked with", out.Checked)
				if out.OK {
					fields(e.stdout, "result", "ok: the ledger would accept it", "metered", fmt.Sprintf("%d bytes, hash %s", out.MeteredSize, out.MeteredHash))
				} else {
					fmt.Fprintln(e.stdout, "result: rejected")
					for _, p := range problems {
						fmt.Fprintf(e.stdout, "  %-14s %s\n", p.Code, p.Message)
					}
				}
			}
			if !out.OK {
				return silentExit{code: exitRejected}
			}
			return nil
		},
	}
	cmd.AddCommand(check)
	return cmd
}

// checkOutput is the JSON shape of `amp rules check`.
type checkOutput struct {
	File        string              `json:"file"`
	Size        int                 `json:"size"`
	CodeHash    string              `json:"code_hash"`
	Checked     string              `json:"checked_with"`
	OK          bool                `json:"ok"`
	Problems    []contracts.Problem `json:"problems"`
	MeteredSize int                 `json:"metered_size,omitempty"`
	MeteredHash string              `json:"metered_hash,omitempty"`
}
