#!/usr/bin/env python3
"""Three dispatch servers on one PostgreSQL database and one NATS bus, the
simulator fanning out to all three (config/haining.toml, 15 drones), as
tests/sitl/test_failover.py runs them. Measures, for docs/performance.md:

1. an incident report's latency (POST /api/incidents until the answer) and
   a read's (GET /api/incidents), on the leader and on a follower, the
   reports alternating between the two;
2. fail-over time over KILLS kills: the leader is killed with SIGKILL while
   a drone flies a rescue, and the time is taken until another server holds
   the lease (health: role leader), until it serves as the leader (health:
   status ok, its fleet running), and until its first MAVLink command
   reaches the vehicles: each server's MAVLink passes through a UDP relay
   of this script (the simulator sends to the relay, the relay to the
   server, and back), which notes the time and message id of every frame a
   server sends; a command is any frame but HEARTBEAT. The killed server is
   started again as a follower, as its supervisor would, before the next
   kill.

    .venv/bin/python scripts/bench-cluster.py [--kills 10] [--reports 40]

Needs the debug or release binaries (DISPATCHER, DRONE_SIM), PostgreSQL
($DISPATCH_TEST_POSTGRES, default the local server) and NATS
($DISPATCH_TEST_NATS, default nats://127.0.0.1:4222). Prints one JSON line.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "sitl"))

from test_durability import wait  # noqa: E402
from test_failover import NATS, PG, api, health, psql, report_until_answered, role  # noqa: E402
from test_fly import free_port  # noqa: E402
from test_serve import CONFIG, Server  # noqa: E402

SIM = os.environ.get("DRONE_SIM", os.path.join(ROOT, "target", "debug", "drone-sim"))


class Relay:
    """A UDP relay between the simulator and one server that notes when the
    server sent which message (the frame's id: MAVLink 2 or 1)."""

    def __init__(self, server_port):
        self.server = ("127.0.0.1", server_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.sim = None
        self.sent = []  # (monotonic time, message id) of the server's frames
        self.lock = threading.Lock()
        self.stopped = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped:
            try:
                data, src = self.sock.recvfrom(65536)
            except (socket.timeout, ConnectionRefusedError):
                continue  # refused: an ICMP for a frame sent to a server not (or no longer) up
            except OSError:
                return
            try:
                if src == self.server:
                    if self.sim is not None:
                        self.sock.sendto(data, self.sim)
                    msgid = None
                    if len(data) >= 10 and data[0] == 0xFD:
                        msgid = data[7] | data[8] << 8 | data[9] << 16
                    elif len(data) >= 6 and data[0] == 0xFE:
                        msgid = data[5]
                    with self.lock:
                        self.sent.append((time.monotonic(), msgid))
                else:
                    self.sim = src
                    self.sock.sendto(data, self.server)
            except OSError:
                pass  # the server is down (being killed): the frame is lost, as on a radio

    def first_after(self, t, ids=None):
        """(time, id) of this server's first frame after t other than
        HEARTBEAT, or of one of `ids`."""
        with self.lock:
            return next(((at, m) for at, m in self.sent
                         if at > t and m not in (None, 0) and (ids is None or m in ids)), None)

    def close(self):
        self.stopped = True
        self.sock.close()


# MISSION_COUNT, COMMAND_INT, COMMAND_LONG: what a launch sends first.
LAUNCH_IDS = (44, 75, 76)


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
    relays = {n: Relay(ports[n]) for n in names}
    gcs = [x for n in names for x in ("--gcs", f"127.0.0.1:{relays[n].port}")]
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

        # 2. Fail-over over KILLS kills (first: each needs a free drone).
        lease_s, serve_s, frame_s, command_s, answer_s, command_ids, launch_s = [], [], [], [], [], [], []
        for k in range(a.kills):
            leader = next(n for n in names if role(servers[n]) == "leader")
            # A rescue in flight: the new leader must take the drone back.
            body = {"kind": "spectator_in_danger_zone", "lat": 30.40, "lon": 120.53,
                    "source": "bench", "external_id": f"kill-{k}"}
            st, r = api(servers[leader], "POST", "/api/incidents", "demo-dispatcher", body)
            assert st == 201 and r.get("drone"), (st, r)
            flying = r["drone"]
            wait(lambda: ((api(servers[leader], "GET", f"/api/drones/{flying}", "demo-viewer")[1] or {})
                          .get("alt_m") or 0) > 10, 60, f"{flying} in the air")
            servers[leader].p.kill()
            killed = time.monotonic()
            # A report sent at the kill, to the survivors until one answers:
            # the new leader's first command is that launch's.
            rest = [n for n in names if n != leader]
            second, log = [], []
            fire = {"kind": "highrise_fire", "lat": 30.51, "lon": 120.68,
                    "source": "bench", "external_id": f"kill-{k}-fire"}
            reporter = threading.Thread(target=lambda: second.append(
                (report_until_answered([servers[n] for n in rest], fire, log), time.monotonic())), daemon=True)
            reporter.start()
            servers[leader].p.wait()
            new = wait(lambda: next((n for n in rest if role(servers[n]) == "leader"), None), 15, "a new leader")
            lease_s.append(time.monotonic() - killed)
            wait(lambda: (health(servers[new]) or {}).get("status") == "ok", 15, "the new leader serving")
            serve_s.append(time.monotonic() - killed)
            reporter.join(timeout=40)
            assert second, f"the report sent at the kill was never answered: {log}"
            answer_s.append(second[0][1] - killed)
            first = wait(lambda: relays[new].first_after(killed), 15,
                         f"a command from the new leader (it sent {sorted({m for t, m in relays[new].sent if t > killed})})")
            command_s.append(first[0] - killed)
            command_ids.append(first[1])
            # The launch of the report sent at the kill: its mission upload
            # (MISSION_COUNT) or a COMMAND_LONG/COMMAND_INT.
            launch = wait(lambda: relays[new].first_after(killed, LAUNCH_IDS), 30, "the new leader's launch")
            launch_s.append(launch[0] - killed)
            with relays[new].lock:
                frame_s.append(next(t for t, _ in relays[new].sent if t > killed) - killed)
            print(f"kill {k + 1}: {leader} killed with {flying} in the air; {new} leads after {lease_s[-1]:.2f} s, "
                  f"serves after {serve_s[-1]:.2f} s, first frame after {frame_s[-1]:.2f} s; the report sent at the "
                  f"kill answered after {answer_s[-1]:.2f} s, first other frame after {command_s[-1]:.2f} s (message {command_ids[-1]}), "
                  f"the launch's first command after {launch_s[-1]:.2f} s",
                  file=sys.stderr)
            # Both rescues end before the next kill (their drones fly home).
            for inc in (r, second[0][0]):
                st, _ = api(servers[new], "POST", f"/api/incidents/{inc['id']}/cancel", "demo-dispatcher", {})
                assert st in (200, 409), st
            used = [d for d in (flying, second[0][0].get("drone")) if d]
            wait(lambda: all(((api(servers[new], "GET", f"/api/drones/{d}", "demo-viewer")[1] or {})
                              .get("state")) in ("docked", "charging") for d in used), 300, f"{used} back home")
            servers[leader] = node(leader, ports[leader], db, prefix)
            wait(lambda: (health(servers[leader]) or {}).get("cluster", {}).get("leader") == new, 20,
                 f"{leader} following again")
        # 1. Latency on the leader and on a follower (after the kills: the
        # reports take every drone).
        lead = next(n for n in names if role(servers[n]) == "leader")
        follow = next(n for n in names if n != lead)
        lat = {"leader": {"report": [], "read": []}, "follower": {"report": [], "read": []}}
        for i in range(a.reports):
            for where, s in (("leader", servers[lead]), ("follower", servers[follow])):
                body = {"kind": "spectator_in_danger_zone", "lat": 30.39 + (i % 10) * 0.001, "lon": 120.52,
                        "source": "bench", "external_id": f"{where}-{i}"}
                dt, (st, r) = timed(lambda: api(s, "POST", "/api/incidents", "demo-dispatcher", body))
                assert st in (201, 202), (st, r)
                lat[where]["report"].append(dt)
                dt, (st, r) = timed(lambda: api(s, "GET", "/api/incidents", "demo-viewer"))
                assert st == 200, (st, r)
                lat[where]["read"].append(dt)
        latency = {w: {k: summary(v) for k, v in d.items()} for w, d in lat.items()}

        print(json.dumps({
            "servers": 3, "drones": 15, "reports_per_server": a.reports,
            "latency": latency,
            "failover": {"kills": a.kills,
                         "lease_taken_s": [round(x, 2) for x in lease_s],
                         "serving_s": [round(x, 2) for x in serve_s],
                         "first_frame_s": [round(x, 2) for x in frame_s],
                         "report_answered_s": [round(x, 2) for x in answer_s],
                         "first_command_s": [round(x, 2) for x in command_s],
                         "first_command_message_ids": command_ids,
                         "launch_command_s": [round(x, 2) for x in launch_s],
                         "launch_command_range_s": [round(min(launch_s), 2), round(max(launch_s), 2)],
                         "first_frame_range_s": [round(min(frame_s), 2), round(max(frame_s), 2)],
                         "report_answered_range_s": [round(min(answer_s), 2), round(max(answer_s), 2)],
                         "first_command_range_s": [round(min(command_s), 2), round(max(command_s), 2)],
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
        for r in relays.values():
            r.close()
        psql(PG, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


if __name__ == "__main__":
    main()
