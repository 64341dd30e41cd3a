#!/usr/bin/env bash
# The whole test suite: unit, property, scenario and CLI tests, plus a smoke
# run of the benchmarks (each measured once, no timing). Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace --all-targets 2>&1 | tee "$log"
# One closing line for the whole run.
awk '/^test result:/ { p += $4; f += $6 } END { printf "total: %d passed, %d failed\n", p, f }' "$log"
