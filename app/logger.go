package app

import (
	"fmt"
	"strings"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// badgerLogger sends badger's messages to the node's logger; its routine
// info chatter is kept at debug level.
type badgerLogger struct{ l cmtlog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(msg(f, a)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Info(msg(f, a)) }
func (b badgerLogger) Infof(f string, a ...any)    { b.l.Debug(msg(f, a)) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.l.Debug(msg(f, a)) }

func msg(f string, a []any) string { return strings.TrimSpace(fmt.Sprintf(f, a...)) }
