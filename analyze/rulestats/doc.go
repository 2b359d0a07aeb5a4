// Package rulestats owns the rule statistics of reference/POLICY.md 9: hits
// per rule id (default ids included) over judged records, unused rules,
// rules shadowed by configuration or by observation, redundant rules and
// overly broad allow rules with a narrower suggestion. It leaves judging
// records to analyze/verdict, policy loading to analyze/policy and printing
// to cmd/flowsift.
//
// The configuration checks (Config, DeniedPorts) are exact: a rule's match
// space is a union of boxes over protocol × destination port × source port ×
// ICMP type × ICMP code × remote address × local address (per family), and
// coverage is decided by splitting regions along the first rule that meets
// them (first-match evaluation over whole regions), never by sampling.
// analyze/lint reuses them, and analyze/whatif the region arithmetic
// behind them (Box, Allowed, Subtract, Merge: the allowed space of a scope
// before and after a change).
//
// The record pass (Collector.Observe) keeps fixed memory per rule — distinct
// remote addresses and ports are tracked only up to one more than the
// overly-broad thresholds — and does not allocate in steady state.
package rulestats
