// Command flowsift analyzes cloud flow logs and mirrored traffic against the
// network policy that should be in force. This package parses flags and wires
// the stages together (sources → analyze → storage); the work itself lives in
// flowlog, capture, analyze and storage.
package main
