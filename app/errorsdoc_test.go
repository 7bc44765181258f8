package app

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/amp-ledger/amp/chain"
)

var update = flag.Bool("update", false, "rewrite generated docs")

// TestErrorsDocIsCurrent keeps docs/errors.md equal to the registry of every
// module linked into the app. Run `go test ./app -run ErrorsDoc -update`
// after adding a code.
func TestErrorsDocIsCurrent(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`# Error codes

Every rejection carries a stable number and a snake_case reason. Numbers and
reasons never change meaning once published; new ones are only added.

Where they appear:
- CheckTx and FinalizeBlock results: ` + "`code`" + ` is the number, ` + "`info`" + ` the reason, ` + "`log`" + ` the
  message with context, ` + "`codespace`" + ` is "amp".
- ABCI queries: the same fields on the query response.
- The CLI with ` + "`-o json`" + `: ` + "`{\"code\": N, \"reason\": \"...\", \"message\": \"...\"}`" + ` and a non-zero exit.
- ` + "`amp errors`" + ` and the query path ` + "`/app/errors`" + ` list this table from the running node.

Ranges: 1-99 the tx pipeline, 100 bank, 200 consortium, 300 identity, 400 delegation,
500 trust, 600 payments, 700 rules, 800 channels.

This file is generated from the code (` + "`go test ./app -run ErrorsDoc -update`" + `).

| code | reason | meaning |
|---:|---|---|
`)
	for _, e := range chain.Errors() {
		fmt.Fprintf(&b, "| %d | `%s` | %s |\n", e.Code, e.Reason, e.Doc)
	}
	const path = "../docs/errors.md"
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Fatalf("%s is out of date: run go test ./app -run ErrorsDoc -update", path)
	}
}
