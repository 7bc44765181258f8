package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cometbft/cometbft/p2p"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/params"
)

// NewMember describes a member to add by proposal.
type NewMember struct {
	Name    string
	Address chain.Address
	Roles   []string
	// ConsensusKey is the 32-byte ed25519 consensus public key of the
	// member's validator; with Power, it is required with the validator
	// role and refused without it.
	ConsensusKey []byte
	Power        int64
	// NodeID is the member's CometBFT node ID (40 lower-case hex
	// characters), which lets its node through the peer filter.
	NodeID string
}

// AddMemberAction is the action adding m to the consortium.
func AddMemberAction(m NewMember) *pb.Action {
	return &pb.Action{Action: &pb.Action_AddMember{AddMember: &pb.AddMember{Member: &pb.MemberSpec{
		Name:            m.Name,
		Address:         m.Address[:],
		Roles:           append([]string(nil), m.Roles...),
		ConsensusPubKey: m.ConsensusKey,
		Power:           m.Power,
		NodeId:          m.NodeID,
	}}}}
}

// RemoveMemberAction is the action removing the member at a (and its
// validator, if it has one).
func RemoveMemberAction(a chain.Address) *pb.Action {
	return &pb.Action{Action: &pb.Action_RemoveMember{RemoveMember: &pb.RemoveMember{Address: a[:]}}}
}

// SetRolesAction is the action replacing the roles of the member at a.
// consensusKey and power are needed only when the validator role is given
// to a member that has no consensus key yet; pass nil and 0 otherwise.
func SetRolesAction(a chain.Address, roles []string, consensusKey []byte, power int64) *pb.Action {
	return &pb.Action{Action: &pb.Action_SetRoles{SetRoles: &pb.SetRoles{
		Address: a[:], Roles: append([]string(nil), roles...), ConsensusPubKey: consensusKey, Power: power}}}
}

// SetPowerAction is the action changing the voting power of the validator
// member at a.
func SetPowerAction(a chain.Address, power int64) *pb.Action {
	return &pb.Action{Action: &pb.Action_SetPower{SetPower: &pb.SetPower{Address: a[:], Power: power}}}
}

// SetParamAction is the action setting a chain parameter ("<module>.<name>")
// to a JSON value, e.g. SetParamAction("consortium.voting_period_blocks",
// "100"). The value is compacted when it is valid JSON and sent as given
// otherwise (the ledger then refuses it with invalid_proposal).
func SetParamAction(key, value string) *pb.Action {
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(value)) == nil {
		value = buf.String()
	}
	return &pb.Action{Action: &pb.Action_SetParam{SetParam: &pb.SetParam{Key: key, Value: value}}}
}

// SetNodeIDAction is the action registering nodeID as the node of the
// member at a (replacing its previous one).
func SetNodeIDAction(a chain.Address, nodeID string) *pb.Action {
	return &pb.Action{Action: &pb.Action_SetNodeId{SetNodeId: &pb.SetNodeID{Address: a[:], NodeId: nodeID}}}
}

// ProposalMsg is the message by which proposer submits action.
func ProposalMsg(proposer chain.Address, title string, action *pb.Action) *pb.MsgSubmitProposal {
	return &pb.MsgSubmitProposal{Proposer: proposer[:], Title: title, Action: action}
}

// VoteMsg is voter's vote on proposal id.
func VoteMsg(voter chain.Address, id uint64, yes bool) *pb.MsgVote {
	return &pb.MsgVote{Voter: voter[:], ProposalId: id, Yes: yes}
}

// CreatedID returns the id of the object the tx created (the "id" of its
// "created" event), if it created one.
func (r *TxResult) CreatedID() (string, bool) { return r.Attr("created", "id") }

// ProposalID returns the id of the proposal a tx submitted.
func (r *TxResult) ProposalID() (uint64, bool) {
	s, ok := r.Attr("proposal_submitted", "id")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil
}

// Propose submits a proposal signed by key, whose account must be a member.
// Its vote counts as yes at once, so with enough weight the proposal passes
// in the same block and executes at that block's end. It returns the
// proposal's id and the tx result.
func (c *Client) Propose(ctx context.Context, key chain.PrivKey, title string, action *pb.Action) (uint64, *TxResult, error) {
	res, err := c.Submit(ctx, key, chain.TxOptions{}, ProposalMsg(key.PubKey().Address(), title, action))
	if err != nil {
		return 0, res, err
	}
	id, ok := res.ProposalID()
	if !ok {
		return 0, res, fmt.Errorf("%w: tx %s has no proposal_submitted event with an id", ErrNode, res.Hash)
	}
	return id, res, nil
}

// Vote casts key's member's vote on proposal id.
func (c *Client) Vote(ctx context.Context, key chain.PrivKey, id uint64, yes bool) (*TxResult, error) {
	return c.Submit(ctx, key, chain.TxOptions{}, VoteMsg(key.PubKey().Address(), id, yes))
}

