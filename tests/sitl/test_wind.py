"""Wind, end to end: `dispatcher serve --sim` with the simulator blowing
8 m/s from 248° (the way out from Yanguan to Laoyancang is into it). Once
the docked vehicles' own WIND reports have reached the dispatcher, the demo
rescue is reported through the API; the drone must arrive within 10 % of
the ETA the answer gave and land with the battery the answer promised
(within 3 points, never under the reserve). At 14 m/s the lifebuoy drones
(rated to 12) do not launch and the answer says why.
"""

import json
import time
from datetime import datetime

from test_serve import Server

RESCUE = {"kind": "person_in_water", "lat": 30.347, "lon": 120.457}


def t(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def wait_for_wind(server, speed, samples=1, at=(), timeout=60):
    """Until every hangar's wind comes from docked drones' own reports, near
    `speed`, with at least `samples` of them in the mean at the hangars `at`."""
    deadline = time.time() + timeout
    while True:
        st, field = server.api("GET", "/api/wind", "demo-viewer")
        assert st == 200, field
        if all(h["wind"] and h["wind"]["source"].startswith("drone ")
               and abs(h["wind"]["speed_mps"] - speed) < 2.5
               and (h["hangar"] not in at or h["wind"]["samples"] >= samples)
               for h in field["hangars"]):
            return field
        assert time.time() < deadline, field
        time.sleep(0.5)


def test_a_headwind_rescue_arrives_and_lands_as_the_answer_promised():
    s = Server(speedup=40, args=["--sim-wind", "8@248", "--sim-gust", "1.5"])
    try:
        # The mean of a few one-second readings in 1.5 m/s gusts is a metre
        # a second off, which moves the promise by 3 points or more: the
        # rescue is reported once the means along its way (Yanguan's three
        # drones, Laoyancang's two) are over 60 reports. At 40x the fleet
        # takes up to one report per drone per 0.1 s tick, so a 5-minute
        # window holds up to about 75 per drone: a few seconds.
        field = wait_for_wind(s, 8.0, samples=60, at=("yanguan", "laoyancang"))
        yanguan = next(h for h in field["hangars"] if h["hangar"] == "yanguan")
        assert abs(yanguan["wind"]["from_deg"] - 248) < 15, yanguan
        with s.ws() as ws:
            json.loads(ws.recv(timeout=10))  # the snapshot
            st, inc = s.api("POST", "/api/incidents", "demo-dispatcher", RESCUE)
            assert st == 201, inc
            assert inc["drone"] == "yg-1", inc
            a = inc["assignment"]
            assert a["wind"] is not None and a["wind"]["out_ground_speed_mps"] < 14.0, a["wind"]
            eta_s = a["chosen"]["eta_s"]
            promised = a["chosen"]["battery_on_landing_pct"]
            reserve = a["energy"]["reserve_pct"]
            reported = t(inc["reported_at"])
            lowest, docked = 100.0, False
            end = time.time() + 150
            while time.time() < end and not docked:
                try:
                    m = json.loads(ws.recv(timeout=5))
                except TimeoutError:
                    continue
                if m["type"] == "telemetry":
                    for d in m["drones"]:
                        if d["drone"] == "yg-1" and d["battery_pct"] is not None:
                            lowest = min(lowest, d["battery_pct"])
                elif m["type"] == "drone" and m["drone"] == "yg-1" and m["state"] in ("charging", "docked"):
                    docked = True
            assert docked, s.output()[-3000:]
        st, full = s.api("GET", f"/api/incidents/{inc['id']}", "demo-viewer")
        on_scene = next(e for e in full["timeline"] if e["status"] == "on_scene")
        flown = (t(on_scene["at"]) - reported).total_seconds()
        assert abs(flown - eta_s) <= 0.10 * eta_s, (flown, eta_s)
        assert abs(lowest - promised) <= 3.0, (lowest, promised, a["energy"], a["route"]["length_m"],
                                               a["return_route"]["length_m"], a["wind"], inc["reported_at"])
        assert lowest >= reserve, (lowest, reserve)
        print(f"ETA {eta_s:.0f} s, flown {flown:.0f} s; battery promised {promised:.1f} %, landed {lowest:.1f} %; wind {a['wind']}")
    finally:
        s.p.kill()
        s.p.wait()


def test_above_their_limit_the_lifebuoy_drones_stay_docked_and_the_answer_says_why():
    s = Server(speedup=40, args=["--sim-wind", "14@248"])
    try:
        wait_for_wind(s, 14.0)
        st, inc = s.api("POST", "/api/incidents", "demo-dispatcher", RESCUE)
        assert st == 202, inc  # accepted, waiting for a drone
        assert inc["status"] == "queued" and inc["drone"] is None, inc
        assert "wind 14" in inc["reason"] and "12.0 m/s" in inc["reason"], inc["reason"]
        time.sleep(3)
        st, drones = s.api("GET", "/api/drones", "demo-viewer")
        assert all(not d["armed"] for d in drones), [d["id"] for d in drones if d["armed"]]
        # A weather report of calm from the admin does not override the
        # drones' own measurements at the hangars (they are nearer).
        st, body = s.api("POST", "/api/weather", "demo-admin",
                         {"reports": [{"speed_mps": 2, "from_deg": 90}]})
        assert st == 200 and body == {"accepted": 1}, body
        st, body = s.api("POST", "/api/weather", "demo-dispatcher",
                         {"reports": [{"speed_mps": 2, "from_deg": 90}]})
        assert st == 403, body
        st, body = s.api("POST", "/api/weather", "demo-admin",
                         {"reports": [{"hangar": "atlantis", "speed_mps": 2, "from_deg": 90}]})
        assert st == 422 and "atlantis" in body["error"]["message"], body
        st, again = s.api("GET", f"/api/incidents/{inc['id']}", "demo-viewer")
        assert again["status"] == "queued", again
    finally:
        s.p.kill()
        s.p.wait()
