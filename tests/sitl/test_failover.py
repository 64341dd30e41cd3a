"""Fail-over mid-rescue: two dispatch servers on one PostgreSQL database,
one simulator fanning out to both (`--gcs` twice, as a MAVLink router
would). Server a takes the dispatch lease, a person in the water is
reported to it, and while yg-1 flies to the casualty a is killed with
SIGKILL. Server b, a standby until then (health only, 503 naming the
leader), must take the lease within 5 s, recover the incident from the
shared log, take the drone back and follow it to the end: the incident
exists once and is resolved once, and yg-1 is back in its hangar.

Each run has a database of its own on $DISPATCH_TEST_POSTGRES (default:
the local server), created and dropped with `psql`."""

import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import CONFIG, SIM
from test_durability import incident, wait
from test_fly import free_port
from test_serve import Server

PG = os.environ.get("DISPATCH_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
SPEEDUP = "20"
# 2.3 km from Yanguan: a short sortie keeps the test's wall time down.
PIW = {"kind": "person_in_water", "lat": 30.392, "lon": 120.522, "source": "call-centre", "external_id": "call-1"}


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


def node(name, port, db):
    return Server(event_log=None, args=[
        "--database", db, "--node", name, "--mavlink", f"udpin:127.0.0.1:{port}",
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


def drone(srv, did):
    return next(d for d in srv.api("GET", "/api/drones", "demo-viewer")[1] if d["id"] == did)


def test_a_standby_takes_over_a_rescue_within_5_s_of_the_leader_being_killed(database):
    pa, pb = free_port(), free_port()
    sim = subprocess.Popen([SIM, "--config", CONFIG, "--gcs", f"127.0.0.1:{pa}", "--gcs", f"127.0.0.1:{pb}",
                            "--speedup", SPEEDUP], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    a = b = None
    try:
        ready = json.loads(sim.stdout.readline())
        assert ready["ground_stations"] == [f"127.0.0.1:{pa}", f"127.0.0.1:{pb}"], ready
        a = node("a", pa, database)
        wait(lambda: role(a) == "leader", 20, "a leading")
        b = node("b", pb, database)
        h = wait(lambda: health(b), 20, "b's health")
        assert h["status"] == "standby" and h["cluster"]["role"] == "standby", h
        wait(lambda: health(b)["cluster"]["leader"] == "a", 10, "b naming a as the leader")
        st, err = b.api("GET", "/api/incidents", "demo-viewer")
        assert st == 503 and err["error"]["code"] == "standby", (st, err)
        assert "the leader is a" in err["error"]["message"], err

        wait(lambda: all(d["link"]["status"] == "up" and d["state"] == "docked"
                         for d in a.api("GET", "/api/drones", "demo-viewer")[1]), 30, "a docked fleet")
        st, inc = a.api("POST", "/api/incidents", "demo-dispatcher", PIW)
        assert st == 201 and inc["id"] == 1 and inc["drone"] == "yg-1", inc
        wait(lambda: incident(a, 1)["status"] == "en_route" and drone(a, "yg-1")["alt_m"] > 20, 60,
             "yg-1 en route in the air")

        a.p.kill()  # SIGKILL: no clean stop, the lease is not released
        killed = time.monotonic()
        a.p.wait()
        wait(lambda: role(b) == "leader", 10, "b leading")
        takeover = time.monotonic() - killed
        print(f"takeover: b leads {takeover:.2f} s after a was killed")
        assert takeover < 5.0, f"b took {takeover:.2f} s to lead"
        # It holds the lease first, then recovers and serves the full API
        # (health says `ok` from then on).
        wait(lambda: (health(b) or {}).get("status") == "ok", 10, "b serving as the leader")
        print(f"takeover: b serves {time.monotonic() - killed:.2f} s after a was killed")
        h = health(b)
        assert h["status"] == "ok" and h["cluster"]["token"] == 2 and h["cluster"]["leader"] == "b", h

        # The whole API on the same listener, the websocket too.
        with b.ws() as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        out = wait(lambda: "recovered from the event log" in b.output() and b.output(), 10, "b's recovery")
        assert "1 open [#1]" in out and "1 sortie(s) to follow" in out, out
        wait(lambda: "taken back after a restart" in b.output(), 20, "the sortie taken back by b")
        wait(lambda: incident(b, 1)["status"] == "resolved", 120, "incident 1 resolved")
        wait(lambda: drone(b, "yg-1")["state"] in ("docked", "charging"), 60, "yg-1 back in its hangar")

        st, all_incidents = b.api("GET", "/api/incidents", "demo-viewer")
        assert st == 200 and [i["id"] for i in all_incidents] == [1], all_incidents
        statuses = [e["status"] for e in incident(b, 1)["timeline"]]
        assert statuses.count("assigned") == 1 and statuses.count("resolved") == 1, statuses
        assert statuses[-1] == "resolved", statuses
        assert psql(database, "SELECT count(*) FROM incidents") == "1"
        assert psql(database, "SELECT holder || ' ' || token FROM dispatch_lease") == "b 2"

        code, out = b.stop()
        assert code == 0, out
        assert "released the dispatch lease" in out, out
    finally:
        for s in (a, b):
            if s is not None and s.p.poll() is None:
                s.p.kill()
                s.p.wait()
        sim.terminate()
        sim.communicate(timeout=10)
