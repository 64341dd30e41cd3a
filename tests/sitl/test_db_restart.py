"""The database crashes mid-rescue and comes back.

One dispatch server on a PostgreSQL of the test's own (initdb and pg_ctl
from Debian's postgresql package, a temporary directory, a free loopback
port), so that it can be crashed and started again without touching the
machine's shared server. The simulator runs on its own, as real vehicles
do. A person in the water is reported and yg-1 launched; while it flies to
the casualty PostgreSQL is stopped with `pg_ctl stop -m immediate` (every
server process killed at once, as in a crash). Meanwhile: a report and a
zone change answer `503 database_unavailable` with `Retry-After` and say
the database is unreachable, `/api/health` says so, reads answer, the
websocket streams telemetry, the drone flies on and the server does not
exit. PostgreSQL is started again: the retried report answers `201`, health
is ok again, the rescue ends (incident resolved, yg-1 in its hangar), and
every incident exists once, in the server and in the database, also after a
restart of the server on the same database."""

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import CONFIG, SIM
from test_durability import wait
from test_failover import Watcher, drone, incident
from test_fly import free_port
from test_serve import Server

SPEEDUP = "25"
# 2.3 km from Yanguan: a short sortie keeps the test's wall time down.
PIW = {"kind": "person_in_water", "lat": 30.392, "lon": 120.522, "source": "call-centre", "external_id": "call-1"}
# Reported while the database is down, retried until it is back.
SECOND = {"kind": "spectator_in_danger_zone", "lat": 30.398, "lon": 120.53, "source": "call-centre",
          "external_id": "call-2"}
ZONE = {
    "type": "Feature",
    "properties": {"id": "outage-closure", "name": "Outage closure", "kind": "temporary_closure"},
    "geometry": {"type": "Polygon", "coordinates": [[[120.70, 30.60], [120.72, 30.60], [120.72, 30.62],
                                                      [120.70, 30.62], [120.70, 30.60]]]},
}


def tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory, on a free loopback port."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            pytest.fail("this test needs Debian's PostgreSQL server binaries "
                        "(apt-get install postgresql): /usr/lib/postgresql/*/bin/initdb")
        self.bin = os.path.dirname(bins[-1])
        self.dir = tempfile.mkdtemp(prefix="dispatch-db-restart-")
        # initdb refuses to run as root: the cluster belongs to `postgres`.
        self.as_user = []
        if os.getuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root, this test needs the `postgres` user (Debian's postgresql package)")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = os.path.join(self.dir, "data")
        self.port = tcp_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self.run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def run(self, tool, *args):
        r = subprocess.run([*self.as_user, os.path.join(self.bin, tool), *args],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"{tool} {' '.join(args)}: {r.stdout}{r.stderr}"

    def start(self):
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "pg.log"), "-w", "-o",
                 f"-k {self.dir} -p {self.port} -c listen_addresses=127.0.0.1", "start")

    def crash(self):
        """Every server process killed at once: no checkpoint, connections cut."""
        self.run("pg_ctl", "-D", self.data, "-m", "immediate", "stop")

    def sql(self, query):
        r = subprocess.run(["psql", self.url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"psql {query!r}: {r.stderr}"
        return r.stdout.strip()

    def close(self):
        subprocess.run([*self.as_user, os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def postgres():
    if shutil.which("psql") is None:
        pytest.fail("this test needs PostgreSQL's `psql` (apt-get install postgresql-client)")
    pg = PrivatePostgres()
    yield pg
    pg.close()


def call(srv, method, path, token, body=None):
    """(status, body, Retry-After) of one request."""
    req = urllib.request.Request(
        srv.url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null"), r.headers.get("Retry-After")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), e.headers.get("Retry-After")


def health(srv):
    st, h, _ = call(srv, "GET", "/api/health", "demo-viewer")
    assert st == 200, h
    return h


def test_a_database_crash_mid_rescue_refuses_writes_with_503_until_it_is_back_and_loses_nothing(postgres):
    port = free_port()
    sim = subprocess.Popen([SIM, "--config", CONFIG, "--gcs", f"127.0.0.1:{port}", "--speedup", SPEEDUP],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    args = ["--database", postgres.url, "--mavlink", f"udpin:127.0.0.1:{port}", "--speedup", SPEEDUP,
            "--reassign-after", "60"]
    srv = srv2 = watcher = None
    try:
        json.loads(sim.stdout.readline())
        srv = Server(event_log=None, args=args)
        h = health(srv)
        assert h["status"] == "ok" and h["database"]["backend"] == "postgres", h
        assert h["database"]["state"] == "ok", h
        wait(lambda: all(d["link"]["status"] == "up" and d["state"] == "docked"
                         for d in srv.api("GET", "/api/drones", "demo-viewer")[1]), 30, "a docked fleet")
        st, inc, _ = call(srv, "POST", "/api/incidents", "demo-dispatcher", PIW)
        assert st == 201 and inc["id"] == 1 and inc["drone"] == "yg-1", (st, inc)
        wait(lambda: (incident(srv, 1) or {}).get("status") == "en_route"
             and (drone(srv, "yg-1") or {}).get("alt_m", 0) > 20, 60, "yg-1 en route in the air")
        watcher = Watcher(srv)

        postgres.crash()
        crashed = time.monotonic()
        h = wait(lambda: (lambda h: h["database"]["state"] == "unreachable" and h)(health(srv)), 10,
                 "health saying the database is unreachable")
        print(f"health says unreachable {time.monotonic() - crashed:.2f} s after the crash: {h['database']}")
        assert h["status"] == "degraded", h
        assert "unreachable" in h["database"]["last_error"], h

        st, err, retry = call(srv, "POST", "/api/incidents", "demo-dispatcher", SECOND)
        assert st == 503 and err["error"]["code"] == "database_unavailable", (st, err)
        assert "database is unreachable" in err["error"]["message"], err
        assert "nothing was changed" in err["error"]["message"], err
        assert retry is not None and int(retry) > 0, retry
        st, err, retry = call(srv, "POST", "/api/zones", "demo-admin", ZONE)
        assert st == 503 and err["error"]["code"] == "database_unavailable" and retry, (st, err)

        # Reads answer from memory; the rescue goes on; nothing was made of the refused report.
        st, listed, _ = call(srv, "GET", "/api/incidents", "demo-viewer")
        assert st == 200 and [i["id"] for i in listed] == [1], listed
        st, zones, _ = call(srv, "GET", "/api/zones", "demo-viewer")
        assert st == 200 and not any(f["properties"]["id"] == "outage-closure" for f in zones["features"]), zones
        seen = drone(srv, "yg-1")
        moved = wait(lambda: (lambda d: d and (d["lat"], d["lon"]) != (seen["lat"], seen["lon"]) and d)(
            drone(srv, "yg-1")), 10, "yg-1 flying on")
        assert moved["alt_m"] > 20, moved
        # Outage of a few seconds: several commits of the rescue fail meanwhile.
        time.sleep(3)
        assert srv.p.poll() is None, srv.output()
        h = health(srv)
        assert h["database"]["state"] == "unreachable" and h["database"]["unsaved_events"] > 0, h
        outage_end = time.monotonic()
        assert watcher.closed is None, watcher.closed
        during = [t for t in watcher.telemetry if crashed <= t <= outage_end]
        gap = watcher.gaps(crashed, outage_end)
        print(f"websocket during the outage: {len(during)} telemetry messages, longest gap {gap:.2f} s")
        assert len(during) > 0, "no telemetry while the database was down"

        postgres.start()
        started = time.monotonic()
        log = []

        def second_report():
            st, body, _ = call(srv, "POST", "/api/incidents", "demo-dispatcher", SECOND)
            log.append((round(time.monotonic() - started, 2), st, (body.get("error") or {}).get("code")))
            return st in (200, 201) and (st, body)

        st, second = wait(second_report, 30, "the report taken again")
        print(f"the retried report answered {st} {time.monotonic() - started:.2f} s after the restart: {log}")
        assert st == 201 and second["id"] == 2, (st, second, log)
        assert all(s == 503 and c == "database_unavailable" for _, s, c in log[:-1]), log
        h = wait(lambda: (lambda h: h["database"]["state"] == "ok" and h)(health(srv)), 10, "health ok again")
        assert h["status"] == "ok" and h["database"]["unsaved_events"] == 0, h
        st, z, _ = call(srv, "POST", "/api/zones", "demo-admin", ZONE)
        assert st in (200, 201), (st, z)

        wait(lambda: (incident(srv, 1) or {}).get("status") == "resolved", 120, "incident 1 resolved")
        wait(lambda: (drone(srv, "yg-1") or {}).get("state") in ("docked", "charging"), 60,
             "yg-1 back in its hangar")
        statuses = [e["status"] for e in incident(srv, 1)["timeline"]]
        assert statuses.count("assigned") == 1 and statuses.count("resolved") == 1, statuses
        out = srv.output()
        assert "cannot write the event log" in out and "written again" in out, out
        assert watcher.closed is None, watcher.closed
        assert (1, "resolved") in watcher.incidents, watcher.incidents

        # In the database: each incident once, incident 1 with its end.
        wait(lambda: postgres.sql("SELECT status FROM incidents WHERE id = 1") == "resolved", 10,
             "incident 1 resolved in the database")
        assert postgres.sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM incidents") == "1,2"
        assert postgres.sql("SELECT count(*) FROM zone_changes") == "1"
        code, out = srv.stop()
        assert code == 0, out

        # A restart on the same database has everything that was answered 201.
        srv2 = Server(event_log=None, args=args)
        st, listed, _ = call(srv2, "GET", "/api/incidents", "demo-viewer")
        assert st == 200 and sorted((i["id"], i["external_id"]) for i in listed) == [(1, "call-1"), (2, "call-2")], listed
        assert incident(srv2, 1)["status"] == "resolved"
        st, zones, _ = call(srv2, "GET", "/api/zones", "demo-viewer")
        assert any(f["properties"]["id"] == "outage-closure" for f in zones["features"]), zones
        code, out = srv2.stop()
        assert code == 0, out
    finally:
        if watcher is not None:
            watcher.close()
        for s in (srv, srv2):
            if s is not None and s.p.poll() is None:
                s.p.kill()
                s.p.wait()
        sim.terminate()
        sim.communicate(timeout=10)
