"""Manned traffic end to end: `dispatcher serve --sim` reads an SBS-1
(BaseStation) feed served by this test from a plain Python socket (the
format dump1090 and readsb serve on port 30003), holds a launch while a
helicopter hovers over the hangar and launches by itself once it has gone,
and holds a drone in flight (LOITER) for a helicopter ahead of it, resuming
the mission (AUTO) when it has gone. Bad lines are counted in /api/health.
"""

import math
import socket
import threading
import time

import pytest

from test_serve import Server

YANGUAN = (30.404, 120.542)
FAR = (30.60, 120.90)
HELI = "780A3B"
STAMP = "2026/09/28,13:00:00.000,2026/09/28,13:00:00.000"


def sbs(kind, icao, **f):
    """One SBS-1 line: 22 comma-separated fields."""
    fields = ["MSG", str(kind), "1", "1", icao, "1"] + STAMP.split(",") + [""] * 12
    for i, v in f.items():
        fields[int(i[1:]) - 1] = str(v)
    fields[21] = "0"
    assert len(fields) == 22
    return ",".join(fields) + "\r\n"


class SbsFeed:
    """A BaseStation feed on a free loopback port: every 0.2 s, the lines of
    each aircraft in `aircraft` to every connected client."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.lock = threading.Lock()
        self.aircraft = {}  # icao -> (lat, lon, alt_m, callsign)
        self.once = []
        self.clients = []
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._send, daemon=True).start()

    def put(self, icao, lat, lon, alt_m, callsign):
        with self.lock:
            self.aircraft[icao] = (lat, lon, alt_m, callsign)

    def remove(self, icao):
        with self.lock:
            self.aircraft.pop(icao, None)

    def raw(self, line):
        with self.lock:
            self.once.append(line)

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            with self.lock:
                self.clients.append(c)

    def _send(self):
        while not self.stop:
            with self.lock:
                # One-off lines wait for a client to hear them.
                data = "".join(self.once) if self.clients else ""
                if self.clients:
                    self.once.clear()
                for icao, (lat, lon, alt, cs) in self.aircraft.items():
                    data += sbs(1, icao, f11=cs)
                    data += sbs(3, icao, f12=round(alt / 0.3048), f15=f"{lat:.6f}", f16=f"{lon:.6f}")
                    data += sbs(4, icao, f13=0, f14=0, f17=0)
                for c in list(self.clients):
                    try:
                        c.sendall(data.encode())
                    except OSError:
                        self.clients.remove(c)
            time.sleep(0.2)

    def close(self):
        self.stop = True
        self.srv.close()
        with self.lock:
            for c in self.clients:
                c.close()


@pytest.fixture
def feed():
    f = SbsFeed()
    yield f
    f.close()


def wait(what, fn, timeout=30.0, every=0.1):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def start(feed, speedup):
    s = Server(speedup=speedup, args=["--sbs", f"127.0.0.1:{feed.port}"])
    wait("every vehicle docked", lambda: all(
        d["link"]["status"] == "up" and d["state"] == "docked"
        for d in s.api("GET", "/api/drones", "demo-viewer")[1]))
    return s


def steps(server):
    return [line for line in server.lines if " traffic " in line]


def test_a_launch_waits_for_a_helicopter_over_the_hangar_and_goes_when_it_has_gone(feed):
    feed.put(HELI, *YANGUAN, 60.0, "B7711")
    feed.raw("MSG,3,this is not a BaseStation line\r\n")
    server = start(feed, speedup=10)
    try:
        health = wait("the feed's track", lambda: (lambda h: h["traffic"]["tracks"] >= 1 and h)(
            server.api("GET", "/api/health", "demo-viewer")[1]))
        assert health["traffic"]["sbs"]["connected"] is True
        assert health["traffic"]["sbs"]["bad_lines"] >= 1, health["traffic"]
        st, tr = server.api("GET", "/api/traffic", "demo-viewer")
        assert st == 200 and tr["tracks"][0]["icao"] == HELI and tr["tracks"][0]["callsign"] == "B7711"
        assert tr["tracks"][0]["sources"] == ["sbs"]

        st, inc = server.api("POST", "/api/incidents", "demo-dispatcher",
                             {"kind": "person_in_water", "lat": 30.347, "lon": 120.457})
        assert st == 201 and inc["drone"] == "yg-1", inc
        iid = inc["id"]
        held = wait("the held launch", lambda: server.api("GET", "/api/traffic", "demo-viewer")[1]["held_launches"])
        assert held[0]["incident"] == iid and held[0]["aircraft"] == "B7711"
        # Held: 3 s of wall time are 30 s of scenario time, far past the hangar's 20 s delay.
        time.sleep(3)
        st, d = server.api("GET", "/api/drones/yg-1", "demo-viewer")
        assert not d["armed"] and d["alt_m"] < 1, d
        assert server.api("GET", f"/api/incidents/{iid}", "demo-viewer")[1]["status"] == "assigned"
        # A viewer may not launch anyway.
        st, _ = server.api("POST", f"/api/incidents/{iid}/launch-anyway", "demo-viewer")
        assert st == 403

        feed.put(HELI, *FAR, 60.0, "B7711")
        wait("the launch", lambda: server.api("GET", f"/api/incidents/{iid}", "demo-viewer")[1]["status"] == "en_route")
        out = "".join(steps(server))
        assert "LaunchHeld (B7711)" in out and "LaunchReleased (B7711)" in out, out
        st, _ = server.api("POST", f"/api/incidents/{iid}/launch-anyway", "demo-dispatcher")
        assert st == 409
    finally:
        server.p.kill()
        server.p.wait()


def test_a_drone_in_flight_holds_for_a_helicopter_ahead_and_resumes_when_it_has_gone(feed):
    server = start(feed, speedup=5)
    try:
        st, inc = server.api("POST", "/api/incidents", "demo-dispatcher",
                             {"kind": "person_in_water", "lat": 30.347, "lon": 120.457})
        assert st == 201, inc

        def cruising():
            d = server.api("GET", "/api/drones/yg-1", "demo-viewer")[1]
            return d if d["mode"] == "AUTO" and d["alt_m"] > 50 and d["ground_speed_mps"] > 3 else None

        wait("yg-1 cruising", cruising, timeout=40)
        # A helicopter 150 m ahead of it, 50 m below (it holds in place,
        # no descent), kept ahead of it until it holds.


        def held():
            d = server.api("GET", "/api/drones/yg-1", "demo-viewer")[1]
            if d["mode"] == "LOITER":
                return d
            h = math.radians(d["heading_deg"])
            dn, de = 150 * math.cos(h), 150 * math.sin(h)
            lat = d["lat"] + dn / 111195.0
            lon = d["lon"] + de / (111195.0 * math.cos(math.radians(d["lat"])))
            feed.put(HELI, lat, lon, d["alt_m"] - 50, "B7711")
            return None

        wait("yg-1 holding", held, timeout=20, every=0.05)
        time.sleep(1.0)
        st, tr = server.api("GET", "/api/traffic", "demo-viewer")
        assert tr["held_drones"] == [{"drone": "yg-1", "aircraft": "B7711", "descended": False}], tr
        assert server.api("GET", "/api/drones/yg-1", "demo-viewer")[1]["mode"] == "LOITER"

        feed.remove(HELI)
        wait("yg-1 back in its mission",
             lambda: server.api("GET", "/api/drones/yg-1", "demo-viewer")[1]["mode"] == "AUTO", timeout=20)
        out = "".join(steps(server))
        assert "Hold (B7711)" in out and "Resume (B7711)" in out, out
        # Held by the dispatcher's own command: no hijack alert, the rescue goes on.
        hijack = [line for line in server.lines if "not commanded by the dispatcher" in line]
        assert not hijack, hijack
        assert server.api("GET", f"/api/incidents/{inc['id']}", "demo-viewer")[1]["drone"] == "yg-1"
    finally:
        server.p.kill()
        server.p.wait()
