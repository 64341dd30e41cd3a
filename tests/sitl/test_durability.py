"""The durable event log: `kill -9` of the dispatch server in the middle of a
rescue loses nothing. The simulator runs on its own (as real vehicles do),
the server is killed while yg-1 flies to the casualty and started again on
the same log: the incident, its assignment, the zone added at run time and
the numbering come back, the drone is followed to the end of its mission,
and the time line, the response-time report and the daily summary hold both
halves of the story."""

import csv
import io
import json
import os
import subprocess
import time
import urllib.request

from conftest import CONFIG, SIM
from test_fly import free_port
from test_serve import Server

SPEEDUP = "25"
PIW = {"kind": "person_in_water", "lat": 30.347, "lon": 120.457, "source": "call-centre", "external_id": "call-1"}
ZONE = {
    "type": "Feature",
    "properties": {"id": "drill-closure", "name": "Drill closure", "kind": "temporary_closure"},
    "geometry": {"type": "Polygon", "coordinates": [[[120.70, 30.60], [120.72, 30.60], [120.72, 30.62], [120.70, 30.62], [120.70, 30.60]]]},
}


def wait(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def incident(srv, iid):
    st, body = srv.api("GET", f"/api/incidents/{iid}", "demo-viewer")
    assert st == 200, body
    return body


def text(srv, path):
    req = urllib.request.Request(srv.url + path, headers={"Authorization": "Bearer demo-viewer"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def test_kill_9_mid_rescue_recovers_incidents_zones_numbering_and_follows_the_drone(tmp_path):
    log = tmp_path / "events.sqlite"
    port = free_port()
    sim = subprocess.Popen([SIM, "--config", CONFIG, "--gcs", f"127.0.0.1:{port}", "--speedup", SPEEDUP],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    args = ["--mavlink", f"udpin:127.0.0.1:{port}", "--speedup", SPEEDUP, "--reassign-after", "30"]
    srv = srv2 = None
    try:
        json.loads(sim.stdout.readline())
        srv = Server(args=args, event_log=log)
        wait(lambda: all(d["link"]["status"] == "up" and d["state"] == "docked"
                         for d in srv.api("GET", "/api/drones", "demo-viewer")[1]), 30, "a docked fleet")
        st, z = srv.api("POST", "/api/zones", "demo-admin", ZONE)
        assert st in (200, 201), z
        st, inc = srv.api("POST", "/api/incidents", "demo-dispatcher", PIW)
        assert st == 201 and inc["id"] == 1 and inc["drone"] == "yg-1", inc
        wait(lambda: incident(srv, 1)["status"] == "en_route", 60, "yg-1 en route")
        wait(lambda: next(d for d in srv.api("GET", "/api/drones", "demo-viewer")[1] if d["id"] == "yg-1")["alt_m"] > 20,
             60, "yg-1 in the air")
        srv.p.kill()  # SIGKILL: no clean stop, nothing flushed at exit
        srv.p.wait()

        srv2 = Server(args=args, event_log=log)
        out = wait(lambda: "recovered from the event log" in srv2.output() and srv2.output(), 30, "the recovery line")
        assert "1 open [#1]" in out and "1 sortie(s) to follow" in out, out
        inc = incident(srv2, 1)
        assert inc["status"] in ("en_route", "on_scene", "returning", "resolved"), inc["status"]
        assert inc["drone"] == "yg-1" and inc["external_id"] == "call-1", inc
        st, zones = srv2.api("GET", "/api/zones", "demo-viewer")
        assert any(f["properties"]["id"] == "drill-closure" for f in zones["features"]), zones
        # The same report again is the same incident; a new one continues the numbering.
        st, again = srv2.api("POST", "/api/incidents", "demo-dispatcher", PIW)
        assert st == 200 and again["id"] == 1, (st, again)
        st, other = srv2.api("POST", "/api/incidents", "demo-dispatcher",
                             {"kind": "spectator_in_danger_zone", "lat": 30.40, "lon": 120.60})
        assert st == 201 and other["id"] == 2, other
        assert "taken back after a restart" in wait(lambda: "taken back after a restart" in srv2.output() and srv2.output(),
                                                    30, "the sortie taken back")
        # Followed to the end by the restarted server.
        wait(lambda: incident(srv2, 1)["status"] == "resolved", 240, "incident 1 resolved")
        wait(lambda: next(d for d in srv2.api("GET", "/api/drones", "demo-viewer")[1] if d["id"] == "yg-1")["state"]
             in ("docked", "charging"), 120, "yg-1 back in its hangar")
        statuses = [e["status"] for e in incident(srv2, 1)["timeline"]]
        assert statuses.count("assigned") == 1 and statuses[-1] == "resolved", statuses

        st, tl = srv2.api("GET", "/api/incidents/1/timeline", "demo-viewer")
        assert st == 200 and tl["source"] == "event_log", tl
        kinds = {e["event"] for e in tl["events"]}
        assert {"incident", "dispatch"} <= kinds, kinds
        track = next(t for t in tl["tracks"] if t["drone"] == "yg-1")["points"]
        assert len(track) >= 10, track
        # The track spans both servers: points from before the kill and after.
        assert max(p[3] for p in track) > 20

        st, rt = srv2.api("GET", "/api/reports/response-times", "demo-viewer")
        assert st == 200, rt
        g = next(g for g in rt["groups"] if g["kind"] == "person_in_water" and g["hangar"] == "yanguan")
        assert g["stages"]["resolved"]["n"] == 1 and g["stages"]["on_scene"]["median_s"] > 60, g
        status, ctype, body = text(srv2, "/api/reports/response-times?format=csv&from=2026-09-28T00:00:00%2B08:00")
        assert status == 200 and ctype.startswith("text/csv"), ctype
        rows = list(csv.DictReader(io.StringIO(body)))
        assert any(r["kind"] == "person_in_water" and r["stage"] == "resolved" and r["n"] == "1" for r in rows), body

        st, day = srv2.api("GET", "/api/reports/daily?date=2026-09-28&offset=%2B08:00", "demo-viewer")
        assert st == 200, day
        assert day["missions_by_kind"].get("person_in_water") == 1, day
        assert day["flight_hours"]["yg-1"] > 0, day
        st, bad = srv2.api("GET", "/api/reports/daily?date=28.09.2026", "demo-viewer")
        assert st == 400 and "YYYY-MM-DD" in bad["error"]["message"], bad
        code, out = srv2.stop()
        assert code == 0, out
    finally:
        for s in (srv, srv2):
            if s is not None and s.p.poll() is None:
                s.p.kill()
                s.p.wait()
        sim.terminate()
        sim.communicate(timeout=10)
