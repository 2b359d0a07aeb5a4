// Command gen writes dashboards/flowsift.json from the panel queries in
// dashboards/sql (run from the repository root: go run ./dashboards/gen).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/flowsift/flowsift/dashboards"
)

func main() {
	out := filepath.Join("dashboards", "flowsift.json")
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	b, err := dashboards.Build()
	if err == nil {
		err = os.WriteFile(out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
