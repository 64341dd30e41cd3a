"""drone-sim's airspace: the wind (WIND messages, the `wind` control command,
ground speed limited by the maximum airspeed) and played-back manned traffic
(ADSB_VEHICLE from the vehicles, the SBS-1 BaseStation feed), checked with
pymavlink and a plain socket, independently of the simulator's own code."""

import math
import os
import socket
import subprocess
import time
from datetime import datetime

from pymavlink import mavutil

from conftest import ROOT, SIM, Sim

M = mavutil.mavlink
REL = M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
YANGUAN = (30.4040, 120.5420)  # home of yg-1 (system id 11), cruise 15 m/s
TRAFFIC = os.path.join(ROOT, "config", "haining-traffic.toml")
HELI_ICAO = 0x7808A1
# The helicopter's patrol box along the river (config/haining-traffic.toml).
RIVER = ((30.36, 30.42), (120.44, 120.61))


def angle_diff(a, b):
    return abs((a - b + 180.0) % 360.0 - 180.0)


def wind_of(gcs, sysid, cond=lambda w: True, timeout=10.0):
    return gcs.recv("WIND", sysid, timeout, cond=cond)


def test_wind_is_reported_by_docked_vehicles_and_follows_the_control_command(gcs):
    sim = Sim(gcs, "--speedup", "10", "--wind", "7@135")
    try:
        # Docked in its hangar: the dock's anemometer.
        for sysid in (11, 21):
            w = wind_of(gcs, sysid)
            assert abs(w.speed - 7.0) < 0.01, w
            assert angle_diff(w.direction, 135.0) < 0.1, w
            assert w.speed_z == 0.0
        # About once a second of sim time: ten a second at --speedup 10.
        t0 = time.time()
        for _ in range(10):
            wind_of(gcs, 11)
        assert time.time() - t0 < 3.0
        status = sim.status()
        assert status["wind"] == {"speed_mps": 7.0, "from_deg": 135.0, "gust_mps": 0.0}

        reply = sim.control("wind 12@300 1.5")
        assert reply.startswith("ok wind 12 m/s from 300 deg, gusts 1.5 m/s"), reply
        # Gusts now: the reading varies about the new steady wind.
        readings = []
        deadline = time.time() + 10
        while len(readings) < 15 and time.time() < deadline:
            w = wind_of(gcs, 11)
            if angle_diff(w.direction, 135.0) > 30.0:
                readings.append(w)
        assert len(readings) == 15
        speeds = [w.speed for w in readings]
        assert 8.0 < sum(speeds) / len(speeds) < 16.0, speeds
        assert max(speeds) - min(speeds) > 0.1, speeds
        assert all(angle_diff(w.direction, 300.0) < 45.0 for w in readings), readings
        v = sim.vehicle(11)
        assert 4.0 < v["wind_mps"] < 20.0 and angle_diff(v["wind_from_deg"], 300.0) < 45.0, v
        assert sim.status()["wind"]["speed_mps"] == 12.0

        # Bad input: a clear error, and the simulator goes on.
        for bad, why in [
            ("wind 55@10", "outside 0..=40"),
            ("wind 5@east", "wind direction `east`"),
            ("wind 5", "SPEED@FROM_DEG"),
            ("wind 5@10 -1", "gust -1 m/s is outside"),
            ("wind", "expected SPEED@FROM [GUST]"),
        ]:
            reply = sim.control(bad)
            assert reply.startswith("error:") and why in reply, (bad, reply)
        assert sim.status()["wind"]["speed_mps"] == 12.0
        sim.control("wind 3@0")
        w = wind_of(gcs, 11, cond=lambda w: angle_diff(w.direction, 300.0) > 90.0)
        assert sim.status()["wind"] == {"speed_mps": 3.0, "from_deg": 0.0, "gust_mps": 1.5}
    finally:
        sim.close()


def test_minimal_streams_send_wind_only_when_asked(gcs):
    sim = Sim(gcs, "--speedup", "10", "--wind", "5@45", "--streams", "minimal")
    try:
        deadline = time.time() + 1.5
        while time.time() < deadline:
            msg = gcs.m.recv_match(type="WIND", blocking=True, timeout=0.2)
            assert msg is None, msg
        # Asked for once: one WIND, and the stream stays off.
        gcs.command(11, M.MAV_CMD_REQUEST_MESSAGE, 168)
        w = wind_of(gcs, 11, timeout=2)
        assert abs(w.speed - 5.0) < 0.01 and angle_diff(w.direction, 45.0) < 0.1
        deadline = time.time() + 1.0
        while time.time() < deadline:
            msg = gcs.m.recv_match(type="WIND", blocking=True, timeout=0.2)
            assert msg is None, msg
        # Streamed once a rate is set.
        gcs.command(11, M.MAV_CMD_SET_MESSAGE_INTERVAL, 168, 1_000_000)
        for _ in range(3):
            w = wind_of(gcs, 11, timeout=2)
            assert abs(w.speed - 5.0) < 0.01 and angle_diff(w.direction, 45.0) < 0.1
    finally:
        sim.close()


