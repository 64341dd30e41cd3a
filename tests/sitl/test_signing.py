"""MAVLink 2 message signing between the dispatcher, the simulator and
pymavlink (an independent implementation of the signing protocol)."""

import json
import os
import time

from pymavlink import mavutil

from conftest import Gcs, Sim
from test_fly import Run

KEY = bytes(range(1, 33))
ENV = dict(os.environ, DISPATCH_SIGNING_KEY=KEY.hex())
M = mavutil.mavlink
ARM = M.MAV_CMD_COMPONENT_ARM_DISARM


def refused(sim):
    return sim.status()["counters"]["signing_refused"]


def no_ack(gcs, sysid, cmd, wait=2.0):
    try:
        gcs.recv("COMMAND_ACK", sysid, wait, cond=lambda a: a.command == cmd)
    except AssertionError:
        return True
    return False


def test_a_signed_vehicle_takes_only_signed_fresh_commands_and_signs_what_it_sends():
    gcs = Gcs()
    sim = Sim(gcs, "--speedup", "10", env=ENV)
    try:
        # Unsigned: refused, no answer.
        gcs.send("command_long_send", 11, 1, ARM, 0, 1, 0, 0, 0, 0, 0, 0)
        assert no_ack(gcs, 11, ARM)
        assert refused(sim).get("unsigned", 0) >= 1, refused(sim)
        assert not sim.vehicle(11)["armed"]

        # Signed with another key: refused as a bad signature.
        gcs.m.setup_signing(bytes(32), sign_outgoing=True)
        gcs.send("command_long_send", 11, 1, ARM, 0, 1, 0, 0, 0, 0, 0, 0)
        time.sleep(1.0)
        assert refused(sim).get("bad_signature", 0) >= 1, refused(sim)
        assert not sim.vehicle(11)["armed"]

        # The fleet key: accepted. pymavlink now verifies what the vehicle
        # sends and drops anything unsigned or badly signed, so the ack and
        # heartbeats arriving prove the vehicle signs with the same key.
        gcs.m.setup_signing(KEY, sign_outgoing=True)
        hb = gcs.recv("HEARTBEAT", 11, 10)
        assert hb._signed, "the vehicle's heartbeat is not signed"
        gcs.set_mode(11, "GUIDED")

        # A replayed signed command (same bytes twice): the first is
        # executed, the copy is refused.
        before = refused(sim).get("replayed", 0)
        msg = gcs.m.mav.command_long_encode(11, 1, ARM, 0, 1, 0, 0, 0, 0, 0, 0)
        with gcs.lock:
            buf = msg.pack(gcs.m.mav)
            gcs.m.write(buf)
        gcs.recv("COMMAND_ACK", 11, 5, cond=lambda a: a.command == ARM and a.result == 0)
        with gcs.lock:
            gcs.m.write(buf)
        time.sleep(1.0)
        assert refused(sim).get("replayed", 0) == before + 1, refused(sim)
        counters = sim.status()["counters"]
        assert counters["signed_frames_in"] > 0, counters
    finally:
        sim.close()
        gcs.close()


def test_a_rescue_flies_signed_and_a_rogue_station_changes_nothing():
    # The dispatcher and the simulator share the fleet key. While yg-1 flies
    # to the casualty, a rogue station on the vehicles' network sends LOITER,
    # a forced disarm and RTL (unsigned, then signed with a guessed key), and
    # a spoofer sends unsigned "landed, battery 10 %" frames to the dispatcher.
    run = Run(["person_in_water@30.347,120.457"], env=ENV)
    rogue = spoofer = None
    try:
        run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "en_route")
        rogue = mavutil.mavlink_connection(f"udpout:{run.ready['mavlink']}", source_system=255,
                                           source_component=190, dialect="ardupilotmega")
        for key in (None, bytes([7]) * 32):
            if key is not None:
                rogue.setup_signing(key, sign_outgoing=True)
            rogue.mav.command_long_send(11, 1, M.MAV_CMD_DO_SET_MODE, 0, 1, 5, 0, 0, 0, 0, 0)
            rogue.mav.command_long_send(11, 1, ARM, 0, 0, 21196, 0, 0, 0, 0, 0)
            rogue.mav.command_long_send(11, 1, M.MAV_CMD_NAV_RETURN_TO_LAUNCH, 0, 0, 0, 0, 0, 0, 0, 0)
            rogue.mav.set_mode_send(11, M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, 6)
        spoofer = mavutil.mavlink_connection(run.mavlink.replace("udpin", "udpout"), source_system=11,
                                             source_component=1, dialect="ardupilotmega")
        for _ in range(20):
            spoofer.mav.extended_sys_state_send(0, M.MAV_LANDED_STATE_ON_GROUND)
            spoofer.mav.sys_status_send(0, 0, 0, 300, 21000, 100, 10, 0, 0, 0, 0, 0, 0)
            time.sleep(0.02)
        alert = run.wait_for(lambda e: e.get("event") == "alert" and "refused by signature checks" in e["message"])
        assert "unsigned" in alert["message"], alert
        code = run.finish()
        assert code == 0, run.fly.stderr.read()
        assert run.statuses(1) == ["assigned", "en_route", "on_scene", "returning", "resolved"], run.statuses(1)
        assert run.drone_of(1) == ["yg-1"], run.drone_of(1)
        status = json.loads(run.control("status"))
        c = status["counters"]
        assert c["signing_refused"].get("unsigned", 0) >= 4, c
        assert c["signing_refused"].get("bad_signature", 0) >= 4, c
        assert c["signed_frames_in"] > 100, c
        yg1 = next(v for v in status["vehicles"] if v["system_id"] == 11)
        assert yg1["landed"] and yg1["lifebuoy_released"], yg1
        assert "MAVLink signing on" in run.fly.stderr.read()
    finally:
        for c in (rogue, spoofer):
            if c is not None:
                c.close()
        run.close()
