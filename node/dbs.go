package node

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble"
	dbm "github.com/cometbft/cometbft-db"
	cfg "github.com/cometbft/cometbft/config"
	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// dbTracker opens CometBFT's databases through the default provider and
// remembers them: CometBFT's Stop leaves some open (the tx indexer's), which
// would keep their lock files held by this process and make a restart in
// the same process (tests, embedders) fail.
type dbTracker struct {
	logger cmtlog.Logger
	mu     sync.Mutex
	dbs    []*onceDB
}

// onceDB closes its database at most once: closing a pebble database twice
// panics.
type onceDB struct {
	dbm.DB
	once sync.Once
	err  error
}

func (d *onceDB) Close() error {
	d.once.Do(func() { d.err = d.DB.Close() })
	return d.err
}

func (t *dbTracker) provider(ctx *cfg.DBContext) (dbm.DB, error) {
	var db dbm.DB
	var err error
	if dbm.BackendType(ctx.Config.DBBackend) == dbm.PebbleDBBackend && t.logger != nil {
		// As the default provider does, with pebble's chatter (a line per
		// database on every start) sent to the node's log at debug level.
		opts := &pebble.Options{Logger: pebbleLogger{t.logger.With("module", "pebble", "db", ctx.ID)}}
		db, err = dbm.NewPebbleDBWithOpts(ctx.ID, ctx.Config.DBDir(), opts)
	} else {
		db, err = cfg.DefaultDBProvider(ctx)
	}
	if err != nil {
		return nil, err
	}
	w := &onceDB{DB: db}
	t.mu.Lock()
	t.dbs = append(t.dbs, w)
	t.mu.Unlock()
	return w, nil
}

// pebbleLogger sends pebble's messages to CometBFT's logger.
type pebbleLogger struct{ l cmtlog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(strings.TrimSpace(fmt.Sprintf(format, args...)))
}

// Fatalf logs and then lets pebble's default logger end the process, as
// pebble expects.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error(strings.TrimSpace(fmt.Sprintf(format, args...)))
	pebble.DefaultLogger.Fatalf(format, args...)
}

// closeAll closes every database not closed yet.
func (t *dbTracker) closeAll() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, d := range t.dbs {
		errs = append(errs, d.Close())
	}
	t.dbs = nil
	return errors.Join(errs...)
}
