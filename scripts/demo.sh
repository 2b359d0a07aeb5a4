#!/usr/bin/env bash
# make demo: flowsift's main jobs on the bundled examples, no database.
set -euo pipefail
cd "$(dirname "$0")/.."
fs="${1:-bin/flowsift}"
ex=examples
policy=(--policy "$ex/policy/aws/describe-security-groups.json"
        --policy "$ex/policy/aws/describe-network-acls.json"
        --policy "$ex/policy/aws/describe-network-interfaces.json")

section() { printf '\n\033[1m== %s\033[0m\n$ %s\n\n' "$1" "$2"; }

section "1. Read every bundled flow log: AWS S3 (gzip, custom v5) and CloudWatch (default format), GCP, Azure, Alibaba — some lines are deliberately malformed" \
  "flowsift flows --format table $ex/flowlogs | head -12"
"$fs" flows --format table "$ex/flowlogs" 2>/tmp/flowsift-demo.err | head -12 || true
echo "   ..."
cat /tmp/flowsift-demo.err

section "2. Check the AWS flow logs against the VPC's security groups and network ACLs" \
  "flowsift analyze --policy describe-security-groups.json --policy describe-network-acls.json --policy describe-network-interfaces.json $ex/flowlogs/aws-s3 $ex/flowlogs/cloudwatch"
"$fs" analyze "${policy[@]}" "$ex/flowlogs/aws-s3" "$ex/flowlogs/cloudwatch"

section "3. The records behind the findings, one JSON line each" \
  "flowsift analyze ... --per-flow --format jsonl | grep -E '\"finding\":\"(violation|unexpected-reject)\"'"
"$fs" analyze -q "${policy[@]}" --per-flow --format jsonl "$ex/flowlogs/aws-s3" "$ex/flowlogs/cloudwatch" 2>/dev/null |
  grep -E '"finding":"(violation|unexpected-reject)"' || true

section "4. Lint the policy alone (configuration only): exposed ports, NACLs that drop replies, redundant rules" \
  "flowsift policy lint --policy describe-security-groups.json,describe-network-acls.json,describe-network-interfaces.json --format markdown"
"$fs" policy lint "${policy[@]}" --format markdown || true

section "5. What if? A proposed change (SSH only from the office, wider reply ports on the data subnet, an unused rule removed) judged over the same traffic" \
  "flowsift whatif --current <the three describe-*.json> --proposed proposed-edit.yaml --format markdown ...; then --format html -o REPORT"
"$fs" whatif -q "${policy[@]/--policy/--current}" --proposed "$ex/policy/aws/proposed-edit.yaml" --format markdown --top 5 \
  "$ex/flowlogs/aws-s3" "$ex/flowlogs/cloudwatch" 2>/dev/null
report="${TMPDIR:-/tmp}/flowsift-whatif-report.html"
"$fs" whatif -q "${policy[@]/--policy/--current}" --proposed "$ex/policy/aws/proposed-edit.yaml" --format html -o "$report" \
  "$ex/flowlogs/aws-s3" "$ex/flowlogs/cloudwatch" 2>/dev/null
echo
echo "what-if HTML report (self-contained, printable): $report"

echo
echo "demo: done (exit statuses and every flag: flowsift COMMAND --help)"
