package main

import "fmt"

// Placeholder until the policy engine lands.
func runAnalyze(e *env, args []string) int {
	fmt.Fprintln(e.stderr, "flowsift analyze: not available yet")
	return exitFailure
}
