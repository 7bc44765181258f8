package client

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

// TxView is a decoded tx for people to read.
type TxView struct {
	ChainID       string    `json:"chain_id"`
	Signer        string    `json:"signer"`
	CoSigners     []string  `json:"co_signers,omitempty"`
	Nonce         uint64    `json:"nonce"`
	TimeoutHeight uint64    `json:"timeout_height,omitempty"`
	Memo          string    `json:"memo,omitempty"`
	Msgs          []MsgView `json:"messages"`
}

// MsgView is one message of a tx. Registered messages show their fields with
// addresses in bech32 and amounts as exact decimals; others show their
// encoded bytes in hex.
type MsgView struct {
	Type   string            `json:"type"`
	Fields map[string]string `json:"fields,omitempty"`
	Hex    string            `json:"hex,omitempty"`
}

func addrString(b []byte) string {
	a, err := chain.AddressFromBytes(b)
	if err != nil {
		return "invalid:" + hex.EncodeToString(b)
	}
	return a.String()
}

func (c *Client) coinString(ctx context.Context, pc *pb.Coin) string {
	if pc == nil {
		return ""
	}
	amt, err := chain.ParseBaseUnits(pc.Amount)
	if err != nil {
		return pc.Amount + " (base units) " + pc.Asset
	}
	return c.FormatCoin(ctx, chain.Coin{Asset: pc.Asset, Amount: amt})
}

// DescribeTx decodes raw tx bytes. Amounts are formatted with the decimals
// the node reports (base units if the asset is unknown).
func (c *Client) DescribeTx(ctx context.Context, raw []byte) (*TxView, error) {
	tx, err := chain.DecodeTx(raw)
	if err != nil {
		return nil, err
	}
	v := &TxView{
		ChainID:       tx.Body.ChainId,
		Signer:        tx.Signer().Address().String(),
		Nonce:         tx.Body.Nonce,
		TimeoutHeight: tx.Body.TimeoutHeight,
		Memo:          tx.Body.Memo,
	}
	for _, k := range tx.Signers[1:] {
		v.CoSigners = append(v.CoSigners, k.Address().String())
	}
	for _, m := range tx.Body.Msgs {
		mv := MsgView{Type: m.Type}
		switch m.Type {
		case chain.MsgType(&pb.MsgSubmitProposal{}):
			var s pb.MsgSubmitProposal
			if chain.UnmarshalCanonical(m.Value, &s) == nil {
				mv.Fields = map[string]string{"proposer": addrString(s.Proposer), "title": s.Title, "action": DescribeAction(s.Action, nil)}
			}
		case chain.MsgType(&pb.MsgVote{}):
			var s pb.MsgVote
			if chain.UnmarshalCanonical(m.Value, &s) == nil {
				vote := "no"
				if s.Yes {
					vote = "yes"
				}
				mv.Fields = map[string]string{"voter": addrString(s.Voter), "proposal": strconv.FormatUint(s.ProposalId, 10), "vote": vote}
			}
		default:
			if mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(m.Type)); err == nil {
				msg := mt.New()
				if chain.UnmarshalCanonical(m.Value, msg.Interface()) == nil {
					mv.Fields = map[string]string{}
					c.describeFields(ctx, msg, "", mv.Fields)
				}
			}
		}
		if mv.Fields == nil {
			mv.Hex = hex.EncodeToString(m.Value)
		}
		v.Msgs = append(v.Msgs, mv)
	}
	return v, nil
}

// describeFields renders every set field of a message for people: 20-byte
// fields as addresses, coins as decimals with their asset, other bytes in
// hex, nested messages as "outer.inner" keys, lists joined by commas.
func (c *Client) describeFields(ctx context.Context, m protoreflect.Message, prefix string, out map[string]string) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			parts := make([]string, l.Len())
			for i := range parts {
				parts[i] = c.describeValue(ctx, fd, l.Get(i))
			}
			out[name] = strings.Join(parts, ",")
		case fd.Kind() == protoreflect.MessageKind && fd.Message().FullName() != "amp.bank.v1.Coin":
			c.describeFields(ctx, v.Message(), name+".", out)
		default:
			out[name] = c.describeValue(ctx, fd, v)
		}
		return true
	})
}

func (c *Client) describeValue(ctx context.Context, fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.BytesKind:
		if b := v.Bytes(); len(b) == chain.AddressLen {
			return addrString(b)
		}
		return hex.EncodeToString(v.Bytes())
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
	case protoreflect.MessageKind:
		if coin, ok := v.Message().Interface().(*pb.Coin); ok {
			return c.coinString(ctx, coin)
		}
		return fmt.Sprint(v.Message().Interface())
	}
	return v.String()
}
