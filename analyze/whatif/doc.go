// Package whatif owns policy what-if reports (reference/POLICY.md 10): the
// comparison of a current and a proposed policy set over observed traffic —
// each distinct flow judged under both, newly denied and newly allowed flows
// attributed to the rule or binding change responsible, the rule-level diff,
// changes no traffic touched, the difference in allowed space — and the
// proposed-policy edit format (flowsift_policy_edit). It leaves policy
// semantics to analyze/verdict (both sides are judged by its compiled
// engine), loading to analyze/policy, storage queries to storage/clickhouse
// and HTML rendering to analyze/whatif/html.
//
// # Edit format
//
// A proposed policy is either full policy files (provider outputs or native
// YAML, as for analyze) or one or more edit files applied to the current
// set, which is loaded a second time and changed in place:
//
//	flowsift_policy_edit: 1
//	edits:
//	  - remove: acl-0public000000001/ingress/120     # every rule with this id
//	  - change: sg-0web0000000000001/ingress/0       # fields given replace the rule's
//	    remote: [10.0.0.0/8]
//	  - add: {id: acl-0public000000001/ingress/85, action: deny, proto: 6,
//	          ports: ["22"], remote: [0.0.0.0/0], priority: 85}
//	    scope: acl-0public000000001   # group, ACL, rule set or layer name
//	    direction: ingress
//	    before: acl-0public000000001/ingress/90       # or after:; default by
//	                                                  # priority (NACLs), else last
//
// Rule fields are those of the native policy YAML (analyze/policy/native):
// action, proto, ports, src_ports, icmp_type, icmp_code, remote,
// remote_glob, remote_unknown, local, unknown, priority, text.
//
// # Streaming and deduplication
//
// Reports are built from Rows: one per (interface, direction, five-tuple,
// reply side, ICMP type/code, hour) with summed flows, packets and bytes. From
// files, an Aggregator folds records into rows in a zero-allocation hash
// table as they stream (seven-word keys, multiply-fold hash); reply sides
// are then decided per row from a stable radix sort of the rows by a
// direction-free hash of their five-tuple, which puts a row's reverse rows
// next to it. From ClickHouse the rows come out of a GROUP BY
// (storage/clickhouse). Each row is judged once under both sets; report
// groups are carved from slabs and the listed top groups are bounded
// selections, not a sort of every group.
//
// The allowed-space difference uses the region arithmetic of
// analyze/rulestats (rulestats.Box, Allowed, Subtract, Merge).
package whatif
