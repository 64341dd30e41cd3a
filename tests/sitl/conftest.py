"""Fixtures that fly drone-sim with pymavlink as an independent ground station.

The simulator binary comes from $DRONE_SIM (scripts/test.sh builds it);
everything runs on loopback with ports chosen by the OS.
"""

import json
import os
import socket
import subprocess
import threading
import time

import pytest

os.environ.setdefault("MAVLINK20", "1")

from pymavlink import mavutil  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SIM = os.environ.get("DRONE_SIM", os.path.join(ROOT, "target", "debug", "drone-sim"))
CONFIG = os.path.join(ROOT, "config", "haining.toml")

MODES = {"STABILIZE": 0, "AUTO": 3, "GUIDED": 4, "LOITER": 5, "RTL": 6, "LAND": 9}


class Gcs:
    """A pymavlink ground station bound to loopback, with a 1 Hz heartbeat."""

    def __init__(self):
        self.m = mavutil.mavlink_connection(
            "udpin:127.0.0.1:0", source_system=255, source_component=190, dialect="ardupilotmega"
        )
        self.port = self.m.port.getsockname()[1]
        # The fleet at --speedup 10 sends ~2,400 datagrams/s; a default receive
        # buffer holds only a few hundred, and drops the rest while a test sleeps.
        self.m.port.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.lock = threading.Lock()
        self.beating = True
        self.stop = False
        self.texts = []
        self.thread = threading.Thread(target=self._beat, daemon=True)
        self.thread.start()

    def _beat(self):
        while not self.stop:
            if self.beating:
                with self.lock:
                    self.m.mav.heartbeat_send(
                        mavutil.mavlink.MAV_TYPE_GCS, mavutil.mavlink.MAV_AUTOPILOT_INVALID, 0, 0, 0
                    )
            time.sleep(0.5)

    def send(self, fn, *args):
        with self.lock:
            getattr(self.m.mav, fn)(*args)

    def recv(self, types, sysid=None, timeout=10.0, cond=None):
        """Next message of `types` from `sysid` satisfying `cond`, or fail."""
        wanted = [types] if isinstance(types, str) else list(types)
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg = self.m.recv_match(blocking=True, timeout=0.2)
            if msg is None:
                continue
            if msg.get_type() == "STATUSTEXT":
                self.texts.append((msg.get_srcSystem(), msg.text))
            if msg.get_type() not in wanted:
                continue
            if sysid is not None and msg.get_srcSystem() != sysid:
                continue
            if cond is None or cond(msg):
                return msg
        raise AssertionError(f"no {types} from {sysid} within {timeout} s")

    def saw(self, sysid, text, timeout=10.0):
        """Waits until `sysid` has sent a STATUSTEXT containing `text` (seen earlier or now)."""
        if any(s == sysid and text in t for s, t in self.texts):
            return
        self.recv("STATUSTEXT", sysid, timeout, cond=lambda m: text in m.text)

    def command(self, sysid, cmd, *params, expect=0, timeout=5.0):
        params = list(params) + [0] * (7 - len(params))
        self.send("command_long_send", sysid, 1, cmd, 0, *params)
        ack = self.recv("COMMAND_ACK", sysid, timeout, cond=lambda a: a.command == cmd)
        if expect is not None:
            assert ack.result == expect, f"command {cmd}: result {ack.result}, expected {expect}"
        return ack

    def set_mode(self, sysid, name, expect=0):
        return self.command(sysid, mavutil.mavlink.MAV_CMD_DO_SET_MODE, 1, MODES[name], expect=expect)

    def wait_mode(self, sysid, name, timeout=20.0):
        return self.recv("HEARTBEAT", sysid, timeout, cond=lambda h: h.custom_mode == MODES[name])

    def position(self, sysid, timeout=5.0):
        return self.recv("GLOBAL_POSITION_INT", sysid, timeout)

    def wait_altitude(self, sysid, at_least, timeout=30.0):
        return self.recv(
            "GLOBAL_POSITION_INT", sysid, timeout, cond=lambda g: g.relative_alt / 1000.0 >= at_least
        )

    def takeoff(self, sysid, alt=30.0):
        self.set_mode(sysid, "GUIDED")
        self.command(sysid, mavutil.mavlink.MAV_CMD_COMPONENT_ARM_DISARM, 1)
        self.command(sysid, mavutil.mavlink.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt)
        return self.wait_altitude(sysid, alt - 1.0)

    def upload(self, sysid, items, mission_type=0, expect=0, drop_first_request=False):
        """Mission protocol upload; items are (command, frame, params4, lat, lon, alt)."""
        self.send("mission_count_send", sysid, 1, len(items), mission_type)
        dropped = False
        while True:
            msg = self.recv(["MISSION_REQUEST_INT", "MISSION_ACK"], sysid, 10.0)
            if msg.get_type() == "MISSION_ACK":
                assert msg.type == expect, f"MISSION_ACK {msg.type}, expected {expect}"
                return msg
            if drop_first_request and not dropped:
                dropped = True  # pretend the request was lost: the vehicle must ask again
                continue
            cmd, frame, p, lat, lon, alt = items[msg.seq]
            self.send(
                "mission_item_int_send", sysid, 1, msg.seq, frame, cmd, 0, 1,
                p[0], p[1], p[2], p[3], int(lat * 1e7), int(lon * 1e7), alt, mission_type,
            )

    def close(self):
        self.stop = True
        self.thread.join(timeout=2)
        self.m.close()


class Sim:
    def __init__(self, gcs, *extra, env=None):
        args = [SIM, "--config", CONFIG, "--gcs", f"127.0.0.1:{gcs.port}", "--control", "127.0.0.1:0"]
        args += list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("drone-sim did not start: " + self.proc.stderr.read())
        self.ready = json.loads(line)
        host, port = self.ready["control"].split(":")
        self.ctl = socket.create_connection((host, int(port)), timeout=5)
        self.ctl_file = self.ctl.makefile("r")
        # pymavlink's udpin learns where to send from the first datagram it receives.
        gcs.recv("HEARTBEAT", timeout=10)

    def control(self, line):
        self.ctl.sendall((line + "\n").encode())
        return self.ctl_file.readline().strip()

    def status(self):
        return json.loads(self.control("status"))

    def vehicle(self, sysid):
        return next(v for v in self.status()["vehicles"] if v["system_id"] == sysid)

    def close(self):
        self.ctl.close()
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out


@pytest.fixture
def gcs():
    g = Gcs()
    yield g
    g.close()


@pytest.fixture
def sim(gcs):
    s = Sim(gcs, "--speedup", "10", "--gcs-timeout", "3")
    yield s
    s.close()
