"""The exact MAVLink the dispatcher sends, checked by a fake vehicle written
with pymavlink (an independent implementation), including a retry when the
vehicle withholds an acknowledgement."""

import os
import subprocess
import threading
import time

os.environ.setdefault("MAVLINK20", "1")

from pymavlink import mavutil  # noqa: E402

from conftest import CONFIG  # noqa: E402
from test_fly import DISPATCHER, free_port  # noqa: E402

M = mavutil.mavlink
YANGUAN = (30.4040, 120.5420)


def test_dispatcher_speaks_the_command_and_mission_protocols():
    port = free_port()
    fly = subprocess.Popen(
        [DISPATCHER, "fly", "--config", CONFIG, "--mavlink", f"udpin:127.0.0.1:{port}", "--speedup", "50",
         "--time", "2026-09-28T13:00:00+08:00", "--json", "--timeout", "60",
         "--incident", "person_in_water@30.347,120.457"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    v = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=11, source_component=1, dialect="ardupilotmega")
    lock = threading.Lock()
    stop = False

    def beat():
        while not stop:
            with lock:
                v.mav.heartbeat_send(M.MAV_TYPE_QUADROTOR, M.MAV_AUTOPILOT_ARDUPILOTMEGA,
                                     M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, 0, M.MAV_STATE_STANDBY)
                v.mav.sys_status_send(0, 0, 0, 300, 24000, 100, 95, 0, 0, 0, 0, 0, 0)
            time.sleep(0.25)

    t = threading.Thread(target=beat, daemon=True)
    t.start()
    seen = []

    def recv(types, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = v.recv_match(blocking=True, timeout=0.2)
            if m is None or m.get_type() == "BAD_DATA":
                continue
            seen.append(m)
            # The dispatcher also asks the vehicle's camera component (100)
            # what it has (MAV_CMD_REQUEST_MESSAGE); this vehicle has none:
            # those requests go unanswered and are not the protocol under test.
            if m.get_type() == "COMMAND_LONG" and m.target_component == 100:
                continue
            if m.get_type() in types:
                return m
        raise AssertionError(f"no {types}; saw {[x.get_type() for x in seen][-20:]}")

    def answer_upload(count):
        items = []
        for seq in range(count.count):
            with lock:
                v.mav.mission_request_int_send(255, 190, seq, count.mission_type)
            it = recv(["MISSION_ITEM_INT"])
            assert it.seq == seq and it.mission_type == count.mission_type
            items.append(it)
        with lock:
            v.mav.mission_ack_send(255, 190, M.MAV_MISSION_ACCEPTED, count.mission_type)
        return items

    def ack(cmd):
        with lock:
            v.mav.command_ack_send(cmd, M.MAV_RESULT_ACCEPTED)

    try:
        hb = recv(["HEARTBEAT"])
        assert hb.type == M.MAV_TYPE_GCS and hb.get_srcSystem() == 255
        # On first sight the dispatcher asks for telemetry rates (maybe before its own heartbeat).
        rates = [m for m in seen if m.get_type() == "COMMAND_LONG"] or [recv(["COMMAND_LONG"])]
        assert rates[0].command == M.MAV_CMD_SET_MESSAGE_INTERVAL and rates[0].target_system == 11
        assert rates[0].param1 == 33 and rates[0].param2 == 500_000  # GLOBAL_POSITION_INT at 2 Hz

        # Before the uploads: the failsafe parameters, each read (for its type)
        # then set, and checked against the PARAM_VALUE that answers the set.
        for name, held, ptype, wanted in [("FS_GCS_ENABLE", 1, M.MAV_PARAM_TYPE_INT8, 4),
                                          ("FS_OPTIONS", 0, M.MAV_PARAM_TYPE_INT32, 10)]:
            read = recv(["PARAM_REQUEST_READ"])
            assert read.param_id == name and read.param_index == -1 and read.target_system == 11
            with lock:
                v.mav.param_value_send(name.encode(), held, ptype, 20, 3)
            set_ = recv(["PARAM_SET"])
            assert set_.param_id == name and set_.param_value == wanted and set_.param_type == ptype
            with lock:
                v.mav.param_value_send(name.encode(), wanted, ptype, 20, 3)

        fence_count = recv(["MISSION_COUNT"])
        assert fence_count.mission_type == M.MAV_MISSION_TYPE_FENCE and fence_count.count > 0
        fence = answer_upload(fence_count)
        for it in fence:
            assert it.command == M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION and it.param1 >= 3

        count = recv(["MISSION_COUNT"])
        assert count.mission_type == M.MAV_MISSION_TYPE_MISSION
        items = answer_upload(count)
        cmds = [i.command for i in items]
        assert abs(items[0].x / 1e7 - YANGUAN[0]) < 1e-4 and abs(items[0].y / 1e7 - YANGUAN[1]) < 1e-4  # home
        assert cmds[1] == M.MAV_CMD_NAV_TAKEOFF and items[1].z == 60
        g = cmds.index(M.MAV_CMD_DO_GRIPPER)
        assert items[g].param2 == 0  # release
        assert cmds[g + 1] == M.MAV_CMD_NAV_LOITER_TIME and items[g + 1].param1 == 120
        assert abs(items[g - 1].x / 1e7 - 30.347) < 1e-6  # over the casualty
        assert cmds[-1] == M.MAV_CMD_NAV_LAND
        assert all(i.frame == M.MAV_FRAME_GLOBAL_RELATIVE_ALT for i in items if i.command != M.MAV_CMD_DO_GRIPPER)

        mode = recv(["COMMAND_LONG"])
        while mode.command == M.MAV_CMD_SET_MESSAGE_INTERVAL:
            mode = recv(["COMMAND_LONG"])
        assert mode.command == M.MAV_CMD_DO_SET_MODE and mode.param1 == 1 and mode.param2 == 4  # GUIDED
        ack(M.MAV_CMD_DO_SET_MODE)

        arm = recv(["COMMAND_LONG"])
        assert arm.command == M.MAV_CMD_COMPONENT_ARM_DISARM and arm.param1 == 1 and arm.confirmation == 0
        # Withhold the ack: the dispatcher must send it again with confirmation 1.
        again = recv(["COMMAND_LONG"], timeout=5)
        assert again.command == M.MAV_CMD_COMPONENT_ARM_DISARM and again.confirmation == 1
        ack(M.MAV_CMD_COMPONENT_ARM_DISARM)

        start = recv(["COMMAND_LONG"])
        assert start.command == M.MAV_CMD_MISSION_START
        ack(M.MAV_CMD_MISSION_START)
    finally:
        stop = True
        fly.kill()
        fly.communicate(timeout=10)
        v.close()
