package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/types"

	"github.com/amp-ledger/amp/node/home"
	"github.com/amp-ledger/amp/testnet/loadgen"
	"github.com/amp-ledger/amp/testnet/network"
	"github.com/amp-ledger/amp/testnet/nodeproc"
)

// Key is the key of a system's figures in a Report: the system name for
// one validator ("amp", "kvstore"), and "amp-4v", "kvstore-4v" for four.
func Key(sys string, validators int) string {
	if validators <= 1 {
		return sys
	}
	return fmt.Sprintf("%s-%dv", sys, validators)
}

// multiNet is the pair of n-validator networks of one run: AMP homes made
// by testnet/network and kvstore homes made by `cometbft init`, with the
// same ports (the two networks never run at the same time).
type multiNet struct {
	ampHomes, kvHomes []string
	ports             []nodeproc.Ports
}

// freePorts returns n sets of RPC and P2P ports on 127.0.0.1, all distinct.
func freePorts(n int) ([]nodeproc.Ports, error) {
	seen := map[int]bool{}
	pick := func() (int, error) {
		for range 100 {
			p, err := nodeproc.FreePort()
			if err != nil {
				return 0, err
			}
			if !seen[p] {
				seen[p] = true
				return p, nil
			}
		}
		return 0, fmt.Errorf("no free port found")
	}
	ps := make([]nodeproc.Ports, n)
	for i := range ps {
		var err error
		if ps[i].RPC, err = pick(); err != nil {
			return nil, err
		}
		if ps[i].P2P, err = pick(); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// multiHomes creates the n-validator homes of one run under dir. The AMP
// network comes from network.Init (one genesis with n members, the load
// accounts funded in it); the kvstore network gets one `cometbft init`
// home per node, a shared genesis holding all n validators, and node i the
// config of AMP node i (the ledger's node defaults with the bench
// Settings) with its own peers. It returns the config of node 0.
func (b *bencher) multiHomes(dir string, n int) (*multiNet, *cfg.Config, error) {
	o := b.o
	ports, err := freePorts(n)
	if err != nil {
		return nil, nil, err
	}
	mn := &multiNet{ports: ports}
	ampDir, kvDir := filepath.Join(dir, "amp"), filepath.Join(dir, "kvstore")
	cfgs := make([]*cfg.Config, n)
	if b.withAMP {
		m, err := network.Init(network.Options{
			Dir:        ampDir,
			Validators: n,
			Ports:      func(i int) (int, int) { return ports[i].P2P, ports[i].RPC },
			ChainID:    ChainID,
			BlockTime:  o.Settings.TimeoutCommit,
			LogLevel:   o.Settings.LogLevel,
			Configure:  func(_ int, c *cfg.Config) { o.Settings.Apply(c) },
		})
		if err != nil {
			return nil, nil, err
		}
		for i, nd := range m.Nodes {
			mn.ampHomes = append(mn.ampHomes, nd.Home)
			if cfgs[i], err = nodeproc.LoadConfig(nd.Home); err != nil {
				return nil, nil, err
			}
		}
		// Fund the load accounts in node 0's genesis and give every node
		// that same file.
		gen0 := home.GenesisFile(mn.ampHomes[0])
		if err := loadgen.FundGenesis(gen0, b.accts, "1000000USD"); err != nil {
			return nil, nil, err
		}
		raw, err := os.ReadFile(gen0)
		if err != nil {
			return nil, nil, err
		}
		for _, h := range mn.ampHomes[1:] {
			if err := os.WriteFile(home.GenesisFile(h), raw, 0o644); err != nil {
				return nil, nil, err
			}
		}
	}

	// kvstore: one home per node, then one genesis with every validator.
	var vals []types.GenesisValidator
	var peers []string
	for i := range n {
		h := filepath.Join(kvDir, network.NodeName(i))
		if err := nodeproc.InitCometBFT(b.cometbft, h); err != nil {
			return nil, nil, err
		}
		mn.kvHomes = append(mn.kvHomes, h)
		doc, err := types.GenesisDocFromFile(home.GenesisFile(h))
		if err != nil {
			return nil, nil, err
		}
		v := doc.Validators[0]
		v.Name = network.NodeName(i)
		vals = append(vals, v)
		nk, err := p2p.LoadNodeKey(filepath.Join(h, "config", "node_key.json"))
		if err != nil {
			return nil, nil, err
		}
		peers = append(peers, fmt.Sprintf("%s@127.0.0.1:%d", nk.ID(), ports[i].P2P))
	}
	doc, err := types.GenesisDocFromFile(home.GenesisFile(mn.kvHomes[0]))
	if err != nil {
		return nil, nil, err
	}
	doc.ChainID = "kvstore-bench"
	doc.Validators = vals
	gen0 := home.GenesisFile(mn.kvHomes[0])
	if err := doc.SaveAs(gen0); err != nil {
		return nil, nil, err
	}
	if b.withAMP {
		if err := copyConsensusParams(home.GenesisFile(mn.ampHomes[0]), gen0); err != nil {
			return nil, nil, err
		}
	}
	raw, err := os.ReadFile(gen0)
	if err != nil {
		return nil, nil, err
	}
	for i, h := range mn.kvHomes {
		if i > 0 {
			if err := os.WriteFile(home.GenesisFile(h), raw, 0o644); err != nil {
				return nil, nil, err
			}
		}
		c := cfgs[i]
		if c == nil {
			if c, err = home.DefaultConfig(h, home.NodeConfig{Moniker: network.NodeName(i)}); err != nil {
				return nil, nil, err
			}
			o.Settings.Apply(c)
			c.P2P.AllowDuplicateIP = true
			c.P2P.AddrBookStrict = false
			cfgs[i] = c
		}
		kc := *c
		p2pc, rpcc := *c.P2P, *c.RPC
		kc.P2P, kc.RPC = &p2pc, &rpcc
		ports[i].Apply(&kc)
		var others []string
		for j, p := range peers {
			if j != i {
				others = append(others, p)
			}
		}
		kc.P2P.PersistentPeers = strings.Join(others, ",")
		if err := kc.ValidateBasic(); err != nil {
			return nil, nil, err
		}
		if err := nodeproc.WriteConfig(h, &kc); err != nil {
			return nil, nil, err
		}
	}
	return mn, cfgs[0], nil
}

// runMulti starts one system's n nodes, spreads the load across their RPC
// endpoints (commits are watched on node 0), and stops them.
func (b *bencher) runMulti(ctx context.Context, sys, dir string, mn *multiNet) (*loadgen.Result, error) {
	o := b.o
	if o.IdleWait > 0 {
		if busy, ok := waitIdle(ctx, o.IdleWait); !ok {
			o.logf("warning: the machine stayed busy (%.2f cores used by other processes); measuring anyway", busy)
		}
	}
	src, err := b.source(sys)
	if err != nil {
		return nil, err
	}
	var procs []*nodeproc.Process
	defer func() {
		for _, p := range procs {
			if err := p.Stop(20 * time.Second); err != nil {
				o.logf("warning: %v", err)
			}
		}
	}()
	n := len(mn.ports)
	for i := range n {
		name := fmt.Sprintf("%s-%s", sys, network.NodeName(i))
		logPath := filepath.Join(dir, name+".log")
		var p *nodeproc.Process
		if sys == "amp" {
			p, err = nodeproc.Start(name, logPath, b.ampd, "start", "--home", mn.ampHomes[i])
		} else {
			p, err = nodeproc.Start(name, logPath, b.cometbft, "start", "--home", mn.kvHomes[i], "--proxy_app=kvstore")
		}
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}
	tails := func() string {
		var s strings.Builder
		for _, p := range procs {
			fmt.Fprintf(&s, "--- %s\n%s\n", p.Name, p.Tail(25))
		}
		return s.String()
	}
	var clients []*loadgen.Client
	for _, p := range mn.ports {
		c, err := loadgen.NewClient(p.RPCURL())
		if err != nil {
			return nil, err
		}
		defer c.Close()
		clients = append(clients, c)
	}
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for _, c := range clients {
		if _, err := c.WaitReady(wctx, 2); err != nil {
			return nil, fmt.Errorf("%s: %d validators: %w\n%s", sys, n, err, tails())
		}
	}
	load := o.Load
	load.Warmup, load.Duration = o.MultiWarmup, o.MultiDuration
	load.Targets = clients
	o.logf("running %s load on %d validators: %s warm-up, %s window", src.Name(), n, load.Warmup, load.Duration)
	cpuDone := make(chan cpuUse, 1)
	go func() { cpuDone <- measureCPU(ctx, procs, load.Warmup, load.Duration) }()
	res, err := loadgen.Run(ctx, clients[0], src, load)
	if err != nil {
		return nil, fmt.Errorf("%s: %d validators: %w\n%s", sys, n, err, tails())
	}
	u := <-cpuDone
	res.NodeCPU, res.ClientCPU, res.OtherCPU = u.node, u.self, u.other
	o.logf("  cpu over the window (cores): %d nodes %.2f, load generator %.2f, other processes %.2f", n, u.node, u.self, u.other)
	if u.other > busyCores {
		o.logf("  warning: other processes used %.2f cores during the window; figures are lower than on an idle machine", u.other)
	}
	return res, nil
}
