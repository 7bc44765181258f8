package main

import (
	"context"
	"fmt"

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
