#!/usr/bin/env bash
# make bench: run every hot-path benchmark with -benchmem on generated inputs
# of >= 1 M records (cached in .bench/), then print them side by side with
# their baselines as ratios. BENCHTIME (default 3x) and BENCH (regexp) can be
# set to narrow a run.
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime="${BENCHTIME:-3x}"
pattern="${BENCH:-.}"
mkdir -p .bench
out=.bench/last.txt
go test -run '^$' -bench "$pattern" -benchmem -benchtime "$benchtime" -count 1 ./... 2>&1 | tee "$out" | grep -E '^(Benchmark|ok|FAIL|---)' || true
if grep -q '^FAIL' "$out"; then echo "bench: a benchmark failed (see $out)"; exit 1; fi
echo
go run ./internal/cmd/benchreport -dir .bench < "$out"
