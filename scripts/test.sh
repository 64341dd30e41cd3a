#!/usr/bin/env bash
# The whole test suite:
#  1. Rust: unit, property, scenario and CLI tests, plus a smoke run of the
#     benchmarks (each measured once, no timing);
#  2. the simulator flown by pymavlink, an independent MAVLink implementation
#     (tests/sitl; pymavlink and pytest are installed into .venv from PyPI).
# Run from anywhere; needs cargo and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

cargo test --workspace --all-targets 2>&1 | tee "$log"

cargo build -p drone-sim -p dispatcher
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/sitl/requirements.txt
DRONE_SIM="$PWD/target/debug/drone-sim" .venv/bin/python -m pytest -q -p no:cacheprovider tests/sitl 2>&1 | tee -a "$log"

# One closing line for the whole run.
awk '
  /^test result:/ { p += $4; f += $6 }
  /^[0-9]+ passed/ || / passed in / { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  END { printf "total: %d passed, %d failed\n", p, f }
' "$log"