// ProposalInfo is a proposal as /consortium/proposal/<id> answers it (the
// action in protobuf JSON, addresses as base64) with a one-line Summary of
// its action for people.
type ProposalInfo struct {
	consortium.ProposalView
	Summary string `json:"summary"`
}

// Done reports whether the proposal will not change any more: executed,
// failed, rejected or expired.
func (p *ProposalInfo) Done() bool {
	switch p.Status {
	case consortium.StatusVoting, consortium.StatusQueued:
		return false
	}
	return true
}

// DecodeAction returns the proposal's action.
func (p *ProposalInfo) DecodeAction() (*pb.Action, error) {
	var a pb.Action
	if err := protojson.Unmarshal(p.ProposalView.Action, &a); err != nil {
		return nil, fmt.Errorf("%w: proposal %d: action: %w", ErrNode, p.ID, err)
	}
	return &a, nil
}

// Proposals returns every proposal, oldest first.
func (c *Client) Proposals(ctx context.Context) ([]ProposalInfo, error) {
	var out []ProposalInfo
	if err := c.Query(ctx, "/consortium/proposals", &out); err != nil {
		return nil, err
	}
	names := c.memberNames(ctx)
	for i := range out {
		out[i].summarize(names)
	}
	if out == nil {
		out = []ProposalInfo{}
	}
	return out, nil
}

// Proposal returns one proposal; an unknown id is consortium.ErrUnknownProposal.
func (c *Client) Proposal(ctx context.Context, id uint64) (*ProposalInfo, error) {
	var out ProposalInfo
	if err := c.Query(ctx, "/consortium/proposal/"+strconv.FormatUint(id, 10), &out); err != nil {
		return nil, err
	}
	out.summarize(c.memberNames(ctx))
	return &out, nil
}

func (p *ProposalInfo) summarize(names map[chain.Address]string) {
	a, err := p.DecodeAction()
	if err != nil {
		p.Summary = "(undecodable action)"
		return
	}
	p.Summary = DescribeAction(a, names)
}

// memberNames maps the current members' addresses to their names, for
// summaries; it is empty if the query fails.
func (c *Client) memberNames(ctx context.Context) map[chain.Address]string {
	names := map[chain.Address]string{}
	ms, err := c.Members(ctx)
	if err != nil {
		return names
	}
	for _, m := range ms {
		names[m.Address] = m.Name
	}
	return names
}

// WaitProposal polls proposal id until done says it has reached the state
// wanted, and returns it. With done nil it waits until the proposal is Done
// (executed, failed, rejected or expired). It gives up when ctx ends.
func (c *Client) WaitProposal(ctx context.Context, id uint64, done func(*ProposalInfo) bool) (*ProposalInfo, error) {
	if done == nil {
		done = (*ProposalInfo).Done
	}
	every := c.PollInterval
	if every <= 0 {
		every = DefaultPollInterval
	}
	for {
		p, err := c.Proposal(ctx, id)
		if err == nil && done(p) {
			return p, nil
		}
		if err != nil && AsError(err) != nil {
			return nil, err // the ledger's answer (unknown_proposal) will not change
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("proposal %d is still %s", id, p.Status)
			}
			return nil, fmt.Errorf("waiting for proposal %d: %w (%w)", id, ctx.Err(), err)
		case <-time.After(every):
		}
	}
}

