"""A drone claimed from two addresses, with signing off: a pymavlink
impostor claims yg-1's system id before the real vehicle (drone-sim) is
first heard. The dispatcher must not launch yg-1 nor send the impostor
anything once the claims collide; the rescue goes to the next capable drone
at once; an admin then binds yg-1 to the simulator's address through the API.
"""

import json
import re
import subprocess
import threading
import time

from pymavlink import mavutil

from conftest import CONFIG, SIM
from test_serve import Server


class Impostor:
    """Claims system 11 from its own socket, and records what it is sent."""

    def __init__(self, target):
        self.m = mavutil.mavlink_connection(f"udpout:{target}", source_system=11, source_component=1,
                                            dialect="ardupilotmega")
        self.received = []  # (time, message type, target system or None)
        self.stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        next_beat = 0.0
        while not self.stop:
            now = time.time()
            if now >= next_beat:
                next_beat = now + 0.5
                # An ArduCopter quad, disarmed, in its hangar at Yanguan.
                self.m.mav.heartbeat_send(2, 3, 1, 5, 3)
                self.m.mav.global_position_int_send(int(now * 1000) & 0xFFFFFFFF, 304040000, 1205420000, 5000, 0, 0, 0, 0, 0)
            msg = self.m.recv_match(blocking=True, timeout=0.05)
            if msg is not None and msg.get_type() != "BAD_DATA":
                self.received.append((time.time(), msg.get_type(), getattr(msg, "target_system", None)))

    def close(self):
        self.stop = True
        self.t.join(timeout=5)


def wait(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_drone_claimed_from_two_addresses_is_not_launched_and_gets_no_frame():
    s = Server(args=["--mavlink", "udpin:127.0.0.1:0", "--speedup", "10"])
    impostor = sim = None
    try:
        at = re.search(r"MAVLink on (127\.0\.0\.1:\d+)", s.output()).group(1)
        impostor = Impostor(at)
        time.sleep(1.5)  # the impostor is heard first: it holds the binding
        sim = subprocess.Popen([SIM, "--config", CONFIG, "--gcs", at, "--speedup", "10"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready = json.loads(sim.stdout.readline())
        real = ready["mavlink"]
        wait(lambda: "claimed from two addresses" in s.output(), 30, "the contest alert")
        contested_at = time.time()
        line = next(l for l in s.output().splitlines() if "claimed from two addresses" in l)
        assert "alert (Critical) yg-1" in line and real in line, line
        # Every other drone is heard and docked; yg-1 is out of service.
        wait(lambda: sum(d["state"] == "docked" for d in s.api("GET", "/api/drones", "demo-viewer")[1]) >= 14,
             30, "the fleet docked")
        _, yg1 = s.api("GET", "/api/drones/yg-1", "demo-viewer")
        assert yg1["state"] == "maintenance", yg1
        # A rescue that yg-1 would have flown goes to yg-2 at once.
        st, inc = s.api("POST", "/api/incidents", "demo-dispatcher",
                        {"kind": "person_in_water", "lat": 30.347, "lon": 120.457})
        assert st == 201 and inc["drone"] == "yg-2", inc
        wait(lambda: s.api("GET", f"/api/incidents/{inc['id']}", "demo-viewer")[1]["status"] == "en_route",
             60, "yg-2 en route")
        # An operator command to yg-1 is refused, not sent.
        st, r = s.api("POST", "/api/drones/yg-1/command", "demo-dispatcher", {"action": "rtl"})
        assert st == 409 and "two addresses" in r["error"]["message"], r
        time.sleep(1.0)
        # Nothing at all went to the impostor since the contest began (a
        # second of grace for frames already on their way).
        early = [r for r in impostor.received if r[0] <= contested_at]
        assert early, "the impostor hears the dispatcher (heartbeats, stream requests) before the contest"
        late = [r for r in impostor.received if r[0] > contested_at + 1.0]
        assert late == [], late
        assert not [r for r in impostor.received if r[1].startswith("MISSION") or r[1] == "PARAM_SET"], impostor.received
        # An admin binds yg-1 to the simulator's address: back in service.
        st, r = s.api("POST", "/api/drones/yg-1/bind", "demo-dispatcher", {"address": real})
        assert st == 403, r  # admin only
        st, r = s.api("POST", "/api/drones/yg-1/bind", "demo-admin", {"address": "not an address"})
        assert st == 422, r
        st, r = s.api("POST", "/api/drones/yg-1/bind", "demo-admin", {"address": real})
        assert st == 200 and real in r["message"], r
        wait(lambda: s.api("GET", "/api/drones/yg-1", "demo-viewer")[1]["state"] == "docked", 30, "yg-1 back in service")
        assert "no longer contested" in s.output()
    finally:
        if impostor:
            impostor.close()
        if sim:
            sim.kill()
            sim.wait()
        if s.p.poll() is None:
            s.p.kill()