def test_a_headwind_limits_ground_speed_to_what_the_airspeed_allows(gcs):
    # 12 m/s from the north; yg-1 cruises at 15 m/s and flies at most
    # 15 x 1.34 = 20.1 m/s through the air: 8.1 m/s over the ground northwards.
    sim = Sim(gcs, "--speedup", "20", "--wind", "12@0")
    try:
        gcs.takeoff(11, 20.0)
        target = (YANGUAN[0] + 3000 / 111_195.0, YANGUAN[1])
        gcs.send(
            "command_int_send", 11, 1, REL, M.MAV_CMD_DO_REPOSITION, 0, 0,
            -1, 0, 0, 0, int(target[0] * 1e7), int(target[1] * 1e7), 20.0,
        )
        gcs.recv("COMMAND_ACK", 11, cond=lambda a: a.command == M.MAV_CMD_DO_REPOSITION and a.result == 0)
        # 40 s of sim time on the way (of the 6 minutes it needs for 3 km):
        # it never goes faster, and settles at the triangle's ground speed.
        expected = -12.0 + 20.1
        speeds = []
        deadline = time.time() + 2.0
        while time.time() < deadline:
            speeds.append(gcs.position(11).vx / 100.0)
        assert max(speeds) < expected + 0.2, speeds
        assert all(abs(s - expected) < 0.3 for s in speeds[-8:]), speeds
        hud = gcs.recv("VFR_HUD", 11)
        assert abs(hud.groundspeed - expected) < 0.3, hud
        assert abs(hud.airspeed - 20.1) < 0.3, hud
    finally:
        sim.close()


def test_traffic_is_heard_as_adsb_vehicle(gcs):
    sim = Sim(gcs, "--speedup", "20", "--traffic", TRAFFIC)
    try:
        assert sim.ready["traffic"] == 2
        heard = []
        deadline = time.time() + 10
        while len(heard) < 3 and time.time() < deadline:
            a = gcs.recv("ADSB_VEHICLE", 11, cond=lambda a: a.ICAO_address == HELI_ICAO)
            heard.append((time.time(), a))
        assert len(heard) == 3
        a = heard[0][1]
        assert a.callsign.rstrip("\x00") == "B7301"
        assert a.emitter_type == M.ADSB_EMITTER_TYPE_ROTOCRAFT
        assert a.altitude_type == M.ADSB_ALTITUDE_TYPE_GEOMETRIC
        assert 110_000 <= a.altitude <= 170_000, a.altitude
        (lat0, lat1), (lon0, lon1) = RIVER
        assert lat0 < a.lat / 1e7 < lat1 and lon0 < a.lon / 1e7 < lon1, (a.lat, a.lon)
        assert a.hor_velocity == 4000 and 0 <= a.heading < 36000
        assert a.squawk == 7000 and a.tslc == 0
        for flag in ("VALID_COORDS", "VALID_ALTITUDE", "VALID_HEADING", "VALID_VELOCITY",
                     "VALID_CALLSIGN", "VALID_SQUAWK", "VERTICAL_VELOCITY_VALID"):
            assert a.flags & getattr(M, "ADSB_FLAGS_" + flag), flag
        # It moves at 40 m/s of sim time along its track.
        (ta, a), (tb, b) = heard[0], heard[-1]
        dn = (b.lat - a.lat) / 1e7 * 111_195.0
        de = (b.lon - a.lon) / 1e7 * 111_195.0 * math.cos(math.radians(a.lat / 1e7))
        assert 30.0 < math.hypot(dn, de) < 40.0 * 20 * (tb - ta + 1.0), (dn, de)
        track = math.degrees(math.atan2(de, dn)) % 360.0
        assert angle_diff(track, a.heading / 100.0) < 20.0, (track, a.heading)
        # The light aircraft appears a minute (3 s at --speedup 20) into the run.
        light = gcs.recv("ADSB_VEHICLE", 11, 8, cond=lambda a: a.ICAO_address == 0x780ABC)
        assert light.callsign.rstrip("\x00") == "B10BT"
        assert light.emitter_type == M.ADSB_EMITTER_TYPE_LIGHT
        assert light.altitude > 500_000
        traffic = sim.status()["traffic"]
        assert {t["icao"] for t in traffic} == {"7808A1", "780ABC"}
    finally:
        sim.close()


