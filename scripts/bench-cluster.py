#!/usr/bin/env python3
"""Three dispatch servers on one PostgreSQL database and one NATS bus, the
simulator fanning out to all three (config/haining.toml, 15 drones), as
tests/sitl/test_failover.py runs them. Measures, for docs/performance.md:

1. an incident report's latency (POST /api/incidents until the answer) and
   a read's (GET /api/incidents), on the leader and on a follower, the
   reports alternating between the two;
2. fail-over time over KILLS kills: the leader is killed with SIGKILL, and
   the time is taken until another server holds the lease (health: role
   leader) and until it serves as the leader (health: status ok, its fleet
   running, commanding on MAVLink); the killed server is started again as
   a follower, as its supervisor would, before the next kill.

    .venv/bin/python scripts/bench-cluster.py [--kills 10] [--reports 40]

Needs the debug or release binaries (DISPATCHER, DRONE_SIM), PostgreSQL
($DISPATCH_TEST_POSTGRES, default the local server) and NATS
($DISPATCH_TEST_NATS, default nats://127.0.0.1:4222). Prints one JSON line.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "sitl"))

from test_durability import wait  # noqa: E402
from test_failover import NATS, PG, api, health, psql, role  # noqa: E402
from test_fly import free_port  # noqa: E402
from test_serve import CONFIG, Server  # noqa: E402

SIM = os.environ.get("DRONE_SIM", os.path.join(ROOT, "target", "debug", "drone-sim"))


def node(name, port, db, prefix):
    return Server(event_log=None, args=[
        "--database", db, "--node", name, "--mavlink", f"udpin:127.0.0.1:{port}",
        "--bus", NATS, "--bus-prefix", prefix, "--speedup", "1",
    ])


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def summary(xs):
    return {"n": len(xs), "p50_ms": round(pct(xs, 0.5) * 1000, 2), "p99_ms": round(pct(xs, 0.99) * 1000, 2),
            "mean_ms": round(statistics.mean(xs) * 1000, 2)}


def timed(f):
    t = time.perf_counter()
    r = f()
    return time.perf_counter() - t, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--reports", type=int, default=40)
    a = ap.parse_args()
    db_name = f"dispatch_bench_cluster_{os.getpid()}"
    psql(PG, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
    psql(PG, f"CREATE DATABASE {db_name}")
    base, _, query = PG.partition("?")
    db = base.rsplit("/", 1)[0] + "/" + db_name + ("?" + query if query else "")
    prefix = f"bench{os.getpid()}"
    names = ["a", "b", "c"]
    ports = {n: free_port() for n in names}
    gcs = [x for n in names for x in ("--gcs", f"127.0.0.1:{ports[n]}")]
    sim = subprocess.Popen([SIM, "--config", CONFIG, *gcs, "--speedup", "1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    servers = {}
    try:
        json.loads(sim.stdout.readline())
        servers["a"] = node("a", ports["a"], db, prefix)
        wait(lambda: role(servers["a"]) == "leader", 30, "a leading")
        for n in ("b", "c"):
            servers[n] = node(n, ports[n], db, prefix)
        for n in ("b", "c"):
            wait(lambda: (health(servers[n]) or {}).get("cluster", {}).get("leader") == "a", 20, f"{n} following")
        wait(lambda: all(d["link"]["status"] == "up" for d in api(servers["b"], "GET", "/api/drones", "demo-viewer")[1]),
             30, "the fleet heard")

        # 1. Latency on the leader and on a follower.
        lat = {"leader": {"report": [], "read": []}, "follower": {"report": [], "read": []}}
        for i in range(a.reports):
            for where, s in (("leader", servers["a"]), ("follower", servers["b"])):
                body = {"kind": "spectator_in_danger_zone", "lat": 30.39 + (i % 10) * 0.001, "lon": 120.52,
                        "source": "bench", "external_id": f"{where}-{i}"}
                dt, (st, r) = timed(lambda: api(s, "POST", "/api/incidents", "demo-dispatcher", body))
                assert st in (201, 202), (st, r)
                lat[where]["report"].append(dt)
                dt, (st, r) = timed(lambda: api(s, "GET", "/api/incidents", "demo-viewer"))
                assert st == 200, (st, r)
                lat[where]["read"].append(dt)
        latency = {w: {k: summary(v) for k, v in d.items()} for w, d in lat.items()}

        # 2. Fail-over over KILLS kills.
        lease_s, serve_s = [], []
        for k in range(a.kills):
            leader = next(n for n in names if role(servers[n]) == "leader")
            servers[leader].p.kill()
            killed = time.monotonic()
            servers[leader].p.wait()
            rest = [n for n in names if n != leader]
            new = wait(lambda: next((n for n in rest if role(servers[n]) == "leader"), None), 15, "a new leader")
            lease_s.append(time.monotonic() - killed)
            wait(lambda: (health(servers[new]) or {}).get("status") == "ok", 15, "the new leader serving")
            serve_s.append(time.monotonic() - killed)
            print(f"kill {k + 1}: {leader} killed; {new} leads after {lease_s[-1]:.2f} s, "
                  f"serves after {serve_s[-1]:.2f} s", file=sys.stderr)
            servers[leader] = node(leader, ports[leader], db, prefix)
            wait(lambda: (health(servers[leader]) or {}).get("cluster", {}).get("leader") == new, 20,
                 f"{leader} following again")
        print(json.dumps({
            "servers": 3, "drones": 15, "reports_per_server": a.reports,
            "latency": latency,
            "failover": {"kills": a.kills,
                         "lease_taken_s": [round(x, 2) for x in lease_s],
                         "serving_s": [round(x, 2) for x in serve_s],
                         "lease_taken_range_s": [round(min(lease_s), 2), round(max(lease_s), 2)],
                         "serving_range_s": [round(min(serve_s), 2), round(max(serve_s), 2)]},
        }))
    finally:
        for s in servers.values():
            if s.p.poll() is None:
                s.p.kill()
                s.p.wait()
        sim.terminate()
        sim.communicate(timeout=10)
        psql(PG, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


if __name__ == "__main__":
    main()
