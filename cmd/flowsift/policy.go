package main

import "fmt"

// Placeholder until the policy engine lands.
func runPolicy(e *env, args []string) int {
	fmt.Fprintln(e.stderr, "flowsift policy: not available yet")
	return exitFailure
}
