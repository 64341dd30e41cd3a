"""drone-sim flown by pymavlink, an independent MAVLink implementation."""

import math
import socket
import time

from pymavlink import mavutil

from conftest import MODES, Gcs, Sim

M = mavutil.mavlink
REL = M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
YANGUAN = (30.4040, 120.5420)  # home of yg-1 (system id 11)


def metres(a, b):
    dn = (b[0] - a[0]) * 111_195.0
    de = (b[1] - a[1]) * 111_195.0 * math.cos(math.radians(a[0]))
    return math.hypot(dn, de)


def offset(p, north, east):
    return (p[0] + north / 111_195.0, p[1] + east / (111_195.0 * math.cos(math.radians(p[0]))))


def latlon(g):
    return (g.lat / 1e7, g.lon / 1e7)


def test_one_heartbeat_per_configured_vehicle(gcs, sim):
    seen = {}
    deadline = time.time() + 5
    while time.time() < deadline and len(seen) < 15:
        hb = gcs.recv("HEARTBEAT", timeout=5)
        seen[hb.get_srcSystem()] = hb
    assert sorted(seen) == [11, 12, 13, 21, 22, 31, 32, 41, 42, 51, 52, 61, 62, 71, 81]
    for hb in seen.values():
        assert hb.autopilot == M.MAV_AUTOPILOT_ARDUPILOTMEGA
        assert hb.type == M.MAV_TYPE_QUADROTOR
        assert hb.base_mode & M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
        assert not hb.base_mode & M.MAV_MODE_FLAG_SAFETY_ARMED
    # Parked in its hangar.
    g = gcs.position(11)
    assert metres(latlon(g), YANGUAN) < 1.0 and g.relative_alt < 500


def test_guided_takeoff_and_reposition_500m(gcs, sim):
    gcs.takeoff(11, 30.0)
    hb = gcs.recv("HEARTBEAT", 11, cond=lambda h: h.base_mode & M.MAV_MODE_FLAG_SAFETY_ARMED)
    assert hb.custom_mode == MODES["GUIDED"]
    target = offset(YANGUAN, 300.0, 400.0)  # 500 m away
    gcs.send(
        "command_int_send", 11, 1, REL, M.MAV_CMD_DO_REPOSITION, 0, 0,
        -1, 0, 0, 0, int(target[0] * 1e7), int(target[1] * 1e7), 30.0,
    )
    ack = gcs.recv("COMMAND_ACK", 11, cond=lambda a: a.command == M.MAV_CMD_DO_REPOSITION)
    assert ack.result == M.MAV_RESULT_ACCEPTED
    g = gcs.recv(
        "GLOBAL_POSITION_INT", 11, 30,
        cond=lambda g: metres(latlon(g), target) < 3.0 and abs(g.vx) + abs(g.vy) < 50,
    )
    assert abs(g.relative_alt / 1000.0 - 30.0) < 2.0


