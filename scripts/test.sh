#!/usr/bin/env bash
# The whole test suite: unit, property, scenario and CLI tests, plus a smoke
# run of the benchmarks (each measured once, no timing). Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets
cargo test --workspace --doc
