"""Fail-over mid-rescue: three dispatch servers on one PostgreSQL database
and one NATS bus, one simulator fanning out to all three (`--gcs` three
times, as a MAVLink router would).

Server a takes the dispatch lease. A person in the water is reported to
the follower c, which forwards it to a over the bus; a launches yg-1. A
websocket client stays connected to c throughout. While yg-1 flies to the
casualty a is killed with SIGKILL, and a second report is sent at that very
moment, retried against c and b until one answers. One of b and c must take
the lease within 5 s, recover the incident from the shared log, take the
drone back and follow it to the end: incident 1 exists once and is resolved
once, yg-1 is back in its hangar, the second report exists once, and the
client on c saw telemetry with no gap over 5 s and the incident's end.

Each run has a database of its own on $DISPATCH_TEST_POSTGRES (default:
the local server), created and dropped with `psql`, and subjects of its own
on $DISPATCH_TEST_NATS (default: the local NATS server)."""

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import CONFIG, SIM
from test_durability import wait
from test_fly import free_port
from test_serve import Server

PG = os.environ.get("DISPATCH_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
NATS = os.environ.get("DISPATCH_TEST_NATS", "nats://127.0.0.1:4222")
SPEEDUP = "20"
# 2.3 km from Yanguan: a short sortie keeps the test's wall time down.
PIW = {"kind": "person_in_water", "lat": 30.392, "lon": 120.522, "source": "call-centre", "external_id": "call-1"}
# Reported during the fail-over.
SECOND = {"kind": "spectator_in_danger_zone", "lat": 30.398, "lon": 120.53, "source": "call-centre",
          "external_id": "call-2"}


def psql(url, sql):
    r = subprocess.run(["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"psql {sql!r}: {r.stderr}"
    return r.stdout.strip()


@pytest.fixture
def database():
    if shutil.which("psql") is None:
        pytest.fail("this test needs PostgreSQL's `psql` (apt-get install postgresql-client)")
    name = f"dispatch_test_failover_{os.getpid()}"
    psql(PG, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(PG, f"CREATE DATABASE {name}")
    base, _, query = PG.partition("?")
    url = base.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")
    yield url
    psql(PG, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def node(name, port, db, prefix):
    return Server(event_log=None, args=[
        "--database", db, "--node", name, "--mavlink", f"udpin:127.0.0.1:{port}",
        "--bus", NATS, "--bus-prefix", prefix,
        "--speedup", SPEEDUP, "--reassign-after", "30",
    ])


def health(srv):
    try:
        st, h = srv.api("GET", "/api/health", "demo-viewer")
    except OSError:
        return None
    return h if st == 200 else None


def role(srv):
    h = health(srv)
    return h and h.get("cluster") and h["cluster"]["role"]


def api(srv, *a):
    try:
        return srv.api(*a)
    except (OSError, urllib.error.URLError) as e:
        return None, str(e)


def first_frame(srv, path):
    """The first JPEG of an MJPEG answer, or None while it is refused."""
    try:
        with urllib.request.urlopen(srv.url + path, timeout=15) as r:
            if r.status != 200 or not r.headers["Content-Type"].startswith("multipart/x-mixed-replace"):
                return None
            length = None
            while True:
                line = r.readline()
                if not line:
                    return None
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif line == b"\r\n" and length:
                    return r.read(length)
    except (OSError, urllib.error.URLError):
        return None


def incident(srv, iid):
    st, body = api(srv, "GET", f"/api/incidents/{iid}", "demo-viewer")
    return body if st == 200 else None


def drone(srv, did):
    st, ds = api(srv, "GET", "/api/drones", "demo-viewer")
    return next(d for d in ds if d["id"] == did) if st == 200 else None


class Watcher:
    """A websocket client on one server: when telemetry arrived, and the
    incident events it saw."""

    def __init__(self, srv):
        self.ws = srv.ws()
        self.snapshot = json.loads(self.ws.recv(timeout=15))
        self.telemetry = []
        self.incidents = []
        self.closed = None
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                raw = self.ws.recv(timeout=0.5)
            except TimeoutError:
                continue
            except Exception as e:  # the socket closed: the gap check says so
                self.closed = repr(e)
                return
            m = json.loads(raw)
            if m["type"] == "telemetry":
                self.telemetry.append(time.monotonic())
            elif m["type"] == "incident":
                self.incidents.append((m["incident"]["id"] if isinstance(m["incident"], dict)
                                       else m["incident"], m["status"]))

    def gaps(self, since, until):
        times = [since] + [t for t in self.telemetry if since <= t <= until] + [until]
        return max(b - a for a, b in zip(times, times[1:]))

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        self.ws.close()


def report_until_answered(servers, body, log):
    """Posts `body` to each server in turn until one answers 200/201."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for s in servers:
            st, r = api(s, "POST", "/api/incidents", "demo-dispatcher", body)
            log.append((round(time.monotonic(), 2), s.url, st,
                        (r.get("error") or {}).get("code") if isinstance(r, dict) else r))
            if st in (200, 201):
                return r
            time.sleep(0.25)
    raise AssertionError(f"the report was never answered: {log}")


def test_a_follower_takes_over_a_rescue_within_5_s_of_the_leader_being_killed(database):
    prefix = f"t{os.getpid()}x{int(time.time() * 1000) % 100000}"
    ports = [free_port() for _ in range(3)]
    gcs = [a for p in ports for a in ("--gcs", f"127.0.0.1:{p}")]
    sim = subprocess.Popen([SIM, "--config", CONFIG, *gcs, "--speedup", SPEEDUP],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    a = b = c = watcher = None
    try:
        ready = json.loads(sim.stdout.readline())
        assert ready["ground_stations"] == [f"127.0.0.1:{p}" for p in ports], ready
        a = node("a", ports[0], database, prefix)
        wait(lambda: role(a) == "leader", 20, "a leading")
        b = node("b", ports[1], database, prefix)
        c = node("c", ports[2], database, prefix)
        for f in (b, c):
            h = wait(lambda: health(f), 20, "a follower's health")
            assert h["status"] == "standby" and h["cluster"]["role"] == "standby", h
        h = wait(lambda: (lambda h: h and h["cluster"]["leader"] == "a"
                          and {p["node"] for p in h["cluster"]["peers"] if p["alive"]} == {"a", "b"} and h)(health(c)),
                 10, "c naming a as the leader and hearing a and b")
        assert h["cluster"]["bus"]["state"] == "connected", h

        # A follower serves the API: the leader's answers, over the bus.
        wait(lambda: all(d["link"]["status"] == "up" and d["state"] == "docked"
                         for d in api(c, "GET", "/api/drones", "demo-viewer")[1]), 30, "a docked fleet, read on c")
        watcher = Watcher(c)
        assert watcher.snapshot["type"] == "snapshot" and len(watcher.snapshot["drones"]) == 15
        # Metrics are each server's own: c's hub has the one client, a's none.
        for srv, clients in ((c, 1), (a, 0)):
            st, m = api(srv, "GET", "/api/metrics", "demo-viewer")
            assert st == 200 and m["websocket"]["clients"] == clients, (st, m)
        assert api(c, "GET", "/api/metrics", None)[0] == 401
        # Video is relayed by the follower itself (a stream is no answer to
        # forward over the bus); the drone's camera is the leader's.
        jpeg = wait(lambda: first_frame(c, "/api/drones/hn-1/video?token=demo-viewer"), 30, "hn-1's video on c")
        assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9" and len(jpeg) > 5000, len(jpeg)
        st, err = api(c, "GET", "/api/drones/yg-1/video", "demo-viewer")
        assert st == 404 and err["error"]["code"] == "no_camera", (st, err)
        assert api(c, "GET", "/api/drones/hn-1/video", None)[0] == 401
        st, inc = api(c, "POST", "/api/incidents", "demo-dispatcher", PIW)
        assert st == 201 and inc["id"] == 1 and inc["drone"] == "yg-1", (st, inc)
        assert "accepted incident #1" in a.output() or incident(a, 1), a.output()
        st, err = api(c, "POST", "/api/incidents", "demo-viewer", PIW)
        assert st == 403, (st, err)  # the leader's answer: a viewer may not report
        wait(lambda: (incident(c, 1) or {}).get("status") == "en_route"
             and (drone(c, "yg-1") or {}).get("alt_m", 0) > 20, 60, "yg-1 en route in the air")
        watched_from = time.monotonic()

        a.p.kill()  # SIGKILL: no clean stop, the lease is not released
        killed = time.monotonic()
        log, second = [], []
        reporter = threading.Thread(
            target=lambda: second.append((report_until_answered([c, b], SECOND, log), time.monotonic() - killed)),
            daemon=True)
        reporter.start()
        a.p.wait()
        new = wait(lambda: next((s for s in (b, c) if role(s) == "leader"), None), 10, "b or c leading")
        other = c if new is b else b
        takeover = time.monotonic() - killed
        print(f"takeover: {health(new)['cluster']['node']} leads {takeover:.2f} s after a was killed")
        assert takeover < 5.0, f"the lease was taken {takeover:.2f} s after the kill"
        wait(lambda: (health(new) or {}).get("status") == "ok", 10, "the new leader serving")
        print(f"takeover: it serves {time.monotonic() - killed:.2f} s after the kill")
        reporter.join(timeout=40)
        assert second, f"the report sent at the kill was never answered: {log}"
        print(f"the report sent at the kill was answered after {second[0][1]:.2f} s: {log}")
        assert second[0][0]["id"] == 2, second

        wait(lambda: (incident(other, 1) or {}).get("status") == "resolved", 120, "incident 1 resolved")
        wait(lambda: (drone(other, "yg-1") or {}).get("state") in ("docked", "charging"), 60,
             "yg-1 back in its hangar")
        out = new.output()
        assert "1 open [#1]" in out or "open [#1" in out, out
        assert "taken back after a restart" in out, out

        st, all_incidents = api(other, "GET", "/api/incidents", "demo-viewer")
        assert st == 200 and sorted(i["id"] for i in all_incidents) == [1, 2], all_incidents
        assert [i["external_id"] for i in all_incidents].count("call-2") == 1, all_incidents
        statuses = [e["status"] for e in incident(other, 1)["timeline"]]
        assert statuses.count("assigned") == 1 and statuses.count("resolved") == 1, statuses
        assert statuses[-1] == "resolved", statuses
        assert psql(database, "SELECT count(*) FROM incidents") == "2"

        # The client on c saw telemetry throughout and the end of the rescue.
        time.sleep(1)
        gap = watcher.gaps(watched_from, time.monotonic())
        print(f"websocket on c: {len(watcher.telemetry)} telemetry messages, longest gap {gap:.2f} s")
        assert watcher.closed is None, watcher.closed
        assert gap < 5.0, f"telemetry stopped for {gap:.2f} s on c"
        assert (1, "resolved") in watcher.incidents, watcher.incidents

        code, out = new.stop()
        assert code == 0, out
        assert "released the dispatch lease" in out, out
    finally:
        if watcher is not None:
            watcher.close()
        for s in (a, b, c):
            if s is not None and s.p.poll() is None:
                s.p.kill()
                s.p.wait()
        sim.terminate()
        sim.communicate(timeout=10)
