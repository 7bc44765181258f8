package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/bank"
	"github.com/amp-ledger/amp/modules/payments"
	"github.com/amp-ledger/amp/node/client"
)

// readPayment adds the payment a tx made to its output.
func readPayment(ctx context.Context, c *client.Client, res *client.TxResult, out *txOutput) error {
	id, ok := res.CreatedID()
	if !ok {
		return fmt.Errorf("the tx created no payment")
	}
	p, err := c.Payment(ctx, id)
	out.Payment = p
	return err
}

// readToken adds the payment token a tx made to its output.
func readToken(ctx context.Context, c *client.Client, res *client.TxResult, out *txOutput) error {
	id, ok := res.CreatedID()
	if !ok {
		return fmt.Errorf("the tx created no payment token")
	}
	t, err := c.PaymentToken(ctx, id)
	out.Token = t
	return err
}

// orderFlags are the flags of a payment request under a mandate.
type orderFlags struct {
	mandate, merchant, order, approveWith string
}

func (f *orderFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.mandate, "mandate", "", "the mandate paid under (mandate-1)")
	fl.StringVar(&f.merchant, "merchant", "", "the merchant paid (key name or address)")
	fl.StringVar(&f.order, "order", "", "the order reference (its SHA-256 is the order hash; one payment per merchant and order)")
	fl.StringVar(&f.approveWith, "approve-with", "", "key that co-signs as approval above the mandate's threshold: the person's device with the approve scope, or the person")
	for _, n := range []string{"mandate", "merchant", "order"} {
		_ = cmd.MarkFlagRequired(n)
	}
}

// request resolves the merchant and the amount, and the approving key.
func (f *orderFlags) request(ctx context.Context, c *client.Client, amount string) (chain.Address, *pb.Coin, []chain.PrivKey, error) {
	m, err := c.Resolve(f.merchant)
	if err != nil {
		return m, nil, nil, fmt.Errorf("--merchant: %w", err)
	}
	coin, err := c.ParseCoin(ctx, amount)
	if err != nil {
		return m, nil, nil, err
	}
	var co []chain.PrivKey
	if f.approveWith != "" {
		k, err := c.Key(f.approveWith)
		if err != nil {
			return m, nil, nil, fmt.Errorf("--approve-with: %w", err)
		}
		co = append(co, k.PrivKey())
	}
	return m, bank.CoinProto(coin), co, nil
}

