// Package alibaba owns the Alibaba Cloud policy loader: it reads the JSON
// bodies of ECS DescribeSecurityGroupAttribute, DescribeSecurityGroups,
// DescribeNetworkInterfaces and VPC DescribeNetworkAcls /
// DescribeNetworkAclAttributes (wrapped or bare lists, numbers as strings
// accepted) and builds the neutral model of reference/POLICY.md section 6:
// one scope per ENI, a network ACL layer when its vSwitch is bound, and one
// security-group layer whose chain holds the written rules of all the ENI's
// groups in priority order followed by the implicit rules. It leaves content
// detection to policy/load and judging records to analyze/verdict.
package alibaba
