"""Our own sorties kept apart, judged from the simulator's own positions.

Five incidents are reported at once to `dispatcher serve --sim`: two people
in the water 300 m apart at Laoyancang (yg-1 and yg-2 from one hangar,
along one way: the case where they once flew 3 m apart at one height), and
three more whose routes cross theirs. From the first report until every
drone is back, the simulator's control interface is read as fast as it
answers: at every sample every pair of drones in the air must be at least
the configured separation apart (150 m horizontally or 20 m vertically).
"""

import json
import math
import socket
import time

from test_serve import Server

INCIDENTS = [
    {"kind": "person_in_water", "lat": 30.347, "lon": 120.457},
    {"kind": "person_in_water", "lat": 30.349, "lon": 120.4598},
    {"kind": "person_in_water", "lat": 30.375, "lon": 120.60},
    {"kind": "spectator_in_danger_zone", "lat": 30.43, "lon": 120.60},
    {"kind": "forest_fire", "lat": 30.37, "lon": 120.63},
]
H_M, V_M = 150.0, 20.0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def metres(a, b):
    dn = (a["lat"] - b["lat"]) * 111_195.0
    de = (a["lon"] - b["lon"]) * 111_195.0 * math.cos(math.radians(a["lat"]))
    return math.hypot(dn, de)


def crosses(p, q, r, s):
    """Whether segment pq crosses segment rs (lon/lat as plane coordinates)."""
    def orient(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (orient(p, q, r) * orient(p, q, s) < 0) and (orient(r, s, p) * orient(r, s, q) < 0)


def routes_cross(a, b):
    for ra in (a["route"], a["return_route"]):
        for rb in (b["route"], b["return_route"]):
            ca, cb = ra["coordinates"], rb["coordinates"]
            for i in range(len(ca) - 1):
                for j in range(len(cb) - 1):
                    if crosses(ca[i], ca[i + 1], cb[j], cb[j + 1]):
                        return True
    return False


def test_five_crossing_rescues_keep_their_separation_in_the_simulator():
    port = free_port()
    s = Server(speedup=25, args=["--sim-control", f"127.0.0.1:{port}"])
    ctl = socket.create_connection(("127.0.0.1", port), timeout=10)
    ctl_file = ctl.makefile("r")

    def status():
        ctl.sendall(b"status\n")
        return json.loads(ctl_file.readline())

    try:
        deadline = time.time() + 20
        while True:
            st, drones = s.api("GET", "/api/drones", "demo-viewer")
            if all(d["link"]["status"] == "up" and d["state"] == "docked" for d in drones):
                break
            assert time.time() < deadline, drones
            time.sleep(0.2)
        answers = []
        for body in INCIDENTS:
            st, inc = s.api("POST", "/api/incidents", "demo-dispatcher", body)
            assert st == 201, (body, inc["status"], inc["reason"])
            answers.append(inc)
        drones = [a["drone"] for a in answers]
        assert len(set(drones)) == 5, drones
        assert drones[:2] == ["yg-1", "yg-2"], drones
        pairs = sum(routes_cross(a, b) for i, a in enumerate(answers) for b in answers[i + 1:])
        assert pairs >= 2, f"only {pairs} pairs of routes cross"
        # The second drone of Yanguan is separated by the plan: another layer or a later start.
        second = answers[1]["assignment"]["flight"]
        assert second["altitude_m"] != 60 or second["start_delay_s"] > 0, second
        assert second["note"], second
        ids = {d["id"]: d["system_id"] for d in s.api("GET", "/api/drones", "demo-viewer")[1]}
        ours = {ids[d] for d in drones}
        closest, samples, flying_seen = None, 0, 0
        end = time.time() + 200
        while time.time() < end:
            vs = [v for v in status()["vehicles"] if v["system_id"] in ours]
            samples += 1
            air = [v for v in vs if v["armed"] and v["alt_m"] > 2.0]
            flying_seen = max(flying_seen, len(air))
            for i, a in enumerate(air):
                for b in air[i + 1:]:
                    h, v = metres(a, b), abs(a["alt_m"] - b["alt_m"])
                    assert h >= H_M or v >= V_M, (a["name"], b["name"], round(h), round(v), a, b)
                    if closest is None or h < closest[0]:
                        closest = (h, v, a["name"], b["name"])
            if flying_seen >= 2 and not air and all(v["landed"] for v in vs):
                break
        assert flying_seen >= 4, flying_seen
        print(f"{samples} samples, up to {flying_seen} in the air, closest pair {closest}")
        for a in answers:
            f = a["assignment"]["flight"]
            print(a["drone"], f["altitude_m"], f["start_delay_s"], f["note"])
        st, all_incidents = s.api("GET", "/api/incidents", "demo-viewer")
        assert all(i["status"] in ("resolved", "returning", "on_scene") for i in all_incidents), \
            [(i["id"], i["status"], i["reason"]) for i in all_incidents]
    finally:
        ctl.close()
        s.p.kill()
        s.p.wait()
