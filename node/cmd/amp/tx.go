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

func txCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Sign, broadcast and wait for txs",
	}
	bankCmd := &cobra.Command{Use: "bank", Short: "Transfers and issuance"}
	send := e.bankTxCmd("send --from NAME TO AMOUNT",
		"Send an amount (e.g. 12.5USD, 0.000001USD; a plain number is USD) to an address or key name", true,
		func(signer, to chain.Address, amount *pb.Coin) proto.Message {
			return &pb.MsgSend{From: signer[:], To: to[:], Amount: amount}
		})
	mint := e.bankTxCmd("mint --from ISSUER TO AMOUNT",
		"Create an amount of an asset in an account (asset issuers only)", true,
		func(signer, to chain.Address, amount *pb.Coin) proto.Message {
			return &pb.MsgMint{Issuer: signer[:], To: to[:], Amount: amount}
		})
	burn := e.bankTxCmd("burn --from ISSUER AMOUNT",
		"Destroy an amount held by the signer (asset issuers only)", false,
		func(signer, _ chain.Address, amount *pb.Coin) proto.Message {
			return &pb.MsgBurn{From: signer[:], Amount: amount}
		})
	bankCmd.AddCommand(send, mint, burn)
	cmd.AddCommand(bankCmd, consortiumTxCmd(e), identityTxCmd(e), rulesTxCmd(e), delegationTxCmd(e), paymentsTxCmd(e))
	return cmd
}

// bankTxCmd makes a command of `amp tx bank` whose arguments are TO AMOUNT
// (AMOUNT alone without toArg) and whose tx holds the one message msg makes.
func (e *env) bankTxCmd(use, short string, toArg bool,
	msg func(signer, to chain.Address, amount *pb.Coin) proto.Message) *cobra.Command {
	nargs := 1
	if toArg {
		nargs = 2
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(nargs)}
	return e.newTxCmd(cmd, "name (or address) of the signing key in the keyring", func(args []string) (builder, afterCommit, error) {
		build := func(ctx context.Context, c *client.Client, signer chain.Address) ([]proto.Message, []chain.PrivKey, error) {
			var to chain.Address
			if toArg {
				var err error
				if to, err = c.Resolve(args[0]); err != nil {
					return nil, nil, err
				}
			}
			coin, err := c.ParseCoin(ctx, args[nargs-1])
			if err != nil {
				return nil, nil, err
			}
			return []proto.Message{msg(signer, to, bank.CoinProto(coin))}, nil, nil
		}
		return build, nil, nil
	})
}

// memoUsage is the help of every tx command's --memo.
const memoUsage = "a note stored with the tx (at most 256 bytes)"

// newTxCmd makes cmd a tx command: it gets --from (required, described by
// fromUsage) and --memo, and runs by submitting the tx that prepare makes
// of the arguments. prepare checks them before the keyring or the node is
// used; the afterCommit it returns may be nil.
func (e *env) newTxCmd(cmd *cobra.Command, fromUsage string,
	prepare func(args []string) (builder, afterCommit, error)) *cobra.Command {
	return e.newTxCmdReading(cmd, fromUsage, func(args []string) (builder, readBack, error) {
		build, after, err := prepare(args)
		return build, after.asReadBack(), err
	})
}

// newTxCmdReading is newTxCmd for txs whose output shows what they made
// (a payment, a payment token), read after the commit by the readBack
// prepare returns (nil for nothing).
func (e *env) newTxCmdReading(cmd *cobra.Command, fromUsage string,
	prepare func(args []string) (builder, readBack, error)) *cobra.Command {
	var from, memo string
	cmd.Flags().StringVar(&from, "from", "", fromUsage)
	cmd.Flags().StringVar(&memo, "memo", "", memoUsage)
	_ = cmd.MarkFlagRequired("from")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		build, read, err := prepare(args)
		if err != nil {
			return err
		}
		return e.submitReading(cmd, from, memo, build, read)
	}
	return cmd
}

// txOutput is the JSON shape of a committed tx.
type txOutput struct {
	TxHash string         `json:"txhash"`
	Height int64          `json:"height"`
	Code   uint32         `json:"code"`
	ID     string         `json:"id,omitempty"`
	Events []client.Event `json:"events,omitempty"`
	// Proposal is the state, after the tx's block, of the proposal a
	// governance tx submitted or voted on.
	Proposal *client.ProposalInfo `json:"proposal,omitempty"`
	// Payment is the payment a tx made (pay, capture), as `amp query
	// payments payment` shows it after the tx's block.
	Payment *payments.PaymentView `json:"payment,omitempty"`
	// Token is the payment token a tx made (authorize).
	Token *payments.TokenView `json:"token,omitempty"`
}

// builder makes a tx's messages once the client and the signer are known,
// with the keys that must co-sign it besides the signer (a new device or
// agent key proving possession, a merchant consenting): nil for none.
type builder func(context.Context, *client.Client, chain.Address) ([]proto.Message, []chain.PrivKey, error)

// afterCommit is a step after a tx's commit that reads the proposal the tx
// concerns, for the output.
type afterCommit func(context.Context, *client.Client, *client.TxResult) (*client.ProposalInfo, error)

// readBack is a step after a tx's commit that reads the state of what the
// tx made or concerns (a proposal, a payment …) into the tx's output.
type readBack func(context.Context, *client.Client, *client.TxResult, *txOutput) error

