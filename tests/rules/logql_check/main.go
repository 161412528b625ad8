// Command logql_check parses LogQL with Loki's own parser (github.com/grafana/loki/v3
// pkg/logql/syntax, the Loki release the loki role deploys) and checks that each expression is
// a metric query, as the Loki ruler requires of alerting and recording rules.
//
// Input (stdin): a JSON array of expressions. Output: one line per expression,
// "<index>\tok" or "<index>\t<error>". Exit status 0 when every expression passed, 1 when one
// did not, 2 on bad input. tests/rules/run.sh builds and runs it.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/grafana/loki/v3/pkg/logql/syntax"
)

func main() {
	var exprs []string
	if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
		fmt.Fprintln(os.Stderr, "logql_check: bad input:", err)
		os.Exit(2)
	}
	status := 0
	for i, e := range exprs {
		if _, err := syntax.ParseSampleExpr(e); err != nil {
			fmt.Printf("%d\t%s\n", i, err)
			status = 1
			continue
		}
		fmt.Printf("%d\tok\n", i)
	}
	os.Exit(status)
}
