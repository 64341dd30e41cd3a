#!/usr/bin/env bash
# Telemetry ingest: the dispatcher's decode + state update (criterion) beside
# pymavlink decoding the same recorded capture, in one run.
# Needs .venv with pymavlink (scripts/test.sh creates it).
set -euo pipefail
cd "$(dirname "$0")/.."
capture=crates/mavlink-link/benches/data/haining-telemetry.bin
cargo bench -p mavlink-link --bench ingest 2>&1 | grep -E "thrpt|time:"
frames=$(python3 - "$capture" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
i = n = 0
while i + 4 <= len(data):
    (k,) = struct.unpack_from("<I", data, i); i += 4 + k; n += 1
print(n)  # one frame per datagram in drone-sim recordings
PY
)
median_ns=$(python3 -c "import json;print(json.load(open('target/criterion/ingest/haining_capture/new/estimates.json'))['median']['point_estimate'])")
rust=$(python3 -c "print(round($frames / ($median_ns / 1e9)))")
py=$(.venv/bin/python scripts/ingest_capture.py pymavlink "$capture" | sed -E 's/.* ([0-9,]+) frames\/s/\1/' | tr -d ,)
signed_ns=$(python3 -c "import json;print(json.load(open('target/criterion/ingest/haining_capture_signed/new/estimates.json'))['median']['point_estimate'])")
signed=$(python3 -c "print(round($frames / ($signed_ns / 1e9)))")
echo "rust ingest (median): $rust frames/s"
echo "rust ingest, signed:  $signed frames/s"
echo "pymavlink decode:     $py frames/s"
python3 -c "print(f'ratio: {$rust / $py:.1f}x; signed {$signed / $py:.1f}x; signing costs {$rust / $signed:.2f}x')"