// paymentsTxCmd is `amp tx payments`: payments under mandates, tokens,
// captures and escrow (docs/payments.md).
func paymentsTxCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "payments", Short: "Pay under a mandate, authorise and capture payment tokens, set the protection window"}

	var pf orderFlags
	pay := e.msgCmd(&cobra.Command{
		Use:   "pay --from AGENT --mandate MANDATE --merchant M --order REF AMOUNT [--approve-with DEVICE]",
		Short: "Pay a merchant under a mandate (authorise and capture in one); prints the payment's id and status",
		Long: `The agent (--from its key) pays AMOUNT to the merchant under the mandate, for the
order REF. The Intent Guard checks the mandate's constraints, the approval
threshold and the agent's tier; the amount moves from the person into escrow
until the merchant's protection window passes. Above the mandate's approval
threshold --approve-with names the approving key (a device of the person with
the approve scope, or the person), which co-signs. A refused payment exits 1
with the guard's reason (over_budget, approval_required, mandate_revoked …).`,
		Args: cobra.ExactArgs(1),
	}, "name (or address) of the agent's key", readPayment, func(ctx context.Context, c *client.Client, _ chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
		m, coin, co, err := pf.request(ctx, c, args[0])
		if err != nil {
			return nil, nil, err
		}
		return &pb.MsgPay{MandateId: pf.mandate, Merchant: m[:], Amount: coin, OrderHash: client.OrderHash(pf.order)}, co, nil
	})
	pf.add(pay)

	var af orderFlags
	authorize := e.msgCmd(&cobra.Command{
		Use:   "authorize --from AGENT --mandate MANDATE --merchant M --order REF AMOUNT [--approve-with DEVICE]",
		Short: "Request a one-time payment token for an order; it reserves the amount until captured or expired; prints the token's id",
		Long: `Like pay, but only reserves the amount: the token (printed as "id") is handed to
the merchant, who captures it with "amp tx payments capture" for at most AMOUNT
and the same --order before it expires.`,
		Args: cobra.ExactArgs(1),
	}, "name (or address) of the agent's key", readToken, func(ctx context.Context, c *client.Client, _ chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
		m, coin, co, err := af.request(ctx, c, args[0])
		if err != nil {
			return nil, nil, err
		}
		return &pb.MsgAuthorize{MandateId: af.mandate, Merchant: m[:], Amount: coin, OrderHash: client.OrderHash(af.order)}, co, nil
	})
	af.add(authorize)

	var captureOrder string
	capture := e.msgCmd(&cobra.Command{
		Use:   "capture --from MERCHANT|ACQUIRER TOKEN --order REF AMOUNT",
		Short: "Capture a payment token for at most its amount, with the same order; prints the payment's id and status",
		Args:  cobra.ExactArgs(2),
	}, "name (or address) of the merchant's key or its acquirer's", readPayment, func(ctx context.Context, c *client.Client, _ chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
		coin, err := c.ParseCoin(ctx, args[1])
		if err != nil {
			return nil, nil, err
		}
		return &pb.MsgCapture{TokenId: args[0], Amount: bank.CoinProto(coin), OrderHash: client.OrderHash(captureOrder)}, nil, nil
	})
	capture.Flags().StringVar(&captureOrder, "order", "", "the order reference the token was authorised for")
	_ = capture.MarkFlagRequired("order")

	var windowMerchant string
	window := e.msgCmd(&cobra.Command{
		Use:   "window --from MERCHANT|ACQUIRER [--merchant M] SECONDS|DURATION",
		Short: "Set how long the merchant's payments stay in escrow (at least the chain's window), e.g. 14d or 336h",
		Args:  cobra.ExactArgs(1),
	}, "name (or address) of the merchant's key or its acquirer's", nil, func(_ context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
		secs, err := parseSeconds("window", args[0])
		if err != nil {
			return nil, nil, err
		}
		m := signer
		if windowMerchant != "" {
			if m, err = c.Resolve(windowMerchant); err != nil {
				return nil, nil, fmt.Errorf("--merchant: %w", err)
			}
		}
		return &pb.MsgSetProtectionWindow{Merchant: m[:], Seconds: secs}, nil, nil
	})
	window.Flags().StringVar(&windowMerchant, "merchant", "", "the merchant (default: --from; set it when the acquirer signs)")

	cmd.AddCommand(pay, authorize, capture, window)
	cmd.AddCommand(guaranteeTxCmds(e)...)
	return cmd
}