// Validators returns the validator members with their consensus keys and
// powers, in address order.
func (c *Client) Validators(ctx context.Context) ([]consortium.Member, error) {
	var out []consortium.Member
	if err := c.Query(ctx, "/consortium/validators", &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Params returns every chain parameter with its current value.
func (c *Client) Params(ctx context.Context) ([]params.View, error) {
	var out []params.View
	if err := c.Query(ctx, "/params", &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Param returns one chain parameter; an unknown key is params.ErrInvalidParam.
func (c *Client) Param(ctx context.Context, key string) (*params.View, error) {
	key = strings.TrimSpace(key)
	if key == "" || strings.Contains(key, "/") {
		return nil, chain.Wrapf(params.ErrInvalidParam, "no parameter %q", key)
	}
	var out params.View
	if err := c.Query(ctx, "/params/"+key, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ResolveMember turns a bech32 address, the name of a current member, or a
// key name from the keyring into an address, in that order of preference.
func (c *Client) ResolveMember(ctx context.Context, s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToLower(s), chain.AddressPrefix+"1") {
		if a, err := chain.ParseAddress(s); err == nil {
			return a, nil
		}
	}
	ms, err := c.Members(ctx)
	if err != nil {
		return chain.Address{}, err
	}
	for _, m := range ms {
		if m.Name == s {
			return m.Address, nil
		}
	}
	a, err := c.Resolve(s)
	if err != nil {
		return chain.Address{}, fmt.Errorf("%q is not a member's name: %w", s, err)
	}
	return a, nil
}

// ErrBadKeyFile is returned for a consensus or node key file that cannot be
// read or has no usable key.
var ErrBadKeyFile = errors.New("bad key file")

// ed25519PubKeyType is CometBFT's amino name of an ed25519 public key.
const ed25519PubKeyType = "tendermint/PubKeyEd25519"

// ParseConsensusKey decodes a base64 ed25519 consensus public key (CometBFT's
// priv_validator_key.json "pub_key.value", or the "value" printed by
// `cometbft show-validator`) into its 32 bytes.
func ParseConsensusKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 32 {
		return nil, chain.Wrapf(consortium.ErrInvalidMember, "consensus key must be 32 bytes of base64 ed25519, got %q", s)
	}
	return b, nil
}

// ReadConsensusKeyFile returns the 32-byte ed25519 public key held in a
// CometBFT priv_validator_key.json (only its "pub_key" is read), or in a
// file holding just the public key as `cometbft show-validator` prints it:
// {"type": "tendermint/PubKeyEd25519", "value": "<base64>"}.
func ReadConsensusKeyFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKeyFile, err)
	}
	type pubKey struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	var f struct {
		PubKey *pubKey `json:"pub_key"`
		pubKey
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadKeyFile, path, err)
	}
	k := f.PubKey
	if k == nil {
		k = &f.pubKey
	}
	if k.Value == "" {
		return nil, fmt.Errorf("%w: %s has no pub_key", ErrBadKeyFile, path)
	}
	if k.Type != ed25519PubKeyType {
		return nil, fmt.Errorf("%w: %s: consensus key type %q, want %s", ErrBadKeyFile, path, k.Type, ed25519PubKeyType)
	}
	b, err := base64.StdEncoding.DecodeString(k.Value)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%w: %s: pub_key.value is not 32 bytes of base64", ErrBadKeyFile, path)
	}
	return b, nil
}

// ParseNodeID checks a CometBFT node ID (40 hex characters; an
// "ID@host:port" peer address is accepted too) and returns it in lower case,
// as the ledger stores it.
func ParseNodeID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	s = strings.ToLower(s)
	if len(s) != 40 || strings.Trim(s, "0123456789abcdef") != "" {
		return "", chain.Wrapf(consortium.ErrInvalidProposal, "node id %q must be 40 hex characters", s)
	}
	return s, nil
}

// ReadNodeIDFile returns the node ID of a CometBFT node_key.json.
func ReadNodeIDFile(path string) (string, error) {
	k, err := p2p.LoadNodeKey(path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadKeyFile, err)
	}
	return string(k.ID()), nil
}

// DescribeAction renders an action in one line, naming members from names
// where it can.
func DescribeAction(a *pb.Action, names map[chain.Address]string) string {
	who := func(b []byte) string {
		addr, err := chain.AddressFromBytes(b)
		if err != nil {
			return addrString(b)
		}
		if n, ok := names[addr]; ok {
			return n + " (" + addr.String() + ")"
		}
		return addr.String()
	}
	validator := func(key []byte, power int64) string {
		if len(key) == 0 && power == 0 {
			return ""
		}
		return fmt.Sprintf(", consensus key %s power %d", base64.StdEncoding.EncodeToString(key), power)
	}
	roles := func(rs []string) string {
		rs = append([]string(nil), rs...)
		sort.Strings(rs)
		return strings.Join(rs, ",")
	}
	switch x := a.GetAction().(type) {
	case *pb.Action_AddMember:
		m := x.AddMember.GetMember()
		if m == nil {
			return "add-member (no member)"
		}
		s := fmt.Sprintf("add-member %s %s roles %s%s", m.Name, addrString(m.Address), roles(m.Roles), validator(m.ConsensusPubKey, m.Power))
		if m.NodeId != "" {
			s += ", node " + m.NodeId
		}
		return s
	case *pb.Action_RemoveMember:
		return "remove-member " + who(x.RemoveMember.Address)
	case *pb.Action_SetRoles:
		return fmt.Sprintf("set-roles %s roles %s%s", who(x.SetRoles.Address), roles(x.SetRoles.Roles), validator(x.SetRoles.ConsensusPubKey, x.SetRoles.Power))
	case *pb.Action_SetPower:
		return fmt.Sprintf("set-power %s %d", who(x.SetPower.Address), x.SetPower.Power)
	case *pb.Action_SetParam:
		return fmt.Sprintf("set-param %s %s", x.SetParam.Key, x.SetParam.Value)
	case *pb.Action_SetNodeId:
		return fmt.Sprintf("set-node-id %s %s", who(x.SetNodeId.Address), x.SetNodeId.NodeId)
	}
	return "(no action)"
}