// asReadBack is after as a readBack: it puts the proposal into the output.
func (after afterCommit) asReadBack() readBack {
	if after == nil {
		return nil
	}
	return func(ctx context.Context, c *client.Client, res *client.TxResult, out *txOutput) (err error) {
		out.Proposal, err = after(ctx, c, res)
		return err
	}
}

// submitThen resolves the signer, builds the messages, signs, broadcasts
// and waits for the commit, then runs after (if not nil) and prints the
// result.
func (e *env) submitThen(cmd *cobra.Command, from, memo string, build builder, after afterCommit) error {
	return e.submitReading(cmd, from, memo, build, after.asReadBack())
}

// submitReading is submitThen with a general step after the commit.
func (e *env) submitReading(cmd *cobra.Command, from, memo string, build builder, read readBack) error {
	if len(memo) > chain.MaxMemoBytes {
		return usagef("--memo has %d bytes, at most %d", len(memo), chain.MaxMemoBytes)
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	key, err := c.Key(from)
	if err != nil {
		return err
	}
	ctx, cancel := e.ctx(cmd)
	defer cancel()
	msgs, cosigners, err := build(ctx, c, key.Address())
	if err != nil {
		return err
	}
	res, err := c.SubmitSigned(ctx, append([]chain.PrivKey{key.PrivKey()}, cosigners...), chain.TxOptions{Memo: memo}, msgs...)
	if err != nil {
		return err
	}
	id, _ := res.CreatedID()
	out := txOutput{TxHash: res.Hash, Height: res.Height, Code: res.Code, ID: id, Events: res.Events}
	if read != nil {
		// The tx is committed: a failure to read its effects is only noted.
		if err = read(ctx, c, res, &out); err != nil {
			fmt.Fprintf(e.stderr, "note: the tx is committed, but reading its result failed: %v\n", err)
		}
	}
	if e.json() {
		printJSON(e.stdout, out)
		return nil
	}
	kv := []string{"txhash", res.Hash, "height", fmt.Sprint(res.Height), "result", "ok (code 0)"}
	if id != "" {
		kv = append(kv, "id", id)
	}
	fields(e.stdout, kv...)
	for _, line := range describeEvents(ctx, c, res.Events) {
		fmt.Fprintln(e.stdout, "  "+line)
	}
	if prop := out.Proposal; prop != nil {
		fmt.Fprintf(e.stdout, "proposal %d is now %s%s\n", prop.ID, prop.Status, proposalNote(prop))
	}
	if out.Payment != nil {
		fmt.Fprintln(e.stdout, e.paymentLine(out.Payment))
	}
	if out.Token != nil {
		fmt.Fprintln(e.stdout, e.tokenLine(out.Token))
	}
	return nil
}

// describeEvents renders the money movements of a tx for people.
func describeEvents(ctx context.Context, c *client.Client, evs []client.Event) []string {
	var out []string
	var created string
	var moved map[string]string // the attributes of the tx's last transfer
	for _, ev := range evs {
		attrs := map[string]string{}
		for _, a := range ev.Attrs {
			attrs[a.Key] = a.Value
		}
		switch ev.Type {
		case "created":
			created = attrs["id"]
		case "transfer":
			moved = attrs
		case "payment_captured":
			// A capture names only the mandate, merchant and release; the
			// payment id, asset and amount are in the tx's created and
			// escrow transfer events.
			attrs["payment_id"], attrs["asset"], attrs["amount"] = created, moved["asset"], moved["amount"]
		}
		amount := attrs["amount"]
		if amt, err := chain.ParseBaseUnits(amount); err == nil && attrs["asset"] != "" {
			amount = c.FormatCoin(ctx, chain.Coin{Asset: attrs["asset"], Amount: amt})
		}
		switch ev.Type {
		case "transfer":
			out = append(out, fmt.Sprintf("transfer %s from %s to %s", amount, attrs["from"], attrs["to"]))
		case "mint":
			out = append(out, fmt.Sprintf("mint %s to %s", amount, attrs["to"]))
		case "burn":
			out = append(out, fmt.Sprintf("burn %s from %s", amount, attrs["from"]))
		case "tx", "created":
		case "proposal_submitted":
			out = append(out, fmt.Sprintf("proposal %s submitted by %s, voting ends at height %s", attrs["id"], attrs["proposer"], attrs["voting_ends_at"]))
		case "vote":
			vote := "no"
			if attrs["yes"] == "true" {
				vote = "yes"
			}
			out = append(out, fmt.Sprintf("vote %s on proposal %s by %s", vote, attrs["proposal"], attrs["voter"]))
		case "proposal_passed":
			out = append(out, fmt.Sprintf("proposal %s passed", attrs["id"]))
		case "proposal_rejected":
			out = append(out, fmt.Sprintf("proposal %s rejected", attrs["id"]))
		default:
			if line, ok := describeDelegationEvent(ctx, c, ev.Type, attrs); ok {
				out = append(out, line)
				continue
			}
			var kv []string
			for _, a := range ev.Attrs {
				kv = append(kv, a.Key+"="+a.Value)
			}
			out = append(out, ev.Type+" "+strings.Join(kv, " "))
		}
	}
	return out
}
