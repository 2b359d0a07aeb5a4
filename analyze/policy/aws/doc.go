// Package aws owns the AWS policy loader: it reads the JSON the AWS CLI
// prints for describe-security-groups, describe-security-group-rules,
// describe-network-acls, describe-network-interfaces,
// describe-managed-prefix-lists, get-managed-prefix-list-entries and the
// optional describe-subnets / describe-vpcs, and builds the neutral model of
// reference/POLICY.md section 5 (one scope per network interface, a network
// ACL layer and a security-group layer). It leaves content detection across
// providers to policy/load and judging records to analyze/verdict.
package aws
