#!/usr/bin/env bash
# City scale on the real `dispatcher serve --sim` (config/jiaxing-1000.toml:
# 1,000 drones on 7 links): three runs of crates/server/examples/city.rs, each
# measuring 1 websocket client (baseline) and 200, then the ranges over the
# runs. Figures in docs/performance.md ("City scale").
#
#   bash scripts/bench-city.sh [RUNS] [-- options for the example]
#   e.g. bash scripts/bench-city.sh 3 -- --clients 200 --warmup 20 --duration 30
#   on a cluster of three on PostgreSQL and NATS (the simulator standalone):
#   bash scripts/bench-city.sh 3 -- --servers 3 --clients 600 --sim-speedup 1
#
# CARGO_TARGET_DIR and CARGO_BUILD_JOBS are honoured (the build machine has 2
# cores: CARGO_BUILD_JOBS=1 leaves one to others). Each run's JSON line is kept
# in $OUT (default target/bench-city/), run-N.json. BUILD=0 skips the build
# (measures the binaries already in the target directory).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
[ "${1:-}" = "--" ] && shift
target=${CARGO_TARGET_DIR:-target}
out=${OUT:-$target/bench-city}
mkdir -p "$out"

# `--example` alone would select only the example: name the binary too.
if [ "${BUILD:-1}" != 0 ]; then
  cargo build --release -p dispatcher -p dispatch-server -p drone-sim \
    --bin dispatcher --bin drone-sim --example city
fi

for i in $(seq 1 "$runs"); do
  echo "== run $i of $runs" >&2
  "$target/release/examples/city" --dispatcher "$target/release/dispatcher" \
    --drone-sim "$target/release/drone-sim" "$@" | tee "$out/run-$i.json"
done

python3 - "$out" "$runs" <<'PY'
import json, sys
out, runs = sys.argv[1], int(sys.argv[2])
rs = [json.load(open(f"{out}/run-{i}.json")) for i in range(1, runs + 1)]

def rng(path, unit="", fmt="{:g}"):
    vals = []
    for r in rs:
        v = r
        for k in path.split("."):
            if isinstance(v, list) and k.isdigit() and int(k) < len(v):
                v = v[int(k)]
            else:
                v = v.get(k) if isinstance(v, dict) else None
        if v is not None:
            vals.append(v)
    if not vals:
        return "n/a"
    lo, hi = min(vals), max(vals)
    s = fmt.format(lo) if lo == hi else f"{fmt.format(lo)}-{fmt.format(hi)}"
    return s + unit

if "commands" in rs[0]:
    # A cluster: each server's figures, and the bus's and database's.
    print(f"\n{runs} runs on {rs[0]['servers']} servers; commands:")
    for c in rs[0]["commands"]:
        print(f"  {c}")
    print(f"drones' links up on the leader when measuring began: {rng('links_up_at_start')} of {rs[0]['drones']}, "
          f"{rng('links_up_s', ' s')} after the simulator started; at the end: {rng('link_up_at_end')}")
    for name, key in (("measured", "measured"), ("baseline", "baseline_1_client_per_server")):
        p = key + "."
        print(f"{name} ({rs[0][key]['clients']} clients): client p50 {rng(p + 'latency_ms.p50', ' ms')}, "
              f"p99 {rng(p + 'latency_ms.p99', ' ms')}; clients with all drones {rng(p + 'drones_seen.clients_with_all')}, "
              f"ended early {rng(p + 'clients_ended_early')}; harness {rng(p + 'harness_cpu_pct', ' %')}")
        for i, s in enumerate(rs[0][key]["servers"]):
            q = f"{p}servers.{i}."
            print(f"  {s['name']} ({s['role']}, {s['clients']} clients): client p50 {rng(q + 'latency_ms.p50', ' ms')}, "
                  f"p99 {rng(q + 'latency_ms.p99', ' ms')}; server histogram p50 {rng(q + 'server_latency_ms.p50', ' ms')}, "
                  f"p99 {rng(q + 'server_latency_ms.p99', ' ms')}; CPU {rng(q + 'serve_cpu_pct', ' %')}, "
                  f"RSS {rng(q + 'serve_rss_mb', ' MB')}; UDP drops {rng(q + 'udp_drops')}; "
                  f"drones seen min {rng(q + 'drones_seen.min')}; resyncs {rng(q + 'resyncs_total')}, "
                  f"closed slow {rng(q + 'closed_slow_total')}")
        print(f"  drone-sim {rng(p + 'others.drone_sim_cpu_pct', ' %')}, nats-server {rng(p + 'others.nats_server_cpu_pct', ' %')}, "
              f"postgres {rng(p + 'others.postgres_cpu_pct', ' %')} ({rng(p + 'others.postgres_commits_per_s')} commits/s)")
    print(f"ratio to baseline: p50 {rng('p50_ratio_to_baseline', 'x')}, p99 {rng('p99_ratio_to_baseline', 'x')}")
    sys.exit(0)

print(f"\n{runs} runs; command: {rs[0]['command']}")
print(f"drones' links up when measuring began: {rng('links_up_at_start')} of {rs[0]['drones']}, "
      f"{rng('links_up_s', ' s')} after start (HTTP answered after {rng('http_up_s', ' s')}); "
      f"at the end: {rng('link_up_at_end')}")
for name, key in (("measured", "measured"), ("baseline", "baseline_1_client")):
    p = key + "."
    print(f"{name} ({rs[0][key]['clients']} clients):")
    print(f"  client latency p50 {rng(p + 'latency_ms.p50', ' ms')}, p99 {rng(p + 'latency_ms.p99', ' ms')}, "
          f"max {rng(p + 'latency_ms.max', ' ms')}")
    print(f"  server histogram (since start) p50 {rng(p + 'server_latency_ms.p50', ' ms')}, "
          f"p99 {rng(p + 'server_latency_ms.p99', ' ms')}")
    print(f"  drones' links up while measuring: min {rng(p + 'link_up.min')}, at the end {rng(p + 'link_up.at_end')}; "
          f"frames ingested/s {rng(p + 'frames_ingested_per_s')}, UDP datagrams dropped {rng(p + 'udp_drops')}")
    print(f"  drones seen per client: min {rng(p + 'drones_seen.min')}, max {rng(p + 'drones_seen.max')}; "
          f"clients with all: {rng(p + 'drones_seen.clients_with_all')}; ended early: {rng(p + 'clients_ended_early')}")
    print(f"  messages/s {rng(p + 'messages_per_s')}, entries/s per client {rng(p + 'entries_per_s_per_client')}, "
          f"MB/s {rng(p + 'mbytes_per_s')}")
    print(f"  serve CPU {rng(p + 'serve_cpu_pct', ' %')} of one core (simulator thread {rng(p + 'sim_thread_cpu_pct', ' %')}, "
          f"without it {rng(p + 'serve_cpu_pct_without_sim', ' %')}); harness {rng(p + 'harness_cpu_pct', ' %')}")
    print(f"  serve RSS {rng(p + 'serve_rss_mb', ' MB')} (max sampled {rng(p + 'serve_rss_max_mb', ' MB')}, "
          f"peak {rng(p + 'serve_peak_rss_mb', ' MB')})")
    print(f"  resyncs (total) {rng(p + 'resyncs_total')}, closed slow (total) {rng(p + 'closed_slow_total')}")
print(f"ratio to baseline: p50 {rng('p50_ratio_to_baseline', 'x')}, p99 {rng('p99_ratio_to_baseline', 'x')}")
PY
