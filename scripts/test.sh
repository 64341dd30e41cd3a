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

# The Python and npm packages download while the Rust tests build and run
# (their output in files, shown if they fail).
prep="$(mktemp -d)"
pip_job="" npm_job="" lane_a="" lane_b=""
# On any exit (a failed build under `set -e` too) this script's background
# jobs stop before their folder goes (only those: a private nats-server is
# a background job too, stopped by stop_services).
stop_jobs() {
  local jobs=($pip_job $npm_job $lane_a $lane_b)
  if [ ${#jobs[@]} -gt 0 ]; then
    kill "${jobs[@]}" 2>/dev/null || true
    wait "${jobs[@]}" 2>/dev/null || true
  fi
}
trap 'stop_jobs; stop_services; rm -rf "$log" "$prep"' EXIT
(
  { [ -x .venv/bin/python ] || python3 -m venv .venv; } &&
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/sitl/requirements.txt &&
  # MAVProxy for the docs' recipe test, without its GUI and map dependencies
  # (wxPython, OpenCV, VTK, matplotlib: over a gigabyte that the console needs not).
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps MAVProxy==1.8.75
) >"$prep/pip.log" 2>&1 &
pip_job=$!
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build) >"$prep/npm.log" 2>&1 &
npm_job=$!

# One build of everything with the test features unified (the binaries the
# SITL and browser tests run come from it too: no second build of the
# dependencies with other features), then the tests.
cargo build --workspace --all-targets
cargo test --workspace --all-targets 2>&1 | tee "$log"

# Bounded fuzzing of every input surface (docs/reliability.md, "Fuzzing").
target/debug/fuzz all --seconds "${FUZZ_SECONDS:-15}" 2>&1 | tee -a "$log"
if ! wait "$pip_job"; then
  cat "$prep/pip.log"
  echo "error: installing the SITL tests' Python packages failed (above)" >&2
  exit 1
fi
DRONE_SIM="$PWD/target/debug/drone-sim" DISPATCHER="$PWD/target/debug/dispatcher" \
  .venv/bin/python -m pytest -q -p no:cacheprovider -n 3 tests/sitl 2>&1 | tee -a "$log"

if ! wait "$npm_job"; then
  cat "$prep/npm.log"
  echo "error: installing or building the web map's packages failed (above)" >&2
  exit 1
fi
# The browser tests in two lanes at once, each lane's one after the other;
# each test's output in a file of its own, shown in a fixed order after.
lane() {
  for t in "$@"; do
    DISPATCHER="$PWD/target/debug/dispatcher" node "web/tests/$t.test.mjs" >"$prep/$t.log" 2>&1 \
      || echo "$t" >>"$prep/failed"
  done
}
lane map zh share &
lane_a=$!
lane failover phone video &
lane_b=$!
wait "$lane_a" "$lane_b"
for t in map failover phone zh share video; do
  tee -a "$log" <"$prep/$t.log"
done

# One closing line for the whole run.
awk '
  /^test result:/ { p += $4; f += $6 }
  /^browser: / { p += $2; f += $4 }
  /^fuzz [a-z]+: .* failure\(s\)$/ { if ($(NF-1) == "0") p += 1; else f += 1 }
  /^[0-9]+ passed/ || / passed in / { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  END { printf "total: %d passed, %d failed\n", p, f }
' "$log"
if [ -s "$prep/failed" ]; then
  echo "error: browser tests failed: $(tr '\n' ' ' <"$prep/failed")" >&2
  exit 1
fi
