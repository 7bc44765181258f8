package fault

import (
	"testing"

	"github.com/amp-ledger/amp/testnet/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
