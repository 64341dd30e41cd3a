#!/usr/bin/env bash
# The demo: bore day at Haining, 13:00. A person is in the water at
# Laoyancang. The dispatcher plans the rescue, then flies it on the bundled
# simulator (15 drones in their hangars, 20x faster than real time): the
# lifebuoy drone takes off at Yanguan, bends round the crowd on the
# embankment, drops the buoy, flies home and lands to charge.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p dispatcher -p drone-sim
bin=target/release
at=30.347,120.457
time=2026-09-28T13:00:00+08:00
speedup=${SPEEDUP:-20}

echo "== plan =="
"$bin/dispatcher" plan --config config/haining.toml --kind person_in_water --at "$at" --time "$time"

port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/drone-sim" --config config/haining.toml --gcs "127.0.0.1:$port" --speedup "$speedup" > /dev/null 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT

echo
echo "== flight (simulator at ${speedup}x) =="
"$bin/dispatcher" fly --config config/haining.toml --mavlink "udpin:127.0.0.1:$port" \
  --speedup "$speedup" --time "$time" --incident "person_in_water@$at"
