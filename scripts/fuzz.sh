#!/usr/bin/env bash
# Runs every Go fuzz target of the repository for $1 (default 30s) each.
set -euo pipefail
t="${1:-30s}"
cd "$(dirname "$0")/.."
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
  dir=$(dirname "$f")
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "== $dir $name ($t)"
    (cd "$dir" && go test -run XXX -fuzz "^${name}\$" -fuzztime "$t" .)
  done
done
