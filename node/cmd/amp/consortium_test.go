package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/privval"

	"github.com/amp-ledger/amp/node"
	"github.com/amp-ledger/amp/node/home"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// cli runs amp in this process against a dev node.
type cli struct {
	t      *testing.T
	global []string
}

func (c *cli) run(args ...string) (stdout, stderr string, exit int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	exit = run(ctx, append(append([]string{}, c.global...), args...), &out, &errb)
	return out.String(), errb.String(), exit
}

// json runs amp with -o json and decodes its output into v.
func (c *cli) json(v any, args ...string) int {
	c.t.Helper()
	out, errOut, exit := c.run(append([]string{"-o", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("amp %v: output is not JSON (exit %d): %v\n%s%s", args, exit, err, out, errOut)
	}
	return exit
}

type failOut struct {
	Code    int64  `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (c *cli) fails(exit int, code int64, reason string, args ...string) {
	c.t.Helper()
	var f failOut
	if got := c.json(&f, args...); got != exit || f.Code != code || f.Reason != reason || f.Message == "" {
		c.t.Fatalf("amp %v: exit %d %+v, want exit %d code %d (%s)", args, got, f, exit, code, reason)
	}
}

type propOut struct {
	ID           uint64   `json:"id"`
	Status       string   `json:"status"`
	Title        string   `json:"title"`
	Summary      string   `json:"summary"`
	Yes          []string `json:"yes"`
	No           []string `json:"no"`
	DecidedAt    int64    `json:"decided_height"`
	Result       string   `json:"result"`
	VotingEndsAt int64    `json:"voting_ends_at"`
}

type govTxOut struct {
	TxHash   string   `json:"txhash"`
	Height   int64    `json:"height"`
	Code     *int64   `json:"code"`
	ID       string   `json:"id"`
	Proposal *propOut `json:"proposal"`
}

func TestConsortiumCommands(t *testing.T) {
	dir := t.TempDir()
	if _, err := home.Init(home.DevOptions(dir, freeAddr(t), freeAddr(t), 150*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Start(ctx, dir, node.Options{Logger: cmtlog.NewNopLogger(), CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	c := &cli{t: t, global: []string{"--home", dir, "--node", n.RPCURL()}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st struct {
			Height int64 `json:"latest_block_height"`
		}
		if c.json(&st, "status") == 0 && st.Height >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node does not make blocks")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The issuer alone changes a parameter: the proposal passes at once and
	// executes at the end of its block.
	var tx govTxOut
	if exit := c.json(&tx, "tx", "consortium", "propose", "--from", "issuer", "--title", "shorter votes",
		"set-param", "consortium.voting_period_blocks", "100"); exit != 0 {
		t.Fatalf("propose: exit %d %+v", exit, tx)
	}
	if tx.ID != "1" || tx.Code == nil || *tx.Code != 0 || tx.Proposal == nil || tx.Proposal.Status != "executed" ||
		tx.Proposal.Title != "shorter votes" || tx.Proposal.DecidedAt != tx.Height {
		t.Fatalf("propose output: %+v %+v", tx, tx.Proposal)
	}
	var param struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
		Doc   string          `json:"doc"`
	}
	if exit := c.json(&param, "query", "params", "consortium.voting_period_blocks"); exit != 0 || string(param.Value) != "100" || param.Doc == "" {
		t.Fatalf("query params KEY: %d %+v", exit, param)
	}
	var params []json.RawMessage
	if exit := c.json(&params, "query", "params"); exit != 0 || len(params) == 0 {
		t.Fatalf("query params: %d %v", exit, params)
	}
	out, _, exit := c.run("query", "params")
	if exit != 0 || !strings.Contains(out, "consortium.voting_period_blocks") || !strings.Contains(out, "100") {
		t.Fatalf("query params (text): %d\n%s", exit, out)
	}

	// Text output names the id and the outcome. Flags may follow the action.
	out, stderr, exit := c.run("tx", "consortium", "propose", "add-member", "--from", "issuer",
		"--name", "alice", "--address", "alice", "--roles", "kya_issuer, acquirer")
	if exit != 0 || !strings.Contains(out, "id:") || !strings.Contains(out, "proposal 2 is now executed") {
		t.Fatalf("add-member (text): exit %d\n%s%s", exit, out, stderr)
	}
	var member struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	if exit := c.json(&member, "query", "consortium", "member", "alice"); exit != 0 || member.Name != "alice" || len(member.Roles) != 2 {
		t.Fatalf("alice: %d %+v", exit, member)
	}

	// Two members now: the proposer's vote alone is not enough.
	if exit := c.json(&tx, "tx", "consortium", "propose", "--from", "issuer", "remove-member", "alice"); exit != 0 ||
		tx.ID != "3" || tx.Proposal.Status != "voting" || !strings.HasPrefix(tx.Proposal.Summary, "remove-member alice (amp1") {
		t.Fatalf("remove-member: %d %+v %+v", exit, tx, tx.Proposal)
	}
	c.fails(1, 207, "duplicate_vote", "tx", "consortium", "vote", "--from", "issuer", "3", "yes")
	c.fails(1, 202, "not_member", "tx", "consortium", "vote", "--from", "bob", "3", "yes")
	c.fails(1, 202, "not_member", "tx", "consortium", "propose", "--from", "bob", "set-param", "consortium.voting_period_blocks", "5")
	c.fails(1, 205, "unknown_proposal", "tx", "consortium", "vote", "--from", "issuer", "99", "yes")
	c.fails(1, 205, "unknown_proposal", "query", "consortium", "proposal", "99")
	c.fails(1, 250, "invalid_param", "tx", "consortium", "propose", "--from", "issuer", "set-param", "nope.nothing", "5")
	c.fails(1, 210, "invalid_proposal", "tx", "consortium", "propose", "--from", "issuer", "set-param", "consortium.voting_period_blocks", "{")
	c.fails(1, 202, "not_member", "tx", "consortium", "propose", "--from", "issuer", "set-power", "bob", "5")
	c.fails(1, 204, "invalid_member", "tx", "consortium", "propose", "--from", "issuer", "add-member", "--name", "v", "--address", "bob", "--roles", "validator")
	c.fails(1, 201, "unknown_role", "tx", "consortium", "propose", "--from", "issuer", "set-roles", "alice", "--roles", "banker")
	c.fails(1, 210, "invalid_proposal", "tx", "consortium", "propose", "--from", "issuer", "set-node-id", "alice", "abc")

	// A consensus key read from a priv_validator_key.json; power 5 next to
	// issuer's 10 would leave issuer with 2/3 of the power or less.
	pvDir := t.TempDir()
	keyFile := filepath.Join(pvDir, "priv_validator_key.json")
	pv, err := privval.GenFilePV(keyFile, filepath.Join(pvDir, "priv_validator_state.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pv.Save()
	c.fails(1, 208, "unsafe_validator_change", "tx", "consortium", "propose", "--from", "issuer", "add-member",
		"--name", "v", "--address", "bob", "--roles", "validator", "--consensus-key-file", keyFile, "--power", "5")

	// Mistakes in the command line.
	for _, args := range [][]string{
		{"tx", "consortium", "vote", "--from", "issuer", "3", "maybe"},
		{"tx", "consortium", "vote", "--from", "issuer", "x", "yes"},
		{"tx", "consortium", "vote", "3", "yes"},
		{"tx", "consortium", "propose", "set-param", "k", "1"},
		{"tx", "consortium", "propose", "--from", "issuer", "set-power", "alice", "-1"},
		{"tx", "consortium", "propose", "--from", "issuer", "add-member", "--name", "v", "--address", "bob", "--roles", "acquirer", "--power", "3"},
		{"tx", "consortium", "propose", "--from", "issuer", "add-member", "--name", "v", "--address", "bob", "--roles", "validator",
			"--consensus-key", "AAAA", "--consensus-key-file", keyFile},
		{"tx", "consortium", "propose", "--from", "issuer", "add-member", "--name", "v", "--address", "bob", "--roles", "validator",
			"--consensus-key-file", filepath.Join(pvDir, "missing.json")},
		{"tx", "consortium", "propose", "--from", "issuer", "set-node-id", "alice"},
		{"query", "consortium", "proposal", "0"},
	} {
		c.fails(2, -1, "usage", args...)
	}

	// alice's yes is the second of two: she is removed at the end of the block.
	tx = govTxOut{}
	if exit := c.json(&tx, "tx", "consortium", "vote", "--from", "alice", "3", "yes"); exit != 0 || tx.Proposal == nil ||
		tx.Proposal.Status != "executed" || len(tx.Proposal.Yes) != 2 || tx.ID != "" {
		t.Fatalf("vote: %d %+v %+v", exit, tx, tx.Proposal)
	}
	c.fails(1, 202, "not_member", "query", "consortium", "member", "alice")
	c.fails(1, 206, "proposal_closed", "tx", "consortium", "vote", "--from", "issuer", "3", "no")

	var props []propOut
	if exit := c.json(&props, "query", "consortium", "proposals"); exit != 0 || len(props) != 3 || props[2].Status != "executed" {
		t.Fatalf("proposals: %d %+v", exit, props)
	}
	var one propOut
	if exit := c.json(&one, "query", "consortium", "proposal", "2"); exit != 0 || !strings.HasPrefix(one.Summary, "add-member alice") {
		t.Fatalf("proposal 2: %d %+v", exit, one)
	}
	out, _, exit = c.run("query", "consortium", "proposal", "3")
	if exit != 0 || !strings.Contains(out, "executed") || !strings.Contains(out, "remove-member") {
		t.Fatalf("proposal 3 (text): %d\n%s", exit, out)
	}
	out, _, exit = c.run("query", "consortium", "proposals")
	if exit != 0 || strings.Count(out, "executed") != 3 {
		t.Fatalf("proposals (text): %d\n%s", exit, out)
	}
	var vals []struct {
		Name      string `json:"name"`
		NodeID    string `json:"node_id"`
		Validator struct {
			Power int64 `json:"power"`
		} `json:"validator"`
	}
	if exit := c.json(&vals, "query", "consortium", "validators"); exit != 0 || len(vals) != 1 || vals[0].Name != "issuer" ||
		vals[0].Validator.Power != 10 || len(vals[0].NodeID) != 40 {
		t.Fatalf("validators: %d %+v", exit, vals)
	}
	out, _, exit = c.run("query", "consortium", "validators")
	if exit != 0 || !strings.Contains(out, "total power 10") {
		t.Fatalf("validators (text): %d\n%s", exit, out)
	}
	// The tx shows the proposal's fields.
	out, _, exit = c.run("query", "tx", tx.TxHash)
	if exit != 0 || !strings.Contains(out, "proposal=3") || !strings.Contains(out, "vote=yes") {
		t.Fatalf("query tx (text): %d\n%s", exit, out)
	}
}