// paymentsQueryCmd is `amp query payments`.
func paymentsQueryCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "payments", Short: "Payments, bills of a mandate, payment tokens, protection windows"}
	payment := &cobra.Command{
		Use:   "payment PAYMENT",
		Short: "A payment: status (escrowed, released), amount, mandate, merchant, release time",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*payments.PaymentView, error) {
				return c.Payment(ctx, args[0])
			}, func(p *payments.PaymentView) { e.printPayment(p) })
		},
	}
	bills := &cobra.Command{
		Use:   "bills MANDATE",
		Short: "The payments made under a mandate, newest first (at most 100)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]payments.PaymentView, error) {
				return c.Bills(ctx, args[0])
			}, func(ps []payments.PaymentView) {
				n := e.names()
				var rows [][]string
				for _, p := range ps {
					approved := "-"
					if p.Approver != nil {
						approved = n.of(*p.Approver)
					}
					rows = append(rows, []string{p.ID, p.Status, p.Amount + " " + p.Asset, n.of(p.Merchant),
						unixTime(p.CapturedAt), unixTime(p.ReleaseAt), approved})
				}
				table(e.stdout, []string{"PAYMENT", "STATUS", "AMOUNT", "MERCHANT", "CAPTURED", "RELEASE", "APPROVED BY"}, rows)
			})
		},
	}
	token := &cobra.Command{
		Use:   "token TOKEN",
		Short: "A live payment token (captured or expired tokens are gone)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*payments.TokenView, error) {
				return c.PaymentToken(ctx, args[0])
			}, func(t *payments.TokenView) {
				n := e.names()
				kv := []string{"token", t.ID, "mandate", t.MandateID, "merchant", n.of(t.Merchant),
					"amount", t.Amount + " " + t.Asset, "order hash", t.OrderHash, "valid until height", fmt.Sprint(t.ExpiresHeight)}
				if t.Approver != nil {
					kv = append(kv, "approved by", n.of(*t.Approver))
				}
				fields(e.stdout, kv...)
			})
		},
	}
	window := &cobra.Command{
		Use:   "window MERCHANT",
		Short: "How long a merchant's payments stay in escrow",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (map[string]int64, error) {
				m, err := c.Resolve(args[0])
				if err != nil {
					return nil, err
				}
				s, err := c.ProtectionWindow(ctx, m)
				return map[string]int64{"seconds": s}, err
			}, func(v map[string]int64) {
				fmt.Fprintf(e.stdout, "%d seconds (%s)\n", v["seconds"], secondsText(v["seconds"]))
			})
		},
	}
	cmd.AddCommand(payment, bills, token, window)
	cmd.AddCommand(guaranteeQueryCmds(e)...)
	return cmd
}

// secondsText is a length of time for people: "7 days", "36h0m0s".
func secondsText(s int64) string {
	if s > 0 && s%86400 == 0 {
		return fmt.Sprintf("%d days", s/86400)
	}
	return fmt.Sprint(s) + "s"
}

func (e *env) printPayment(p *payments.PaymentView) {
	n := e.names()
	kv := []string{"payment", p.ID, "status", p.Status, "amount", p.Amount + " " + p.Asset + " (" + p.BaseUnits + " base units)",
		"mandate", p.MandateID, "agent", p.AgentID, "person", n.of(p.Person), "merchant", n.of(p.Merchant)}
	if p.Settlement != p.Merchant {
		kv = append(kv, "settlement", n.of(p.Settlement))
	}
	if p.TokenID != "" {
		kv = append(kv, "token", p.TokenID)
	}
	kv = append(kv, "order hash", p.OrderHash, "captured", fmt.Sprintf("%s (height %d)", unixTime(p.CapturedAt), p.CapturedHeight))
	if p.ReleasedHeight != 0 {
		kv = append(kv, "released", fmt.Sprintf("at height %d", p.ReleasedHeight))
	} else {
		kv = append(kv, "releases", unixTime(p.ReleaseAt))
	}
	if p.Approver != nil {
		kv = append(kv, "approved by", n.of(*p.Approver))
	}
	fields(e.stdout, kv...)
}

// paymentLine is the line a payment tx prints about its payment.
func (e *env) paymentLine(p *payments.PaymentView) string {
	s := fmt.Sprintf("payment %s is %s: %s %s to %s", p.ID, p.Status, p.Amount, p.Asset, e.names().of(p.Merchant))
	if p.Status == "escrowed" {
		s += ", released to the merchant at " + unixTime(p.ReleaseAt)
	}
	return s
}

// tokenLine is the line an authorize tx prints about its token.
func (e *env) tokenLine(t *payments.TokenView) string {
	return fmt.Sprintf("token %s reserves %s %s for %s until height %d", t.ID, t.Amount, t.Asset, e.names().of(t.Merchant), t.ExpiresHeight)
}

