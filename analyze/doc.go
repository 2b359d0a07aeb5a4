// Package analyze owns flowsift's policy engine: judging normalized flow
// records against security groups, network ACLs and IP filters
// (reference/POLICY.md). It leaves reading flow logs to flowlog and writing
// results to storage and cmd; data flows one way, flowlog → analyze → storage.
//
// Subpackages:
//   - policy: the provider-neutral model (interfaces, deployments, nodes,
//     layers, ordered rule chains with stable ids) and the internet test;
//   - policy/aws, policy/alibaba, policy/elastic: provider loaders that
//     translate describe/API outputs into the model;
//   - policy/native: flowsift's own YAML policy format (print and load);
//   - policy/load: content detection and loading of several --policy files;
//   - verdict: reply detection, layer evaluation (reference and compiled),
//     verdict combination and findings.
package analyze
