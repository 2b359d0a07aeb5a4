// Package lint owns `flowsift policy lint`: configuration-only checks of a
// loaded policy — shadowed and redundant rules, sensitive ports open to the
// world, network ACLs that drop the replies of services the groups expose,
// groups attached to nothing and quota breaches (reference/POLICY.md 5.3,
// 5.4, 6, 8.1, 9) — each finding with its rule ids, scope, severity and a
// one-line fix. It leaves the set arithmetic to analyze/rulestats, loading
// to analyze/policy/load and printing to cmd/flowsift.
//
// Groups that no interface lists and raw rule counts are not part of the
// judged model (policy.Set builds layers per interface), so Inventory reads
// them from the provider files directly.
package lint
