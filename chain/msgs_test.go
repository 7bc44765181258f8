package chain_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
)

func TestNewMsg(t *testing.T) {
	for _, name := range []string{"amp.bank.v1.MsgSend", "amp.bank.v1.MsgMint", "amp.bank.v1.MsgBurn"} {
		m, err := chain.NewMsg(name)
		if err != nil {
			t.Fatalf("NewMsg(%q): %v", name, err)
		}
		if chain.MsgType(m) != name {
			t.Fatalf("NewMsg(%q) made a %s", name, chain.MsgType(m))
		}
	}
	for _, name := range []string{"", "amp.bank.v1.MsgSteal", "MsgSend", "amp.bank.v9.MsgSend", "/amp.bank.v1.MsgSend"} {
		_, err := chain.NewMsg(name)
		wantErr(t, err, chain.ErrUnknownMsg)
	}
}

func TestDecodeMsgs(t *testing.T) {
	k := keys(t)
	send := sendMsg(k.a, k.b, "USD", "1000000000000")
	burn := &pb.MsgBurn{From: addr(k.a), Amount: &pb.Coin{Asset: "USD", Amount: "1"}}
	tx := decode(t, buildTx(t, testChain, 0, chain.TxOptions{}, []proto.Message{send, burn}, k.a))
	msgs, err := tx.DecodeMsgs()
	wantErr(t, err, nil)
	if len(msgs) != 2 || !proto.Equal(msgs[0], send) || !proto.Equal(msgs[1], burn) {
		t.Fatalf("DecodeMsgs = %v", msgs)
	}

	withMsg := func(m *pb.Msg) *chain.Tx {
		body := marshal(t, &pb.TxBody{ChainId: testChain, Msgs: []*pb.Msg{{Type: chain.MsgType(send), Value: marshal(t, send)}, m}, Signers: addrs(k.a)})
		raw, err := chain.SignTxBody(body, k.a)
		if err != nil {
			t.Fatal(err)
		}
		return decode(t, raw)
	}
	value := marshal(t, send)
	_, err = withMsg(&pb.Msg{Type: "amp.bank.v1.MsgSteal", Value: value}).DecodeMsgs()
	wantErr(t, err, chain.ErrUnknownMsg)
	for name, v := range map[string][]byte{
		"unknown field":     cat(value, pbUint(9, 1)),
		"explicit default":  cat(pbLen(1, nil), value),
		"fields reordered":  cat(pbLen(2, send.To), pbLen(1, send.From), pbLen(3, marshal(t, send.Amount))),
		"not a MsgSend":     {0xff, 0xff},
		"MsgMint as a send": marshal(t, &pb.MsgMint{Issuer: addr(k.a), To: addr(k.b), Amount: &pb.Coin{Asset: "USD", Amount: "1"}}),
	} {
		_, err := withMsg(&pb.Msg{Type: "amp.bank.v1.MsgSend", Value: v}).DecodeMsgs()
		if name == "MsgMint as a send" {
			// Same field numbers and wire types: the bytes are a valid,
			// canonical MsgSend too. Types are told apart by Msg.type only.
			wantErr(t, err, nil)
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantErr(t, err, chain.ErrMsgDecode)
	}
}