def test_five_item_mission_flown_in_auto(gcs, sim):
    wp1 = offset(YANGUAN, 200.0, 0.0)
    wp2 = offset(YANGUAN, 200.0, 200.0)
    items = [
        (M.MAV_CMD_NAV_WAYPOINT, REL, (0, 0, 0, 0), YANGUAN[0], YANGUAN[1], 0),  # 0: home
        (M.MAV_CMD_NAV_TAKEOFF, REL, (0, 0, 0, 0), 0, 0, 25),
        (M.MAV_CMD_NAV_WAYPOINT, REL, (0, 0, 0, 0), wp1[0], wp1[1], 25),
        (M.MAV_CMD_NAV_LOITER_TURNS, REL, (1, 0, 20, 0), wp2[0], wp2[1], 25),
        (M.MAV_CMD_DO_GRIPPER, M.MAV_FRAME_MISSION, (1, 0, 0, 0), 0, 0, 0),
        (M.MAV_CMD_NAV_RETURN_TO_LAUNCH, REL, (0, 0, 0, 0), 0, 0, 0),
    ]
    gcs.upload(11, items, drop_first_request=True)
    # Read it back: the download matches.
    gcs.send("mission_request_list_send", 11, 1, 0)
    count = gcs.recv("MISSION_COUNT", 11)
    assert count.count == len(items)
    gcs.send("mission_request_int_send", 11, 1, 3, 0)
    item = gcs.recv("MISSION_ITEM_INT", 11)
    assert item.command == M.MAV_CMD_NAV_LOITER_TURNS and item.param3 == 20
    gcs.send("mission_ack_send", 11, 1, 0, 0)

    gcs.set_mode(11, "GUIDED")
    gcs.command(11, M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    gcs.set_mode(11, "AUTO")
    seen = []
    reached = []
    deadline = time.time() + 60
    while time.time() < deadline:
        msg = gcs.recv(["MISSION_CURRENT", "MISSION_ITEM_REACHED", "STATUSTEXT", "HEARTBEAT"], 11, 60)
        t = msg.get_type()
        if t == "MISSION_CURRENT" and (not seen or seen[-1] != msg.seq):
            seen.append(msg.seq)
        elif t == "MISSION_ITEM_REACHED":
            reached.append(msg.seq)
        elif t == "HEARTBEAT" and reached and not msg.base_mode & M.MAV_MODE_FLAG_SAFETY_ARMED:
            break
    assert seen == sorted(seen) and seen[0] == 1 and seen[-1] == 5, seen
    assert {1, 2, 3, 5} <= set(reached), reached
    gcs.saw(11, "lifebuoy released")
    v = sim.vehicle(11)
    assert v["landed"] and not v["armed"] and metres((v["lat"], v["lon"]), YANGUAN) < 3.0


def test_exclusion_fence_across_the_path_ends_in_rtl(gcs, sim):
    ex = M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION
    # A band 150-250 m north of home, 400 m wide: the path north crosses it.
    corners = [offset(YANGUAN, 150, -200), offset(YANGUAN, 150, 200), offset(YANGUAN, 250, 200), offset(YANGUAN, 250, -200)]
    fence = [(ex, M.MAV_FRAME_GLOBAL, (4, 0, 0, 0), c[0], c[1], 0) for c in corners]
    gcs.upload(11, fence, mission_type=M.MAV_MISSION_TYPE_FENCE)
    gcs.takeoff(11, 30.0)
    target = offset(YANGUAN, 600.0, 0.0)
    gcs.command(11, M.MAV_CMD_DO_REPOSITION, -1, 0, 0, 0, target[0], target[1], 30)
    gcs.wait_mode(11, "RTL", timeout=30)
    gcs.saw(11, "Fence breach")
    # RTL brings it home and lands.
    gcs.recv("HEARTBEAT", 11, 60, cond=lambda h: not h.base_mode & M.MAV_MODE_FLAG_SAFETY_ARMED)
    v = sim.vehicle(11)
    assert v["landed"] and metres((v["lat"], v["lon"]), YANGUAN) < 3.0


def test_invalid_fence_is_rejected_loudly(gcs, sim):
    inc = M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
    bow = [offset(YANGUAN, 0, 0), offset(YANGUAN, 100, 100), offset(YANGUAN, 0, 100), offset(YANGUAN, 100, 0)]
    fence = [(inc, M.MAV_FRAME_GLOBAL, (4, 0, 0, 0), c[0], c[1], 0) for c in bow]
    gcs.upload(11, fence, mission_type=M.MAV_MISSION_TYPE_FENCE, expect=M.MAV_MISSION_INVALID)
    gcs.saw(11, "Fence rejected")


def test_hostile_fence_uploads_are_refused_and_the_vehicle_lives(gcs, sim):
    # The three datagrams that crashed it: MISSION_COUNT 2 (fence), a circle,
    # then a polygon vertex claiming 1e30 vertices.
    circle = M.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION
    vertex = M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION
    home = offset(YANGUAN, 0, 0)
    items = [
        (circle, M.MAV_FRAME_GLOBAL, (50, 0, 0, 0), home[0], home[1], 0),
        (vertex, M.MAV_FRAME_GLOBAL, (1e30, 0, 0, 0), home[0], home[1], 0),
    ]
    gcs.upload(11, items, mission_type=M.MAV_MISSION_TYPE_FENCE, expect=M.MAV_MISSION_INVALID)
    gcs.saw(11, "Fence rejected")
    # A NaN radius and a NaN altitude: refused with a MISSION_ACK error.
    nan = float("nan")
    gcs.upload(11, [(circle, M.MAV_FRAME_GLOBAL, (nan, 0, 0, 0), home[0], home[1], 0)],
               mission_type=M.MAV_MISSION_TYPE_FENCE, expect=M.MAV_MISSION_INVALID_PARAM1)
    wp = M.MAV_CMD_NAV_WAYPOINT
    mission = [(wp, M.MAV_FRAME_GLOBAL_RELATIVE_ALT, (0, 0, 0, 0), home[0], home[1], 0),
               (wp, M.MAV_FRAME_GLOBAL_RELATIVE_ALT, (0, 0, 0, 0), home[0], home[1], nan)]
    gcs.upload(11, mission, expect=M.MAV_MISSION_INVALID_PARAM7)
    # Still alive and answering.
    gcs.recv("HEARTBEAT", 11, 5)
    gcs.command(11, M.MAV_CMD_REQUEST_MESSAGE, 148)


def test_a_vehicle_force_disarmed_in_the_air_falls(gcs, sim):
    gcs.takeoff(11, 30.0)
    gcs.command(11, M.MAV_CMD_COMPONENT_ARM_DISARM, 0, 21196)
    gcs.saw(11, "Crash", 20)
    v = sim.vehicle(11)
    assert v["crashed"] and v["landed"]


def test_lost_ground_station_heartbeat_triggers_rtl(gcs, sim):
    gcs.takeoff(11, 30.0)
    target = offset(YANGUAN, 300.0, 0.0)
    gcs.command(11, M.MAV_CMD_DO_REPOSITION, -1, 0, 0, 0, target[0], target[1], 30)
    gcs.beating = False  # the ground station goes silent (3 s failsafe in this fixture)
    gcs.wait_mode(11, "RTL", timeout=15)
    gcs.saw(11, "GCS heartbeat lost")


def test_command_results(gcs, sim):
    # Takeoff outside GUIDED is denied; unknown mode denied; no gripper on yg-3.
    gcs.command(11, M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 30, expect=M.MAV_RESULT_DENIED)
    gcs.command(11, M.MAV_CMD_DO_SET_MODE, 1, 99, expect=M.MAV_RESULT_DENIED)
    gcs.command(13, M.MAV_CMD_DO_GRIPPER, 1, 0, expect=M.MAV_RESULT_UNSUPPORTED)
    gcs.command(11, M.MAV_CMD_DO_SET_MODE, 1, MODES["GUIDED"])
    gcs.command(11, M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 30, expect=M.MAV_RESULT_TEMPORARILY_REJECTED)
    gcs.command(11, M.MAV_CMD_MISSION_START, expect=M.MAV_RESULT_DENIED)
    gcs.command(11, M.MAV_CMD_DO_MOTOR_TEST, expect=M.MAV_RESULT_UNSUPPORTED)
    # Loudspeaker clip 2 is the tidal surge warning of the scenario.
    gcs.command(11, M.MAV_CMD_USER_1, 2)
    gcs.saw(11, "tide is coming")
    # REQUEST_MESSAGE answers with the message; SET_MESSAGE_INTERVAL changes the rate.
    gcs.command(11, M.MAV_CMD_REQUEST_MESSAGE, 148)
    gcs.recv("AUTOPILOT_VERSION", 11)
    gcs.command(11, M.MAV_CMD_REQUEST_MESSAGE, 242)
    gcs.recv("HOME_POSITION", 11)
    gcs.command(11, M.MAV_CMD_REQUEST_MESSAGE, 9999, expect=M.MAV_RESULT_UNSUPPORTED)
    gcs.command(11, M.MAV_CMD_SET_MESSAGE_INTERVAL, 33, 50_000)  # 20 Hz of sim time
    time.sleep(0.5)
    t0 = time.time()
    n = 0
    while time.time() - t0 < 1.0:
        gcs.recv("GLOBAL_POSITION_INT", 11, 2)
        n += 1
    assert n > 100, n  # 20 Hz x speedup 10 = 200 per wall second
    gcs.command(11, M.MAV_CMD_SET_MESSAGE_INTERVAL, 33, -1)
    time.sleep(0.3)
    gcs.m.recv_match(type="GLOBAL_POSITION_INT", blocking=False)  # drain what is in flight
    deadline = time.time() + 1.0
    while time.time() < deadline:
        msg = gcs.m.recv_match(type="GLOBAL_POSITION_INT", blocking=True, timeout=0.1)
        if msg is not None and msg.get_srcSystem() == 11 and time.time() > deadline - 0.5:
            raise AssertionError("position still streaming after interval -1")


def test_prearm_checks_and_injected_faults(gcs, sim):
    assert sim.control("fault 11 gps-loss").startswith("ok")
    gcs.set_mode(11, "GUIDED")
    gcs.command(11, M.MAV_CMD_COMPONENT_ARM_DISARM, 1, expect=M.MAV_RESULT_FAILED)
    gcs.saw(11, "PreArm: GPS")
    assert sim.control("clear 11").startswith("ok")
    assert sim.control("fault 12 battery 10").startswith("ok")
    gcs.set_mode(12, "GUIDED")
    gcs.command(12, M.MAV_CMD_COMPONENT_ARM_DISARM, 1, expect=M.MAV_RESULT_FAILED)
    # A drill: motor failure in flight ends on the ground, disarmed.
    gcs.takeoff(11, 20.0)
    assert sim.control("fault 11 motor-failure").startswith("ok")
    gcs.saw(11, "Crash", 20)
    assert sim.vehicle(11)["crashed"]
    assert sim.control("fault 99 gps-loss").startswith("error")
    assert sim.control("fault 11 lightning").startswith("error: unknown fault")


def test_link_drop_silences_one_vehicle(gcs, sim):
    assert sim.control("fault 21 link-drop 2").startswith("ok")
    time.sleep(0.2)
    while gcs.m.recv_match(blocking=False) is not None:
        pass  # what was sent before the drop
    t0 = time.time()
    while time.time() - t0 < 1.0:
        msg = gcs.m.recv_match(type="HEARTBEAT", blocking=True, timeout=0.2)
        assert msg is None or msg.get_srcSystem() != 21
    gcs.recv("HEARTBEAT", 21, 5)


def test_malformed_input_is_counted_and_harmless(gcs, sim):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    host, port = sim.ready["mavlink"].split(":")
    s.sendto(b"\x00\x01garbage\xfd\x09\x00", (host, int(port)))
    good = gcs.m.mav.command_long_encode(11, 1, M.MAV_CMD_REQUEST_MESSAGE, 0, 148, 0, 0, 0, 0, 0, 0)
    raw = bytearray(good.pack(gcs.m.mav))
    raw[-3] ^= 0xFF  # corrupt: bad CRC
    s.sendto(bytes(raw), (host, int(port)))
    s.close()
    time.sleep(0.3)
    bad = sim.status()["counters"]["bad_frames"]
    assert bad.get("garbage", 0) >= 1 and bad.get("bad_crc", 0) >= 1, bad
    gcs.command(11, M.MAV_CMD_REQUEST_MESSAGE, 148)


def test_extra_ground_station_on_a_vehicle_port():
    """A second ground station (as MAVProxy or QGroundControl would) on yg-1's own port."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    base = probe.getsockname()[1]
    probe.close()
    main = Gcs()
    sim = Sim(main, "--drones", "yg-1", "--listen-base", str(base))
    try:
        assert sim.ready["listen"] == [{"system_id": 11, "name": "yg-1", "port": base}]
        extra = mavutil.mavlink_connection(f"udpout:127.0.0.1:{base}", source_system=254, dialect="ardupilotmega")
        extra.mav.heartbeat_send(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0)
        hb = extra.recv_match(type="HEARTBEAT", blocking=True, timeout=5)
        assert hb is not None and hb.get_srcSystem() == 11
        extra.mav.command_long_send(11, 1, M.MAV_CMD_REQUEST_MESSAGE, 0, 148, 0, 0, 0, 0, 0, 0)
        ack = extra.recv_match(type="COMMAND_ACK", blocking=True, timeout=5)
        assert ack is not None and ack.result == M.MAV_RESULT_ACCEPTED
        # The main ground station still gets telemetry.
        main.recv("HEARTBEAT", 11, 5)
        extra.close()
    finally:
        sim.close()
        main.close()


def test_injected_packet_loss_drops_about_that_share(gcs, sim):
    def heartbeats(sysid, seconds):
        n = 0
        t0 = time.time()
        while time.time() - t0 < seconds:
            m = gcs.m.recv_match(type="HEARTBEAT", blocking=True, timeout=0.1)
            if m is not None and m.get_srcSystem() == sysid:
                n += 1
        return n

    clean = heartbeats(21, 3.0)  # 1 Hz x speedup 10: about 30
    assert sim.control("fault 21 packet-loss 50").startswith("ok")
    lossy = heartbeats(21, 3.0)
    assert clean >= 20 and 0.2 * clean <= lossy <= 0.8 * clean, (clean, lossy)
    assert sim.status()["counters"]["dropped_by_fault"] > 0


def test_one_frame_to_all_vehicles_does_not_make_them_stream_to_its_sender(sim):
    """A datagram addressed to every vehicle (no heartbeat of a ground
    station) gets no telemetry stream back; a ground-station heartbeat does,
    for a bounded number of ground stations."""
    host, port = sim.ready["mavlink"].split(":")
    probe = mavutil.mavlink_connection(f"udpout:{host}:{port}", source_system=200, dialect="ardupilotmega")
    probe.mav.command_long_send(0, 0, M.MAV_CMD_REQUEST_MESSAGE, 0, 148, 0, 0, 0, 0, 0, 0)
    t0, positions = time.time(), 0
    while time.time() - t0 < 1.5:
        m = probe.recv_match(type="GLOBAL_POSITION_INT", blocking=True, timeout=0.2)
        positions += m is not None
    assert positions == 0, positions
    # Ground stations with heartbeats: the first four on a vehicle are served.
    stations = []
    for sysid in range(240, 246):
        c = mavutil.mavlink_connection(f"udpout:{host}:{port}", source_system=sysid, dialect="ardupilotmega")
        c.mav.heartbeat_send(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0)
        stations.append(c)
    served = 0
    for c in stations:
        deadline = time.time() + 2.0
        while time.time() < deadline:
            m = c.recv_match(type="HEARTBEAT", blocking=True, timeout=0.2)
            if m is not None and m.get_srcSystem() == 11:
                served += 1
                break
    assert served == 4, served
    assert sim.status()["counters"]["ground_stations_refused"] > 0
    for c in stations:
        c.close()
    probe.close()