// guaranteeTxCmds are the money-back guarantee's commands of `amp tx
// payments` (docs/guarantee.md): claim, respond, arbitrate, bond, unbond.
func guaranteeTxCmds(e *env) []*cobra.Command {
	var reason, claimAmount, claimEvidence string
	claim := e.msgCmd(&cobra.Command{
		Use:   "claim --from PERSON|DEVICE|AGENT PAYMENT --reason REASON [--amount X] [--evidence-ref REF]",
		Short: "Claim money back on a payment; prints the claim's id",
		Long: `Files a money-back claim on PAYMENT, signed by the payer (--from the person), a
device of theirs with the claim scope, or the payment's agent. REASON is one of
unauthorized, not_received, not_as_described, duplicate, canceled_by_merchant,
other; each has its claim window from the payment's capture. Without --amount the
claim is for all that is not yet refunded. --evidence-ref names the evidence (its
SHA-256 goes on the ledger). The merchant's claim rule may decide at once;
otherwise the merchant accepts or contests before the response deadline, and
silence refunds. Follow it with "amp query payments claim ID".`,
		Args: cobra.ExactArgs(1),
	}, "name (or address) of the payer's key, a device of theirs with the claim scope, or the agent's key", nil,
		func(ctx context.Context, c *client.Client, _ chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
			r, err := payments.ParseClaimReason(reason)
			if err != nil {
				return nil, nil, usagef("--reason: one of %s", strings.Join(payments.ReasonNames, ", "))
			}
			m := &pb.MsgFileClaim{PaymentId: args[0], Reason: r, EvidenceHash: client.EvidenceHash(claimEvidence)}
			if claimAmount != "" {
				coin, err := c.ParseCoin(ctx, claimAmount)
				if err != nil {
					return nil, nil, err
				}
				m.Amount = bank.CoinProto(coin)
			}
			return m, nil, nil
		})
	claim.Flags().StringVar(&reason, "reason", "", "why: "+strings.Join(payments.ReasonNames, ", "))
	claim.Flags().StringVar(&claimAmount, "amount", "", "claim only this much (e.g. 2.5USD); default: all that is not yet refunded")
	claim.Flags().StringVar(&claimEvidence, "evidence-ref", "", "a reference to the evidence; its SHA-256 is stored")
	_ = claim.MarkFlagRequired("reason")

	var respondEvidence string
	respond := e.msgCmd(&cobra.Command{
		Use:   "respond --from MERCHANT|ACQUIRER CLAIM accept|contest [--evidence-ref REF]",
		Short: "Accept a claim (refund now) or contest it (send it to arbitration), before the response deadline",
		Args:  cobra.ExactArgs(2),
	}, "name (or address) of the merchant's key or its acquirer's", nil,
		func(_ context.Context, _ *client.Client, _ chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
			var r pb.ClaimResponse
			switch args[1] {
			case "accept":
				r = pb.ClaimResponse_CLAIM_RESPONSE_ACCEPT
			case "contest":
				r = pb.ClaimResponse_CLAIM_RESPONSE_CONTEST
			default:
				return nil, nil, usagef("the response is accept or contest, not %q", args[1])
			}
			return &pb.MsgRespondClaim{ClaimId: args[0], Response: r, EvidenceHash: client.EvidenceHash(respondEvidence)}, nil, nil
		})
	respond.Flags().StringVar(&respondEvidence, "evidence-ref", "", "a reference to the merchant's evidence; its SHA-256 is stored")

	var ruleAmount string
	arbitrate := e.msgCmd(&cobra.Command{
		Use:   "arbitrate --from ARBITER CLAIM refund|deny [--amount X]",
		Short: "Rule on a contested claim: refund (all that was claimed, or --amount) or deny, before the arbitration deadline",
		Long: `The arbiter is the person's wallet member, or (payments.arbiter = arbiter_role)
any consortium member with the arbiter role. Silence past the deadline refunds
the person.`,
		Args: cobra.ExactArgs(2),
	}, "name (or address) of the arbiter's key", nil,
		func(ctx context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
			m := &pb.MsgArbitrateClaim{Arbiter: signer[:], ClaimId: args[0]}
			switch args[1] {
			case "refund":
				m.Decision = pb.ArbitrationDecision_ARBITRATION_DECISION_REFUND
			case "deny":
				m.Decision = pb.ArbitrationDecision_ARBITRATION_DECISION_DENY
				if ruleAmount != "" {
					return nil, nil, usagef("--amount goes with refund, not deny")
				}
			default:
				return nil, nil, usagef("the ruling is refund or deny, not %q", args[1])
			}
			if ruleAmount != "" {
				coin, err := c.ParseCoin(ctx, ruleAmount)
				if err != nil {
					return nil, nil, err
				}
				m.Amount = bank.CoinProto(coin)
			}
			return m, nil, nil
		})
	arbitrate.Flags().StringVar(&ruleAmount, "amount", "", "with refund: refund only this much (at most what was claimed)")

	bondCmd := func(use, short string, msg func(merchant chain.Address, c *pb.Coin) proto.Message) *cobra.Command {
		return e.msgCmd(&cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1)}, "name (or address) of the merchant's key", nil,
			func(ctx context.Context, c *client.Client, signer chain.Address, args []string) (proto.Message, []chain.PrivKey, error) {
				coin, err := c.ParseCoin(ctx, args[0])
				if err != nil {
					return nil, nil, err
				}
				return msg(signer, bank.CoinProto(coin)), nil, nil
			})
	}
	bond := bondCmd("bond --from MERCHANT AMOUNT",
		"Deposit a bond from the merchant's account: it pays claims after release, before the guarantee pool; at payments.min_bond it allows a shorter protection window",
		func(m chain.Address, c *pb.Coin) proto.Message { return &pb.MsgBond{Merchant: m[:], Amount: c} })
	unbond := bondCmd("unbond --from MERCHANT AMOUNT",
		"Withdraw part of the bond: it returns to the merchant after payments.unbonding_seconds, paying claims meanwhile",
		func(m chain.Address, c *pb.Coin) proto.Message { return &pb.MsgUnbond{Merchant: m[:], Amount: c} })
	return []*cobra.Command{claim, respond, arbitrate, bond, unbond}
}