def parse_sbs(line):
    """One BaseStation line, read as a client of dump1090's port 30003 would."""
    f = line.split(",")
    assert len(f) == 22, line
    assert f[0] == "MSG" and f[1] in "12345678", line
    for d, t in ((f[6], f[7]), (f[8], f[9])):
        datetime.strptime(f"{d} {t}", "%Y/%m/%d %H:%M:%S.%f")
    return {
        "type": int(f[1]), "hex": f[4], "callsign": f[10].strip(),
        "alt_ft": int(f[11]) if f[11] else None,
        "speed_kt": float(f[12]) if f[12] else None,
        "track": float(f[13]) if f[13] else None,
        "lat": float(f[14]) if f[14] else None,
        "lon": float(f[15]) if f[15] else None,
        "vrate_fpm": int(f[16]) if f[16] else None,
        "squawk": f[17], "ground": f[21],
    }


def test_sbs_feed_serves_every_client_and_a_stalled_one_blocks_nothing(gcs):
    sim = Sim(gcs, "--speedup", "10", "--traffic", TRAFFIC, "--sbs-listen", "127.0.0.1:0")
    stalled = gone = reader = None
    try:
        host, port = sim.ready["sbs"].split(":")
        addr = (host, int(port))
        # A client that never reads and one that goes away at once.
        stalled = socket.create_connection(addr, timeout=5)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        gone = socket.create_connection(addr, timeout=5)
        gone.close()
        reader = socket.create_connection(addr, timeout=5)
        data = b""
        deadline = time.time() + 8
        while time.time() < deadline and data.count(b"MSG,1,") < 2:
            chunk = reader.recv(65536)
            assert chunk, "feed closed"
            data += chunk
        text = data.decode("ascii")
        assert text.count("\r\n") == text.count("\n"), "CRLF line ends"
        lines = [l for l in text.split("\r\n")[:-1] if l]
        msgs = [parse_sbs(l) for l in lines]
        heli = [m for m in msgs if m["hex"] == "7808A1"]
        ident = [m for m in heli if m["type"] == 1]
        pos = [m for m in heli if m["type"] == 3]
        vel = [m for m in heli if m["type"] == 4]
        assert ident and all(m["callsign"] == "B7301" for m in ident)
        assert [m["squawk"] for m in heli if m["type"] == 6][:1] == ["7000"]
        assert len(pos) >= 5 and len(vel) >= 5
        (lat0, lat1), (lon0, lon1) = RIVER
        for m in pos:
            # 110-170 m in feet.
            assert 360 <= m["alt_ft"] <= 560, m
            assert lat0 < m["lat"] < lat1 and lon0 < m["lon"] < lon1, m
            assert m["ground"] == "0"
        for m in vel:
            # 40 m/s is 77.8 knots.
            assert abs(m["speed_kt"] - 77.8) < 1.0, m
            assert 0 <= m["track"] < 360
            assert abs(m["vrate_fpm"]) < 2000
        # The simulator stayed live all along: MAVLink still flows.
        assert sim.vehicle(11)["time_boot_s"] > 10.0
        gcs.recv("HEARTBEAT", 11, 3)
    finally:
        for s in (stalled, reader):
            if s is not None:
                s.close()
        sim.close()


def test_a_bad_traffic_file_is_refused_at_start_naming_the_aircraft_and_field(tmp_path):
    bad = tmp_path / "bad-traffic.toml"
    bad.write_text(
        '[[aircraft]]\nicao = "7808A1"\ncallsign = "B7301"\naltitude_m = 150\n'
        'speed_mps = "fast"\nwaypoints = [[30.40, 120.45], [30.41, 120.55]]\n'
    )
    p = subprocess.run(
        [SIM, "--config", os.path.join(ROOT, "config", "haining.toml"), "--traffic", str(bad),
         "--gcs", "127.0.0.1:9", "--duration", "5"],
        capture_output=True, text=True, timeout=20,
    )
    assert p.returncode != 0
    assert p.stdout == "", "refused before the ready line"
    assert str(bad) in p.stderr
    assert "aircraft 1 (icao 7808A1): field `speed_mps`: expected a number, found string" in p.stderr, p.stderr
