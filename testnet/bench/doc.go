// Package bench measures the AMP ledger against CometBFT's built-in
// kvstore app on the same machine, on one validator and on small local
// networks (Options.Validators, default 1 and 4).
//
// One validator: it builds both binaries, creates each home with its own
// `init`, funds the load accounts in the AMP genesis, writes one
// config.toml (the AMP node's defaults plus Settings) to both homes, copies
// the consensus params across, and runs the load generator against each
// node in turn with txs of equal size.
//
// Agent payments ("pay", and "pay-p256" with P-256 agent keys; one
// validator only): a third home, made like the AMP one, whose genesis
// (loadgen.PayGenesis) holds per lane a funded person, an agent onboarded
// by the operator member, their binding and an AUTONOMOUS mandate for a
// few merchants; the load is loadgen.PaySource (MsgPay, the full Intent
// Guard and escrow per tx) under the same config. After the measured run
// the same node streams payments again while some persons revoke their
// mandates (loadgen.RunRevoke): the table adds the revoke's block, its
// submit-to-commit time and how many payments under a revoked mandate
// committed in or after that block (must be 0).
//
// Agent payments through a rule ("pay-rule", one validator): a home made
// like pay's; once its node is up, before the warm-up, the bench deploys
// Options.RuleFile (contracts/examples/wasm/max-amount.wasm) as a rule of
// every load merchant and binds it to the merchant's payment hook
// (loadgen.SetupRules: MsgDeployRule and MsgBindRule signed by the member
// that registered the merchants, their acquirer, from the home's keyring),
// waits for those txs to commit, then runs pay's load, so every payment
// runs the merchant's metered WebAssembly rule; after the run it checks
// that a recent block's payments ran the rule and were accepted. The table
// adds the ratio of payments through a rule to payments without one.
//
// N validators: the AMP network comes from testnet/network (N members in
// one genesis, the load accounts funded in it), the kvstore network from N
// `cometbft init` homes joined by one genesis holding all N validators;
// kvstore node i gets AMP node i's config (same Settings, peers all-to-all,
// allow_duplicate_ip, addr_book_strict off) with its own peer list. All
// nodes listen on 127.0.0.1 and run as children of this process. The load
// generator spreads its workers round-robin across the nodes' RPC
// endpoints (each account's txs go to one node) and watches commits on
// node 0.
//
// The table it prints holds committed tx/s, p50 and p99 submit-to-commit
// latency of every system and network size, the AMP/kvstore ratio of
// each size, and on one validator the pay/transfer and pay-rule/pay
// ratios. It measures and prints; it asserts nothing about speed.
package bench
