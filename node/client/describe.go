package client

import (
	"context"
	"encoding/hex"
	"strconv"

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

// MsgView is one message of a tx. Known messages show their fields with
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
		case chain.MsgType(&pb.MsgSend{}):
			var s pb.MsgSend
			if chain.UnmarshalCanonical(m.Value, &s) == nil {
				mv.Fields = map[string]string{"from": addrString(s.From), "to": addrString(s.To), "amount": c.coinString(ctx, s.Amount)}
			}
		case chain.MsgType(&pb.MsgMint{}):
			var s pb.MsgMint
			if chain.UnmarshalCanonical(m.Value, &s) == nil {
				mv.Fields = map[string]string{"issuer": addrString(s.Issuer), "to": addrString(s.To), "amount": c.coinString(ctx, s.Amount)}
			}
		case chain.MsgType(&pb.MsgBurn{}):
			var s pb.MsgBurn
			if chain.UnmarshalCanonical(m.Value, &s) == nil {
				mv.Fields = map[string]string{"from": addrString(s.From), "amount": c.coinString(ctx, s.Amount)}
			}
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
		}
		if mv.Fields == nil {
			mv.Hex = hex.EncodeToString(m.Value)
		}
		v.Msgs = append(v.Msgs, mv)
	}
	return v, nil
}
