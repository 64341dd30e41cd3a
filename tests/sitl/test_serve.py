"""`dispatcher serve --sim` end to end, with independent clients: Python's
urllib for the HTTP API and the `websockets` package for the live feed.

A person in the water at Laoyancang is reported through the API and followed
over the websocket until the incident is resolved and the drone is back in
its hangar; Ctrl-C then stops the server, whose last lines list the sorties
still open.
"""

import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from websockets.sync.client import connect

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DISPATCHER = os.environ.get("DISPATCHER", os.path.join(ROOT, "target", "debug", "dispatcher"))
CONFIG = os.path.join(ROOT, "config", "haining.toml")


class Server:
    def __init__(self, speedup=None, args=(), event_log="off", env=None, config=CONFIG):
        fleet = ["--sim", "--sim-speedup", str(speedup)] if speedup is not None else []
        # event_log=None: none given here (e.g. --database in args).
        log = ["--event-log", str(event_log)] if event_log is not None else []
        self.p = subprocess.Popen(
            [DISPATCHER, "serve", "--config", config, "--listen", "127.0.0.1:0", *fleet,
             "--time", "2026-09-28T13:00:00+08:00", *log, *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        self.lines = []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"map and API at (https?://[0-9.:]+)/", line)
            if m:
                self.url = m.group(1)
                # Keep reading, so that a long run never blocks on a full pipe.
                self.reader = threading.Thread(target=self._drain, daemon=True)
                self.reader.start()
                return
        raise AssertionError("no URL from the server:\n" + "".join(self.lines))

    def _drain(self):
        for line in self.p.stdout:
            self.lines.append(line)

    def output(self):
        return "".join(self.lines)

    def api(self, method, path, token, body=None):
        req = urllib.request.Request(
            self.url + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def ws(self, token="demo-viewer"):
        return connect(self.url.replace("http", "ws") + f"/ws?token={token}", max_size=None)

    def stop(self):
        """Ctrl-C; returns the exit code and everything printed."""
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=30)
        self.reader.join(timeout=10)
        return self.p.returncode, "".join(self.lines)


@pytest.fixture
def server():
    s = Server(speedup=50)
    yield s
    if s.p.poll() is None:
        s.p.kill()
        s.p.wait()


def messages(ws, seconds):
    end = time.time() + seconds
    while time.time() < end:
        try:
            raw = ws.recv(timeout=max(0.1, end - time.time()))
        except TimeoutError:
            return
        yield json.loads(raw)


def test_rescue_reported_through_the_api_is_followed_to_resolved_over_the_websocket(server):
    with server.ws() as ws:
        snap = json.loads(ws.recv(timeout=10))
        assert snap["type"] == "snapshot"
        assert len(snap["drones"]) == 15
        # Wait until every vehicle is heard and docked (the simulator starts with the server).
        deadline = time.time() + 20
        while True:
            st, drones = server.api("GET", "/api/drones", "demo-viewer")
            if all(d["link"]["status"] == "up" and d["state"] == "docked" for d in drones):
                break
            assert time.time() < deadline, drones
            time.sleep(0.2)
        st, inc = server.api("POST", "/api/incidents", "demo-dispatcher",
                             {"kind": "person_in_water", "lat": 30.347, "lon": 120.457,
                              "source": "call-centre", "external_id": "call-77"})
        assert st == 201, inc
        assert inc["drone"] == "yg-1" and inc["route"]["type"] == "LineString"
        iid = inc["id"]
        statuses, drone_states, moved = [], [], False
        for m in messages(ws, 120):
            if m["type"] == "incident" and m["incident"]["id"] == iid:
                statuses.append(m["status"])
            elif m["type"] == "drone" and m["drone"] == "yg-1":
                drone_states.append(m["state"])
            elif m["type"] == "telemetry":
                moved |= any(d["drone"] == "yg-1" and d["alt_m"] > 30 for d in m["drones"])
            if "resolved" in statuses and drone_states and drone_states[-1] in ("charging", "docked"):
                break
        for s in ("en_route", "on_scene", "returning", "resolved"):
            assert s in statuses, (s, statuses)
        assert drone_states[-1] in ("charging", "docked"), drone_states
        assert moved, "telemetry never showed yg-1 in the air"
    st, d = server.api("GET", "/api/drones/yg-1", "demo-viewer")
    assert abs(d["lat"] - 30.404) < 0.001 and abs(d["lon"] - 120.542) < 0.001, d
    st, full = server.api("GET", f"/api/incidents/{iid}", "demo-viewer")
    assert [e["status"] for e in full["timeline"]][-1] == "resolved"
    code, out = server.stop()
    assert code == 0, out
    assert "summary: 1 resolved" in out and "no sortie was open" in out, out[-2000:]


def test_ctrl_c_mid_flight_names_the_open_sortie(server):
    st, inc = server.api("POST", "/api/incidents", "demo-dispatcher",
                         {"kind": "person_in_water", "lat": 30.347, "lon": 120.457})
    assert st in (201, 202), inc  # 202: vehicles not heard yet; the queue serves it once they are
    deadline = time.time() + 30
    while True:
        st, full = server.api("GET", f"/api/incidents/{inc['id']}", "demo-viewer")
        if full["status"] == "en_route":
            break
        assert time.time() < deadline, full
        time.sleep(0.2)
    code, out = server.stop()
    assert code == 0, out
    assert re.search(r"still out: drone yg-1 on incident #\d+ \(en_route\)", out), out[-2000:]
