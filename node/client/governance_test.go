package client

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/consortium"
)

func TestReadConsensusKeyFile(t *testing.T) {
	dir := t.TempDir()
	keyFile, stateFile := filepath.Join(dir, "priv_validator_key.json"), filepath.Join(dir, "priv_validator_state.json")
	pv, err := privval.GenFilePV(keyFile, stateFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	pv.Save()
	pub, _ := pv.GetPubKey()
	got, err := ReadConsensusKeyFile(keyFile)
	if err != nil || !bytes.Equal(got, pub.Bytes()) {
		t.Fatalf("priv_validator_key.json: %x %v, want %x", got, err, pub.Bytes())
	}
	// The form `cometbft show-validator` prints.
	shown := filepath.Join(dir, "pub.json")
	b, _ := json.Marshal(map[string]string{"type": "tendermint/PubKeyEd25519", "value": base64.StdEncoding.EncodeToString(pub.Bytes())})
	if err := os.WriteFile(shown, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadConsensusKeyFile(shown); err != nil || !bytes.Equal(got, pub.Bytes()) {
		t.Fatalf("show-validator file: %x %v", got, err)
	}
	for name, content := range map[string]string{
		"empty.json":     `{}`,
		"notjson.json":   `pub_key`,
		"secp.json":      `{"pub_key": {"type": "tendermint/PubKeySecp256k1", "value": "AA=="}}`,
		"short.json":     `{"pub_key": {"type": "tendermint/PubKeyEd25519", "value": "AAAA"}}`,
		"notbase64.json": `{"pub_key": {"type": "tendermint/PubKeyEd25519", "value": "!!"}}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadConsensusKeyFile(p); !errors.Is(err, ErrBadKeyFile) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ReadConsensusKeyFile(filepath.Join(dir, "missing.json")); !errors.Is(err, ErrBadKeyFile) {
		t.Errorf("missing file: %v", err)
	}

	k, err := ParseConsensusKey(base64.StdEncoding.EncodeToString(pub.Bytes()))
	if err != nil || !bytes.Equal(k, pub.Bytes()) {
		t.Fatalf("ParseConsensusKey: %v", err)
	}
	if _, err := ParseConsensusKey("AAAA"); !errors.Is(err, consortium.ErrInvalidMember) {
		t.Fatalf("short key: %v", err)
	}
}

func TestNodeIDs(t *testing.T) {
	dir := t.TempDir()
	nk, err := p2p.LoadOrGenNodeKey(filepath.Join(dir, "node_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := ReadNodeIDFile(filepath.Join(dir, "node_key.json"))
	if err != nil || id != string(nk.ID()) {
		t.Fatalf("node key file: %q %v", id, err)
	}
	if _, err := ReadNodeIDFile(filepath.Join(dir, "nope.json")); !errors.Is(err, ErrBadKeyFile) {
		t.Fatalf("missing node key: %v", err)
	}
	up := strings.ToUpper(id)
	for _, in := range []string{id, up, " " + id + " ", up + "@127.0.0.1:26656"} {
		if got, err := ParseNodeID(in); err != nil || got != id {
			t.Errorf("ParseNodeID(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", id[:39], id + "0", strings.Repeat("g", 40)} {
		if _, err := ParseNodeID(bad); !errors.Is(err, consortium.ErrInvalidProposal) {
			t.Errorf("ParseNodeID(%q): %v", bad, err)
		}
	}
}

func TestActions(t *testing.T) {
	a := chain.Address{1, 2, 3}
	b := chain.Address{4}
	key := bytes.Repeat([]byte{5}, 32)
	names := map[chain.Address]string{a: "acme"}
	for _, tc := range []struct {
		action *pb.Action
		want   string
	}{
		{AddMemberAction(NewMember{Name: "n", Address: b, Roles: []string{"validator", "acquirer"}, ConsensusKey: key, Power: 7, NodeID: strings.Repeat("a", 40)}),
			"add-member n " + b.String() + " roles acquirer,validator, consensus key " + base64.StdEncoding.EncodeToString(key) + " power 7, node " + strings.Repeat("a", 40)},
		{RemoveMemberAction(a), "remove-member acme (" + a.String() + ")"},
		{SetRolesAction(b, []string{"kya_issuer"}, nil, 0), "set-roles " + b.String() + " roles kya_issuer"},
		{SetPowerAction(a, 3), "set-power acme (" + a.String() + ") 3"},
		{SetParamAction("consortium.voting_period_blocks", " 100 "), "set-param consortium.voting_period_blocks 100"},
		{SetParamAction("x.y", `{ "a" : 1 }`), `set-param x.y {"a":1}`},
		{SetParamAction("x.y", `not json`), `set-param x.y not json`},
		{SetNodeIDAction(a, strings.Repeat("b", 40)), "set-node-id acme (" + a.String() + ") " + strings.Repeat("b", 40)},
		{&pb.Action{}, "(no action)"},
	} {
		if got := DescribeAction(tc.action, names); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}

	// A proposal's action comes back from the query as protobuf JSON.
	action := AddMemberAction(NewMember{Name: "n", Address: b, Roles: []string{"acquirer"}})
	raw, err := protojson.Marshal(action)
	if err != nil {
		t.Fatal(err)
	}
	var p ProposalInfo
	if err := json.Unmarshal([]byte(`{"id": 4, "status": "voting", "action": `+string(raw)+`}`), &p); err != nil {
		t.Fatal(err)
	}
	back, err := p.DecodeAction()
	if err != nil || back.GetAddMember().GetMember().GetName() != "n" || p.ID != 4 || p.Done() {
		t.Fatalf("decoded %+v %v", back, err)
	}
	out, _ := json.Marshal(p)
	if !strings.Contains(string(out), `"action":{"addMember"`) {
		t.Fatalf("re-encoded: %s", out)
	}

	r := &TxResult{Events: []Event{{Type: "proposal_submitted", Attrs: []Attr{{Key: "id", Value: "12"}}}, {Type: "created", Attrs: []Attr{{Key: "id", Value: "12"}}}}}
	if id, ok := r.ProposalID(); !ok || id != 12 {
		t.Fatalf("proposal id %d %v", id, ok)
	}
	if id, ok := r.CreatedID(); !ok || id != "12" {
		t.Fatalf("created id %q %v", id, ok)
	}
}
