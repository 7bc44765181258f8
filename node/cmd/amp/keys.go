package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/node/keyring"
)

func keysCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the keys of the home's keyring (stored unencrypted)",
	}
	var typ string
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a new key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := chain.ParseKeyType(typ)
			if err != nil {
				return usagef("--type must be ed25519 or p256, not %q", typ)
			}
			kr, err := e.keyringFor(true)
			if err != nil {
				return err
			}
			k, err := kr.Add(args[0], t)
			if err != nil {
				return err
			}
			info := k.Info()
			if e.json() {
				printJSON(e.stdout, struct {
					keyring.Info
					Keyring string `json:"keyring"`
					Warning string `json:"warning"`
				}{info, kr.Path(), keyring.Warning})
				return nil
			}
			fields(e.stdout, "name", info.Name, "type", info.Type, "address", info.Address, "pub_key", info.PubKey, "keyring", kr.Path())
			fmt.Fprintf(e.stdout, "\nWARNING: %s.\n", keyring.Warning)
			return nil
		},
	}
	add.Flags().StringVar(&typ, "type", "ed25519", "key type: ed25519 (accounts, agents) or p256 (devices)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			kr, err := e.keyringFor(false)
			if err != nil {
				return err
			}
			infos := []keyring.Info{}
			if kr != nil {
				keys, err := kr.List()
				if err != nil {
					return err
				}
				for _, k := range keys {
					infos = append(infos, k.Info())
				}
			}
			if e.json() {
				printJSON(e.stdout, infos)
				return nil
			}
			if len(infos) == 0 {
				fmt.Fprintf(e.stdout, "no keys in %s\n", keyring.Dir(e.homeDir))
				return nil
			}
			var rows [][]string
			for _, i := range infos {
				rows = append(rows, []string{i.Name, i.Type, i.Address})
			}
			table(e.stdout, []string{"NAME", "TYPE", "ADDRESS"}, rows)
			return nil
		},
	}

	show := &cobra.Command{
		Use:   "show NAME|ADDRESS",
		Short: "Show one key's public part",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kr, err := e.keyringFor(false)
			if err != nil {
				return err
			}
			if kr == nil {
				return fmt.Errorf("%w: %q (no keyring in %s)", keyring.ErrNotFound, args[0], e.homeDir)
			}
			var k *keyring.Key
			if a, perr := chain.ParseAddress(args[0]); perr == nil {
				k, err = kr.ByAddress(a)
			} else {
				k, err = kr.Get(args[0])
			}
			if err != nil {
				return err
			}
			info := k.Info()
			if e.json() {
				printJSON(e.stdout, info)
				return nil
			}
			fields(e.stdout, "name", info.Name, "type", info.Type, "address", info.Address, "pub_key", info.PubKey)
			return nil
		},
	}
	cmd.AddCommand(add, list, show)
	return cmd
}