// guaranteeQueryCmds are the money-back guarantee's commands of `amp
// query payments`: claim, claims, pool, bond, report.
func guaranteeQueryCmds(e *env) []*cobra.Command {
	claim := &cobra.Command{
		Use:   "claim CLAIM",
		Short: "A claim: status (open, contested, refunded, queued, denied), deadlines, resolution, where the refund came from",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*payments.ClaimView, error) {
				return c.Claim(ctx, args[0])
			}, func(v *payments.ClaimView) { e.printClaim(v) })
		},
	}
	claims := &cobra.Command{
		Use:   "claims PAYMENT|PERSON|MERCHANT|AGENT",
		Short: "Claims of a payment, filed by a person, against a merchant or on an agent's payments, newest first (at most 100)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]payments.ClaimView, error) {
				return c.Claims(ctx, args[0])
			}, func(vs []payments.ClaimView) {
				n := e.names()
				var rows [][]string
				for _, v := range vs {
					rows = append(rows, []string{v.ID, v.Status, v.Reason, v.PaymentID, v.Amount + " " + v.Asset, n.of(v.Merchant), orDash(v.Resolution), orDash(v.Refund)})
				}
				table(e.stdout, []string{"CLAIM", "STATUS", "REASON", "PAYMENT", "CLAIMED", "MERCHANT", "RESOLUTION", "REFUND"}, rows)
			})
		},
	}
	pool := &cobra.Command{
		Use:   "pool",
		Short: "The guarantee pool per asset: balance, fees collected, refunds paid, and the queue of refunds waiting for it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*payments.PoolView, error) {
				return c.GuaranteePool(ctx)
			}, func(v *payments.PoolView) {
				fields(e.stdout, "account", v.Account.String(), "fee", fmt.Sprintf("%d basis points of each release", v.FeeBP))
				n := e.names()
				for _, a := range v.Assets {
					fields(e.stdout, "asset", a.Asset, "balance", a.Balance, "fees collected", a.Fees, "paid out", a.Paid,
						"owed to the queue", fmt.Sprintf("%s (%d claims)", a.Owed, a.Queued))
					var rows [][]string
					for _, q := range a.Queue {
						rows = append(rows, []string{fmt.Sprint(q.Position), q.ClaimID, n.of(q.Person), q.Owed, unixTime(q.QueuedAt)})
					}
					if len(rows) > 0 {
						table(e.stdout, []string{"#", "CLAIM", "PERSON", "OWED", "QUEUED"}, rows)
					}
				}
			})
		},
	}
	bond := &cobra.Command{
		Use:   "bond MERCHANT",
		Short: "A merchant's bonds, unbonding entries, whether it is bonded and its protection window",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*payments.BondView, error) {
				m, err := c.Resolve(args[0])
				if err != nil {
					return nil, err
				}
				return c.MerchantBond(ctx, m)
			}, func(v *payments.BondView) {
				fields(e.stdout, "merchant", e.names().of(v.Merchant), "bonded", fmt.Sprintf("%v (minimum %s)", v.Bonded, v.MinBond),
					"protection window", secondsText(v.WindowSeconds))
				var rows [][]string
				for _, b := range v.Bonds {
					rows = append(rows, []string{b.Asset, b.Active, b.Unbonding})
				}
				table(e.stdout, []string{"ASSET", "ACTIVE", "UNBONDING"}, rows)
				for _, u := range v.Unbondings {
					fmt.Fprintf(e.stdout, "%s: %s %s (of %s) returns at %s\n", u.ID, u.Amount, u.Asset, u.Initial, unixTime(u.CompleteAt))
				}
			})
		},
	}
	report := &cobra.Command{
		Use:   "report MERCHANT|AGENT",
		Short: "The guarantee report of a merchant or an agent: claims filed, refunded, denied, lost, amounts, claim and loss rates",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*payments.ReportView, error) {
				return c.GuaranteeReport(ctx, args[0])
			}, func(v *payments.ReportView) {
				who := v.AgentID
				if v.Kind == "merchant" {
					who = v.Merchant
				}
				kv := []string{v.Kind, who, "payments", fmt.Sprint(v.Payments), "claims filed", fmt.Sprint(v.ClaimsFiled),
					"open", fmt.Sprint(v.ClaimsOpen), "refunded", fmt.Sprint(v.ClaimsRefunded), "denied", fmt.Sprint(v.ClaimsDenied),
					"lost", fmt.Sprint(v.ClaimsLost), "claim rate", percent(int(v.ClaimRate)), "refund rate", percent(int(v.RefundRate)),
					"loss rate", percent(int(v.LossRate))}
				for _, a := range v.Amounts {
					kv = append(kv, "claimed / refunded "+a.Asset, a.Claimed+" / "+a.Refunded)
				}
				if v.LedgerSuspensions != nil {
					kv = append(kv, "ledger suspensions", fmt.Sprint(*v.LedgerSuspensions), "lost since", fmt.Sprint(*v.LostSinceSuspension))
				}
				fields(e.stdout, kv...)
			})
		},
	}
	return []*cobra.Command{claim, claims, pool, bond, report}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (e *env) printClaim(v *payments.ClaimView) {
	n := e.names()
	kv := []string{"claim", v.ID, "status", v.Status, "reason", v.Reason, "payment", v.PaymentID, "claimed", v.Amount + " " + v.Asset,
		"person", n.of(v.Person), "merchant", n.of(v.Merchant), "agent", v.AgentID, "filed by", n.of(v.FiledBy), "filed", unixTime(v.FiledAt)}
	switch v.Status {
	case "open":
		kv = append(kv, "merchant answers by", unixTime(v.ResponseDeadline)+" (silence refunds)")
	case "contested":
		kv = append(kv, "arbiter rules by", unixTime(v.ArbitrationDeadline)+" (silence refunds)")
	}
	if v.Resolution != "" {
		kv = append(kv, "resolution", v.Resolution, "refund", orDash(v.Refund))
		for _, f := range [][2]string{{"from escrow", v.FromEscrow}, {"from the bond", v.FromBond}, {"from the pool", v.FromPool}, {"owed (queued)", v.Owed}} {
			if f[1] != "" && f[1] != "0" {
				kv = append(kv, f[0], f[1])
			}
		}
	}
	if v.Arbiter != nil {
		kv = append(kv, "ruled by", n.of(*v.Arbiter))
	}
	fields(e.stdout, kv...)
}
