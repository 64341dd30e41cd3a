#!/usr/bin/env bash
# The demo: the dispatch server with the bundled simulator on the Haining
# scenario (bore day 2026-09-28, 13:00; 15 drones in 8 hangars, 10x faster
# than real time), and the map at http://127.0.0.1:8080/ .
# Log in with the demo token `demo-dispatcher`, click the river at
# Laoyancang, choose "Person in the water" and watch the rescue. Ctrl-C stops.
#
# Builds what it needs on a fresh machine: the web map's packages (npm ci)
# and basemap, and the release binary. Settings: LISTEN, SPEEDUP, WIND, and
# DISPATCH_SIGNING_KEY (the MAVLink fleet key; a fresh random one if unset,
# shared by the dispatcher and the simulator it starts: docs/security.md).
set -euo pipefail
cd "$(dirname "$0")/.."
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
cargo build --release -q -p dispatcher
if [ -z "${DISPATCH_SIGNING_KEY:-}" ]; then
  DISPATCH_SIGNING_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  export DISPATCH_SIGNING_KEY
fi
# Bore day's weather and traffic: 6 m/s from the south-west (the way out
# from Yanguan to Laoyancang is into it) and a police helicopter along the
# river, heard by the drones' ADS-B receivers (docs/airspace.md).
exec target/release/dispatcher serve --config config/haining.toml \
  --listen "${LISTEN:-127.0.0.1:8080}" --sim --sim-speedup "${SPEEDUP:-10}" \
  --sim-wind "${WIND:-6@248}" --sim-gust 1 --sim-traffic config/haining-traffic.toml \
  --time 2026-09-28T13:00:00+08:00
