#!/usr/bin/env bash
# The whole test suite:
#  1. Rust: unit, property, scenario, CLI, API (router + oneshot) and
#     websocket tests, plus a smoke run of the benchmarks (no timing), and
#     15 s of fuzzing per target (fuzz/);
#  2. the simulator and `dispatcher fly` / `dispatcher serve` driven by
#     independent clients: pymavlink, MAVProxy, urllib and `websockets`, three
#     tests at a time (pytest-xdist; tests/sitl;
#     installed into .venv from PyPI);
#  3. the web map in headless Chromium driven by playwright-core, on one
#     server and on a cluster of two that loses its leader, on a phone and
#     in Chinese (web/tests; npm packages from web/package-lock.json,
#     Chromium and a CJK font from Debian's packages, installed here when
#     missing and when apt-get is usable).
# Run from anywhere; needs cargo, python3, node and npm, and PostgreSQL
# and NATS servers: the ones on ports 5432 and 4222 where they answer, else
# private ones on free ports, installed from Debian's packages when missing
# (scripts/services.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
source scripts/services.sh
trap 'stop_services; rm -f "$log"' EXIT
start_services

# Chromium, and a font with Chinese characters for the page in Chinese.
browser_pkgs=()
[ -x /usr/bin/chromium ] || browser_pkgs+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || browser_pkgs+=(fonts-wqy-microhei)
if [ ${#browser_pkgs[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${browser_pkgs[@]}" >/dev/null
fi

# One build of everything with the test features unified (the binaries the
# SITL and browser tests run come from it too: no second build of the
# dependencies with other features), then the tests.
cargo build --workspace --all-targets
cargo test --workspace --all-targets 2>&1 | tee "$log"

# Bounded fuzzing of every input surface (docs/reliability.md, "Fuzzing").
target/debug/fuzz all --seconds "${FUZZ_SECONDS:-15}" 2>&1 | tee -a "$log"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/sitl/requirements.txt
# MAVProxy for the docs' recipe test, without its GUI and map dependencies
# (wxPython, OpenCV, VTK, matplotlib: over a gigabyte that the console needs not).
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps MAVProxy==1.8.75
DRONE_SIM="$PWD/target/debug/drone-sim" DISPATCHER="$PWD/target/debug/dispatcher" \
  .venv/bin/python -m pytest -q -p no:cacheprovider -n 3 tests/sitl 2>&1 | tee -a "$log"

(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
DISPATCHER="$PWD/target/debug/dispatcher" node web/tests/map.test.mjs 2>&1 | tee -a "$log"
DISPATCHER="$PWD/target/debug/dispatcher" node web/tests/failover.test.mjs 2>&1 | tee -a "$log"
DISPATCHER="$PWD/target/debug/dispatcher" node web/tests/phone.test.mjs 2>&1 | tee -a "$log"
DISPATCHER="$PWD/target/debug/dispatcher" node web/tests/zh.test.mjs 2>&1 | tee -a "$log"
DISPATCHER="$PWD/target/debug/dispatcher" node web/tests/share.test.mjs 2>&1 | tee -a "$log"
DISPATCHER="$PWD/target/debug/dispatcher" node web/tests/video.test.mjs 2>&1 | tee -a "$log"

# One closing line for the whole run.
awk '
  /^test result:/ { p += $4; f += $6 }
  /^browser: / { p += $2; f += $4 }
  /^fuzz [a-z]+: .* failure\(s\)$/ { if ($(NF-1) == "0") p += 1; else f += 1 }
  /^[0-9]+ passed/ || / passed in / { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  END { printf "total: %d passed, %d failed\n", p, f }
' "$log"
