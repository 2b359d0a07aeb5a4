// Package policy owns flowsift's provider-neutral policy model: the scopes a
// policy protects (interfaces, Elastic Cloud deployments, Elasticsearch
// nodes), the layers applied to them as ordered rule chains with stable rule
// ids (reference/POLICY.md 4.2), the rule match test and the internet-address
// test (8.2). It leaves reading provider outputs to the loader packages
// (policy/aws, policy/alibaba, policy/elastic, policy/native, policy/load) and
// judging records to analyze/verdict.
//
// Every provider model is expressed as ordered chains: a chain is a list of
// rules evaluated first-match, then a default outcome. Allow-only models (AWS
// security groups, Elastic Cloud filters) are chains of allow rules ending in
// a default deny; ordered models (network ACLs, Alibaba groups) keep their
// sorted order; implicit provider rules (Alibaba's internal communication
// policy, Elasticsearch bound addresses) are rules with default ids. A rule
// that cannot be decided for a record "maybe" matches (POLICY.md 4.3), and the
// evaluator follows both branches.
package policy
