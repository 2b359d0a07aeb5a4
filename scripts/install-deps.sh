#!/usr/bin/env bash
# Installs what flowsift's tests need on a fresh Debian machine, only when
# missing. Idempotent; needs root for apt-get (CI and dev machines are root).
set -euo pipefail
need=()
# The Makefile's test target passes what the test suite needs; the bench
# scripts pass the peer tools they compare against.
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
