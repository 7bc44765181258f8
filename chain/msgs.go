package chain

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// The wire types register themselves with the protobuf registry.
	_ "github.com/amp-ledger/amp/chain/pb"
)

// NewMsg returns an empty message of a wire type name such as
// "amp.bank.v1.MsgSend", for clients that decode txs (explorers, the
// gateway). Which types a chain accepts is decided by its modules' routes;
// this registry only knows which types exist in the wire format.
func NewMsg(typeName string) (proto.Message, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(typeName))
	if err != nil {
		return nil, Wrapf(ErrUnknownMsg, "message type %q", typeName)
	}
	return mt.New().Interface(), nil
}

// DecodeMsgs decodes every message of a decoded tx by its type name.
func (t *Tx) DecodeMsgs() ([]proto.Message, error) {
	out := make([]proto.Message, len(t.Body.Msgs))
	for i, m := range t.Body.Msgs {
		msg, err := NewMsg(m.Type)
		if err != nil {
			return nil, err
		}
		if err := UnmarshalCanonical(m.Value, msg); err != nil {
			return nil, Wrapf(ErrMsgDecode, "message %d (%s): %v", i, m.Type, err)
		}
		out[i] = msg
	}
	return out, nil
}
