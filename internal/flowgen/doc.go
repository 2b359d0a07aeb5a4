// Package flowgen writes realistic synthetic flow logs of every supported
// format, deterministically from a seed: inputs for benchmarks, round-trip
// tests and the bundled demo examples. It is not used by the flowsift binary
// at run time.
package flowgen
