package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/chain/pb"
	"github.com/amp-ledger/amp/modules/consortium"
	"github.com/amp-ledger/amp/modules/params"
	"github.com/amp-ledger/amp/node/client"
	"github.com/amp-ledger/amp/node/home"
)

// consortiumTxCmd is `amp tx consortium`: proposals and votes.
func consortiumTxCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "consortium", Short: "Governance: propose changes to the consortium and vote on them"}
	var from, title, memo string
	propose := &cobra.Command{
		Use:   "propose --from MEMBER [--title T] ACTION ...",
		Short: "Submit a proposal (members only); the proposer's vote counts as yes",
		Long: `Submit a governance proposal. The proposer must be a member; its vote counts as
yes at once. A proposal passes when more than two thirds of the current members
voted yes, and its action executes at the end of that block (validator changes
at most one per two blocks). The tx prints the proposal's id (JSON: "id").
See docs/governance.md.`,
	}
	pf := propose.PersistentFlags()
	pf.StringVar(&from, "from", "", "name (or address) of the proposing member's key in the keyring")
	pf.StringVar(&title, "title", "", "a short title for people (at most 200 bytes; optional)")
	pf.StringVar(&memo, "memo", "", memoUsage)
	_ = propose.MarkPersistentFlagRequired("from")

	// run submits the proposal whose action makeAction builds.
	run := func(cmd *cobra.Command, makeAction func(context.Context, *client.Client) (*pb.Action, error)) error {
		return e.submitThen(cmd, from, memo, func(ctx context.Context, c *client.Client, signer chain.Address) ([]proto.Message, []chain.PrivKey, error) {
			a, err := makeAction(ctx, c)
			if err != nil {
				return nil, nil, err
			}
			return []proto.Message{client.ProposalMsg(signer, title, a)}, nil, nil
		}, func(ctx context.Context, c *client.Client, res *client.TxResult) (*client.ProposalInfo, error) {
			id, ok := res.ProposalID()
			if !ok {
				return nil, fmt.Errorf("the tx has no proposal_submitted event")
			}
			return c.Proposal(ctx, id)
		})
	}

	var ck consensusKeyFlags
	var name, address, roles, nodeID, nodeKeyFile string
	addMember := &cobra.Command{
		Use:   "add-member --name N --address ADDRESS|KEY --roles r1,r2 [--consensus-key B64 | --consensus-key-file FILE] [--power P] [--node-id HEX | --node-key-file FILE]",
		Short: "Propose a new member (with a validator when given a consensus key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rs, err := parseRoles(roles)
			if err != nil {
				return err
			}
			key, power, err := ck.read(cmd)
			if err != nil {
				return err
			}
			nid, err := nodeIDFlag(nodeID, nodeKeyFile)
			if err != nil {
				return err
			}
			return run(cmd, func(_ context.Context, c *client.Client) (*pb.Action, error) {
				a, err := c.Resolve(address)
				if err != nil {
					return nil, err
				}
				return client.AddMemberAction(client.NewMember{Name: name, Address: a, Roles: rs, ConsensusKey: key, Power: power, NodeID: nid}), nil
			})
		},
	}
	af := addMember.Flags()
	af.StringVar(&name, "name", "", "the member's name (1-64 characters)")
	af.StringVar(&address, "address", "", "the member's account: an address, or a key name from the keyring")
	af.StringVar(&roles, "roles", "", "comma-separated roles: validator, kya_issuer, acquirer, asset_issuer, arbiter")
	ck.add(addMember)
	af.StringVar(&nodeID, "node-id", "", "the member's CometBFT node ID (40 hex characters), so that its node passes the peer filter")
	af.StringVar(&nodeKeyFile, "node-key-file", "", "read the node ID from this node_key.json instead of --node-id")
	for _, f := range []string{"name", "address", "roles"} {
		_ = addMember.MarkFlagRequired(f)
	}

	removeMember := &cobra.Command{
		Use:   "remove-member ADDRESS|NAME",
		Short: "Propose removing a member, with its validator and its node's access",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, func(ctx context.Context, c *client.Client) (*pb.Action, error) {
				a, err := c.ResolveMember(ctx, args[0])
				if err != nil {
					return nil, err
				}
				return client.RemoveMemberAction(a), nil
			})
		},
	}

	var rck consensusKeyFlags
	var setRolesRoles string
	setRoles := &cobra.Command{
		Use:   "set-roles ADDRESS|NAME --roles r1,r2 [--consensus-key B64 | --consensus-key-file FILE] [--power P]",
		Short: "Propose replacing a member's roles (a consensus key is needed when the validator role is new)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := parseRoles(setRolesRoles)
			if err != nil {
				return err
			}
			key, power, err := rck.read(cmd)
			if err != nil {
				return err
			}
			return run(cmd, func(ctx context.Context, c *client.Client) (*pb.Action, error) {
				a, err := c.ResolveMember(ctx, args[0])
				if err != nil {
					return nil, err
				}
				return client.SetRolesAction(a, rs, key, power), nil
			})
		},
	}
	setRoles.Flags().StringVar(&setRolesRoles, "roles", "", "comma-separated roles: validator, kya_issuer, acquirer, asset_issuer, arbiter")
	rck.add(setRoles)
	_ = setRoles.MarkFlagRequired("roles")

	setPower := &cobra.Command{
		Use:   "set-power ADDRESS|NAME POWER",
		Short: "Propose changing a validator member's voting power",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil || p <= 0 {
				return usagef("POWER must be a positive whole number, not %q", args[1])
			}
			return run(cmd, func(ctx context.Context, c *client.Client) (*pb.Action, error) {
				a, err := c.ResolveMember(ctx, args[0])
				if err != nil {
					return nil, err
				}
				return client.SetPowerAction(a, p), nil
			})
		},
	}

	setParam := &cobra.Command{
		Use:   "set-param KEY JSON_VALUE",
		Short: "Propose setting a chain parameter, e.g. set-param consortium.voting_period_blocks 100",
		Long: `Propose setting a chain parameter to a JSON value: a number (100), a string
('"text"', with the quotes), true/false, or an object. ` + "`amp query params`" + ` lists them.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, func(context.Context, *client.Client) (*pb.Action, error) {
				return client.SetParamAction(args[0], args[1]), nil
			})
		},
	}

	var setNodeKeyFile string
	setNodeID := &cobra.Command{
		Use:   "set-node-id ADDRESS|NAME HEX | set-node-id ADDRESS|NAME --node-key-file FILE",
		Short: "Propose registering a member's CometBFT node ID (replacing its previous one)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			hex := ""
			if len(args) == 2 {
				hex = args[1]
			}
			nid, err := nodeIDFlag(hex, setNodeKeyFile)
			if err != nil {
				return err
			}
			if nid == "" {
				return usagef("give the node ID (HEX) or --node-key-file")
			}
			return run(cmd, func(ctx context.Context, c *client.Client) (*pb.Action, error) {
				a, err := c.ResolveMember(ctx, args[0])
				if err != nil {
					return nil, err
				}
				return client.SetNodeIDAction(a, nid), nil
			})
		},
	}
	setNodeID.Flags().StringVar(&setNodeKeyFile, "node-key-file", "", "read the node ID from this node_key.json")
	propose.AddCommand(addMember, removeMember, setRoles, setPower, setParam, setNodeID)

	vote := e.newTxCmd(&cobra.Command{
		Use:   "vote --from MEMBER ID yes|no",
		Short: "Vote on an open proposal (members only, once each)",
		Args:  cobra.ExactArgs(2),
	}, "name (or address) of the voting member's key in the keyring", func(args []string) (builder, afterCommit, error) {
		id, err := parseProposalID(args[0])
		if err != nil {
			return nil, nil, err
		}
		var yes bool
		switch strings.ToLower(args[1]) {
		case "yes", "y":
			yes = true
		case "no", "n":
		default:
			return nil, nil, usagef("the vote must be yes or no, not %q", args[1])
		}
		build := func(_ context.Context, _ *client.Client, signer chain.Address) ([]proto.Message, []chain.PrivKey, error) {
			return []proto.Message{client.VoteMsg(signer, id, yes)}, nil, nil
		}
		after := func(ctx context.Context, c *client.Client, _ *client.TxResult) (*client.ProposalInfo, error) {
			return c.Proposal(ctx, id)
		}
		return build, after, nil
	})

	cmd.AddCommand(propose, vote)
	return cmd
}

// consensusKeyFlags are --consensus-key, --consensus-key-file and --power.
type consensusKeyFlags struct {
	key, file string
	power     int64
}

func (f *consensusKeyFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.key, "consensus-key", "", "the validator's ed25519 consensus public key, base64 (priv_validator_key.json's pub_key.value)")
	fs.StringVar(&f.file, "consensus-key-file", "", "read the consensus public key from this priv_validator_key.json")
	fs.Int64Var(&f.power, "power", home.DefaultValidatorPower, "the validator's voting power, with a consensus key")
}

// read returns the consensus key (nil if none was given) and the power.
func (f *consensusKeyFlags) read(cmd *cobra.Command) ([]byte, int64, error) {
	powerSet := cmd.Flags().Changed("power")
	switch {
	case f.key != "" && f.file != "":
		return nil, 0, usagef("give --consensus-key or --consensus-key-file, not both")
	case f.key == "" && f.file == "":
		if powerSet {
			return nil, 0, usagef("--power needs --consensus-key or --consensus-key-file")
		}
		return nil, 0, nil
	}
	if f.power <= 0 {
		return nil, 0, usagef("--power must be positive")
	}
	if f.file != "" {
		k, err := client.ReadConsensusKeyFile(f.file)
		if err != nil {
			return nil, 0, usageError{fmt.Errorf("--consensus-key-file: %w", err)}
		}
		return k, f.power, nil
	}
	k, err := client.ParseConsensusKey(f.key)
	if err != nil {
		return nil, 0, err
	}
	return k, f.power, nil
}

// nodeIDFlag returns the node ID given in hex or read from a node key file
// ("" when neither is given).
func nodeIDFlag(hex, keyFile string) (string, error) {
	switch {
	case hex != "" && keyFile != "":
		return "", usagef("give the node ID or --node-key-file, not both")
	case keyFile != "":
		id, err := client.ReadNodeIDFile(keyFile)
		if err != nil {
			return "", usageError{fmt.Errorf("--node-key-file: %w", err)}
		}
		return id, nil
	case hex != "":
		return client.ParseNodeID(hex)
	}
	return "", nil
}

func parseRoles(s string) ([]string, error) {
	var out []string
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, usagef("--roles needs at least one of %s", strings.Join(consortium.AllRoles, ", "))
	}
	return out, nil
}

func parseProposalID(s string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || id == 0 {
		return 0, usagef("a proposal ID is a whole number from 1, not %q", s)
	}
	return id, nil
}

// proposalNote completes "proposal N is now STATUS" for people.
func proposalNote(p *client.ProposalInfo) string {
	switch p.Status {
	case consortium.StatusVoting:
		return fmt.Sprintf(" (%d yes, %d no; voting ends at height %d)", len(p.Yes), len(p.No), p.VotingEndsAt)
	case consortium.StatusQueued:
		return " (passed; a validator change waits for its block: at most one applies per two blocks)"
	case consortium.StatusExecuted:
		return fmt.Sprintf(" (applied at the end of block %d)", p.DecidedHeight)
	case consortium.StatusFailed:
		return fmt.Sprintf(" (passed but could not apply at block %d: %s)", p.DecidedHeight, p.Result)
	}
	return ""
}

// consortiumQueryCmds are the governance queries under `amp query consortium`.
func consortiumQueryCmds(e *env) []*cobra.Command {
	proposals := &cobra.Command{
		Use:   "proposals",
		Short: "Every proposal, oldest first, with its status and votes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]client.ProposalInfo, error) {
				return c.Proposals(ctx)
			}, func(ps []client.ProposalInfo) {
				var rows [][]string
				for _, p := range ps {
					rows = append(rows, []string{fmt.Sprint(p.ID), p.Status, fmt.Sprint(len(p.Yes)), fmt.Sprint(len(p.No)),
						fmt.Sprint(p.VotingEndsAt), p.Title, p.Summary})
				}
				table(e.stdout, []string{"ID", "STATUS", "YES", "NO", "ENDS", "TITLE", "ACTION"}, rows)
			})
		},
	}
	proposal := &cobra.Command{
		Use:   "proposal ID",
		Short: "One proposal: its action, votes and outcome",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseProposalID(args[0])
			if err != nil {
				return err
			}
			return query(e, cmd, func(ctx context.Context, c *client.Client) (*client.ProposalInfo, error) {
				return c.Proposal(ctx, id)
			}, func(p *client.ProposalInfo) {
				addrs := func(as []chain.Address) string {
					if len(as) == 0 {
						return "-"
					}
					s := make([]string, len(as))
					for i, a := range as {
						s[i] = a.String()
					}
					return strings.Join(s, ", ")
				}
				kv := []string{"id", fmt.Sprint(p.ID), "title", p.Title, "action", p.Summary, "proposer", p.Proposer.String(),
					"status", p.Status + proposalNote(p), "submitted", fmt.Sprintf("height %d", p.SubmitHeight),
					"voting ends", fmt.Sprintf("height %d", p.VotingEndsAt), "yes", addrs(p.Yes), "no", addrs(p.No)}
				if p.DecidedHeight != 0 {
					kv = append(kv, "decided", fmt.Sprintf("height %d", p.DecidedHeight))
				}
				if p.Result != "" {
					kv = append(kv, "result", p.Result)
				}
				fields(e.stdout, kv...)
			})
		},
	}
	validators := &cobra.Command{
		Use:   "validators",
		Short: "The validator members: consensus keys, powers and node IDs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]consortium.Member, error) {
				return c.Validators(ctx)
			}, func(vs []consortium.Member) {
				var rows [][]string
				var total int64
				for _, m := range vs {
					total += m.Validator.Power
					node := m.NodeID
					if node == "" {
						node = "-"
					}
					rows = append(rows, []string{m.Name, m.Address.String(), fmt.Sprint(m.Validator.Power), m.Validator.PubKey, node})
				}
				table(e.stdout, []string{"NAME", "ADDRESS", "POWER", "CONSENSUS KEY", "NODE ID"}, rows)
				fmt.Fprintf(e.stdout, "total power %d\n", total)
			})
		},
	}
	return []*cobra.Command{proposals, proposal, validators}
}

// paramsQueryCmd is `amp query params [KEY]`.
func paramsQueryCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "params [KEY]",
		Short: "The chain parameters that governance can change, with their current values",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return query(e, cmd, func(ctx context.Context, c *client.Client) (*params.View, error) {
					return c.Param(ctx, args[0])
				}, func(p *params.View) {
					fields(e.stdout, "key", p.Key, "value", string(p.Value), "meaning", p.Doc)
				})
			}
			return query(e, cmd, func(ctx context.Context, c *client.Client) ([]params.View, error) {
				return c.Params(ctx)
			}, func(ps []params.View) {
				var rows [][]string
				for _, p := range ps {
					rows = append(rows, []string{p.Key, string(p.Value), p.Doc})
				}
				table(e.stdout, []string{"KEY", "VALUE", "MEANING"}, rows)
			})
		},
	}
}
