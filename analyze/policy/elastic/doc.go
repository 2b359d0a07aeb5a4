// Package elastic owns the Elastic policy loaders: Elastic Cloud (ECH, ECE)
// traffic-filter rule sets (the rulesets listing with associations, or one
// rule set), the bindings YAML of reference/POLICY.md 7.3 that ties
// deployments and nodes to addresses, and elasticsearch.yml IP filtering
// (flat or nested keys). It builds the neutral model of POLICY.md 7: one
// scope per deployment (ingress filter and egress firewall chains) and one
// per node (a filter layer per port family). It leaves content detection to
// policy/load and judging records to analyze/verdict.
package elastic
