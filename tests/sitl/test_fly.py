"""End to end: `dispatcher fly` (core + fleet manager + MAVLink link) flies
incidents on the bundled simulator over UDP loopback, in simulated time."""

import json
import os
import signal
import socket
import subprocess
import threading
import time

from conftest import CONFIG, ROOT, SIM

DISPATCHER = os.environ.get("DISPATCHER", os.path.join(ROOT, "target", "debug", "dispatcher"))
SPEEDUP = "50"
BORE_TIME = "2026-09-28T13:00:00+08:00"


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Run:
    """drone-sim and `dispatcher fly --json` side by side; events collected as they come."""

    def __init__(self, incidents, sim_args=(), fly_args=(), env=None, timeout="240"):
        port = free_port()
        self.sim = subprocess.Popen(
            [SIM, "--config", CONFIG, "--gcs", f"127.0.0.1:{port}", "--speedup", SPEEDUP, "--control", "127.0.0.1:0", *sim_args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )
        ready = json.loads(self.sim.stdout.readline())
        self.ready = ready
        self.mavlink = f"udpin:127.0.0.1:{port}"
        host, cport = ready["control"].split(":")
        self.ctl = socket.create_connection((host, int(cport)), timeout=5)
        self.ctl_file = self.ctl.makefile("r")
        args = [DISPATCHER, "fly", "--config", CONFIG, "--mavlink", f"udpin:127.0.0.1:{port}",
                "--speedup", SPEEDUP, "--time", BORE_TIME, "--json", "--timeout", timeout, *fly_args]
        for i in incidents:
            args += ["--incident", i]
        self.fly = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.events = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.fly.stdout:
            with self.lock:
                self.events.append(json.loads(line))

    def control(self, line):
        self.ctl.sendall((line + "\n").encode())
        return self.ctl_file.readline().strip()

    def wait_for(self, pred, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for e in self.events:
                    if pred(e):
                        return e
            if self.fly.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"event not seen; stderr: {self.fly.stderr.read() if self.fly.poll() is not None else ''}")

    def finish(self, timeout=240):
        code = self.fly.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return code

    def close(self):
        if self.fly.poll() is None:
            self.fly.kill()
        self.ctl.close()
        self.sim.terminate()
        self.sim.communicate(timeout=10)

    def statuses(self, incident):
        return [e["status"] for e in self.events if e.get("event") == "incident" and e["incident"] == incident]

    def drone_of(self, incident):
        """Drones assigned to the incident, in order."""
        out = []
        for e in self.events:
            if e.get("event") == "incident" and e["incident"] == incident and e["status"] == "assigned":
                out.append(e["note"].split("drone ")[1].split(" ")[0])
        return out


def test_person_in_water_at_laoyancang_is_flown_end_to_end():
    run = Run(["person_in_water@30.347,120.457"])
    try:
        code = run.finish()
        assert code == 0, run.fly.stderr.read()
        assert run.statuses(1) == ["assigned", "en_route", "on_scene", "returning", "resolved"], run.statuses(1)
        assert run.drone_of(1) == ["yg-1"]
        summary = run.events[-1]["summary"]
        assert summary["resolved"] == [1]
        (arrival,) = summary["arrivals"]
        # Both measured from the assignment (the prediction includes the
        # hangar's launch delay): within 5 % (745 s flown for 730 s predicted).
        ratio = arrival["actual_s"] / arrival["predicted_eta_s"]
        assert 0.95 <= ratio <= 1.05, arrival
        texts = [e["text"] for e in run.events if e.get("event") == "vehicle"]
        assert any("lifebuoy released" in t for t in texts), texts
        # The release is confirmed from mission progress, not from the text.
        notes = [e["note"] for e in run.events if e.get("event") == "drone" and e["drone"] == "yg-1"]
        assert any("payload released" in n and "mission item 5" in n for n in notes), notes
        states = [e["state"] for e in run.events if e.get("event") == "drone" and e["drone"] == "yg-1"]
        assert states[:2] == ["preflight", "en_route"] and "on_scene" in states, states
        assert states[-2:] == ["landing", "charging"], states
        v = json.loads(run.control("status"))
        yg1 = next(x for x in v["vehicles"] if x["system_id"] == 11)
        assert yg1["landed"] and not yg1["armed"] and yg1["lifebuoy_released"]
    finally:
        run.close()


def test_lost_link_hands_the_incident_to_the_next_drone():
    run = Run(["person_in_water@30.347,120.457"], fly_args=["--reassign-after", "1"])
    try:
        run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "en_route")
        time.sleep(1.0)
        assert run.control("fault 11 link-drop 3600").startswith("ok")
        run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "lost")
        code = run.finish()
        # The incident is resolved by yg-2, but yg-1 was never heard again:
        # the summary says so and the exit status is not success.
        assert code == 1, run.fly.stderr.read()
        drones = {d["drone"]: d for d in run.events[-1]["summary"]["drones"]}
        assert drones["yg-1"]["state"] == "lost" and not drones["yg-1"]["home"], drones
        assert drones["yg-2"]["home"], drones
        assert run.drone_of(1) == ["yg-1", "yg-2"], run.drone_of(1)
        st = run.statuses(1)
        assert st[st.index("queued"):] == ["queued", "assigned", "en_route", "on_scene", "returning", "resolved"], st
        # yg-1, set before launch to continue its mission on ground-station
        # loss, keeps flying it (its way home avoids every zone): never a
        # straight RTL, never a landing in a field.
        v = json.loads(run.control("status"))
        yg1 = next(x for x in v["vehicles"] if x["system_id"] == 11)
        assert yg1["mode"] == "AUTO" and not yg1["crashed"], yg1
    finally:
        run.close()


def vehicle(run, sysid):
    return next(x for x in json.loads(run.control("status"))["vehicles"] if x["system_id"] == sysid)


def wait_past_the_crowd(run, sysid=11, timeout=60):
    """Until the drone from Yanguan is south of the Yanguan crowd zone: from
    there the straight line home crosses the zone its fence excludes."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = vehicle(run, sysid)
        if v["alt_m"] > 20 and v["lat"] < 30.386:
            return v
        time.sleep(0.05)
    raise AssertionError(f"yg-1 never got past the crowd zone: {vehicle(run, sysid)}")


YANGUAN = (30.4040, 120.5420)


def metres_from(v, at):
    import math
    dn = (v["lat"] - at[0]) * 111_195
    de = (v["lon"] - at[1]) * 111_195 * math.cos(math.radians(at[0]))
    return math.hypot(dn, de)


def test_link_blip_on_bore_day_the_drone_still_comes_home():
    # 13:00 on bore day, the Yanguan crowd zone fenced. The link drops for
    # longer than the vehicle's ground-station timeout (5 s) but less than
    # the re-assignment delay, when the straight line home would cross the
    # crowd zone: the vehicle keeps flying its mission and lands in its hangar.
    run = Run(["person_in_water@30.347,120.457"])
    try:
        launched = run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "en_route")
        assert "FS_GCS_ENABLE=4" in launched["note"] and "FS_OPTIONS=10" in launched["note"], launched
        wait_past_the_crowd(run)
        assert run.control("fault 11 link-drop 8").startswith("ok")
        code = run.finish()
        assert code == 0, run.fly.stderr.read()
        assert run.statuses(1)[-1] == "resolved" and run.drone_of(1) == ["yg-1"], run.statuses(1)
        texts = [e["text"] for e in run.events if e.get("event") == "vehicle" and e["drone"] == "yg-1"]
        # The failsafe did trigger (its own text was lost with the link; the
        # "cleared" one comes after): the vehicle kept to its mission.
        assert any("GCS failsafe cleared" in t for t in texts), texts
        assert not any("LAND" in t or "RTL" in t for t in texts), texts
        drones = {d["drone"]: d for d in run.events[-1]["summary"]["drones"]}
        assert drones["yg-1"]["home"], drones
        v = vehicle(run, 11)
        assert v["landed"] and not v["crashed"] and metres_from(v, YANGUAN) < 30, v
    finally:
        run.close()


def test_dispatcher_killed_mid_flight_the_drone_still_comes_home():
    run = Run(["person_in_water@30.347,120.457"])
    try:
        run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "en_route")
        wait_past_the_crowd(run)
        run.fly.kill()  # SIGKILL: no goodbye to the vehicles
        run.fly.wait(timeout=10)
        deadline = time.time() + 120
        while time.time() < deadline:
            v = vehicle(run, 11)
            if v["landed"] and not v["armed"]:
                break
            time.sleep(0.2)
        assert v["landed"] and not v["crashed"], v
        assert metres_from(v, YANGUAN) < 30, v
        assert v["lifebuoy_released"], v
    finally:
        run.close()


def rogue_station(run, sysid=11):
    """A ground station nobody invited, on the vehicle's own port (--listen-base)."""
    from pymavlink import mavutil
    port = next(x["port"] for x in run.ready["listen"] if x["system_id"] == sysid)
    m = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=200, dialect="ardupilotmega")
    m.mav.heartbeat_send(6, 8, 0, 0, 0)  # MAV_TYPE_GCS, MAV_AUTOPILOT_INVALID
    return m


def test_a_rogue_loiter_is_noticed_the_incident_handed_over_and_the_drone_sent_home():
    run = Run(["person_in_water@30.347,120.457"], sim_args=["--listen-base", str(free_port())])
    try:
        run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "en_route")
        time.sleep(0.5)
        rogue = rogue_station(run)
        rogue.mav.command_long_send(11, 1, 176, 0, 1, 5, 0, 0, 0, 0, 0)  # DO_SET_MODE LOITER
        alert = run.wait_for(lambda e: e.get("event") == "alert" and "LOITER" in e["message"], timeout=30)
        assert "not commanded by the dispatcher" in alert["message"] and "commanded home" in alert["message"], alert
        # Sending it home is a link action whose outcome is an event too (in fly --json).
        home = run.wait_for(lambda e: e.get("event") == "command" and e["drone"] == "yg-1" and e["command"] == "home", timeout=30)
        assert home["ok"] and "planned way home in AUTO" in home["detail"], home
        code = run.finish()
        assert code == 0, run.fly.stderr.read()
        assert run.drone_of(1) == ["yg-1", "yg-2"], run.drone_of(1)
        assert run.statuses(1)[-1] == "resolved"
        drones = {d["drone"]: d for d in run.events[-1]["summary"]["drones"]}
        assert drones["yg-1"]["home"] and drones["yg-2"]["home"], drones
        v = vehicle(run, 11)
        assert v["landed"] and metres_from(v, YANGUAN) < 30, v
        rogue.close()
    finally:
        run.close()


def test_a_disarm_in_the_air_is_an_alert_and_a_hand_over_at_once():
    run = Run(["person_in_water@30.347,120.457"], sim_args=["--listen-base", str(free_port())])
    try:
        run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "en_route")
        wait_past_the_crowd(run)
        rogue = rogue_station(run)
        rogue.mav.command_long_send(11, 1, 400, 0, 0, 21196, 0, 0, 0, 0, 0)  # force disarm
        alert = run.wait_for(lambda e: e.get("event") == "alert" and "disarmed in the air" in e["message"], timeout=30)
        assert "goes to another drone" in alert["message"], alert
        code = run.finish()
        # yg-2 resolves the incident; yg-1 fell: not home, and the exit says so.
        assert code == 1, run.fly.stderr.read()
        assert run.drone_of(1) == ["yg-1", "yg-2"] and run.statuses(1)[-1] == "resolved"
        drones = {d["drone"]: d for d in run.events[-1]["summary"]["drones"]}
        assert drones["yg-1"]["state"] == "maintenance" and not drones["yg-1"]["home"], drones
        assert vehicle(run, 11)["crashed"]
        rogue.close()
        # A dispatcher started now finds yg-1 on the ground away from its
        # hangar: needs recovery, not docked.
        again = subprocess.Popen([DISPATCHER, "fly", "--config", CONFIG, "--mavlink", run.mavlink, "--speedup", SPEEDUP,
                                  "--time", BORE_TIME, "--json", "--timeout", "30", "--incident", "forest_fire@30.43,120.88"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            for line in again.stdout:
                e = json.loads(line)
                if e.get("event") == "drone" and e["drone"] == "yg-1":
                    assert e["state"] == "maintenance" and "needs recovery" in e["note"], e
                    break
            else:
                raise AssertionError("no start-up state for yg-1")
        finally:
            again.kill()
            again.wait(timeout=10)
    finally:
        run.close()


def test_a_sortie_that_makes_no_progress_is_handed_over():
    # A rogue station slows yg-1 to 0.1 m/s in AUTO (DO_CHANGE_SPEED): the
    # mode is ours, but the drone no longer closes in on the scene. After 30
    # scenario seconds without progress: alert, re-queue, commanded home.
    run = Run(["person_in_water@30.347,120.457"], sim_args=["--listen-base", str(free_port())],
              fly_args=["--stall-after", "30"])
    try:
        run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "en_route")
        wait_past_the_crowd(run)
        rogue = rogue_station(run)
        rogue.mav.command_long_send(11, 1, 178, 0, 1, 0.1, -1, 0, 0, 0, 0)  # DO_CHANGE_SPEED 0.1 m/s
        alert = run.wait_for(lambda e: e.get("event") == "alert" and "no progress" in e["message"], timeout=60)
        assert "yg-1" in alert["message"] and "commanded home" in alert["message"], alert
        queued = run.wait_for(lambda e: e.get("event") == "incident" and e["status"] == "queued" and "no progress" in e["note"])
        assert queued["incident"] == 1
        run.wait_for(lambda e: e.get("event") == "incident" and e["status"] == "assigned" and "yg-2" in e["note"])
        rogue.close()
    finally:
        run.close()


def test_after_a_restart_a_drone_in_the_air_is_followed_home_not_dispatched():
    run = Run(["person_in_water@30.347,120.457"])
    try:
        run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "en_route")
        wait_past_the_crowd(run)
        run.fly.send_signal(signal.SIGINT)  # Ctrl-C: the vehicle is not told anything either
        run.fly.wait(timeout=10)
        # A new dispatcher on the same link, with a new incident at the same place.
        args = [DISPATCHER, "fly", "--config", CONFIG, "--mavlink", run.mavlink, "--speedup", SPEEDUP,
                "--time", BORE_TIME, "--json", "--timeout", "240", "--incident", "person_in_water@30.347,120.457"]
        run.events.clear()
        run.fly = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        run.reader = threading.Thread(target=run._read, daemon=True)
        run.reader.start()
        seen = run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and "in the air at start-up" in e["note"])
        assert seen["state"] == "returning" and "followed home in AUTO" in seen["note"], seen
        code = run.finish()
        assert code == 0, run.fly.stderr.read()
        assert "yg-1" not in run.drone_of(1), run.drone_of(1)
        drones = {d["drone"]: d for d in run.events[-1]["summary"]["drones"]}
        assert drones["yg-1"]["home"], drones
    finally:
        run.close()


def test_rejected_arm_goes_to_an_alternative_drone():
    run = Run(["person_in_water@30.347,120.457"], sim_args=["--fault", "11:gps-loss"])
    try:
        code = run.finish()
        assert code == 0, run.fly.stderr.read()
        failed = run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "maintenance")
        assert "arm" in failed["note"] and "FAILED" in failed["note"], failed
        assert run.drone_of(1) == ["yg-1", "yg-2"]
        assert run.statuses(1)[-1] == "resolved"
    finally:
        run.close()


def test_low_battery_in_flight_returns_and_hands_over():
    run = Run(["person_in_water@30.347,120.457"])
    try:
        run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "en_route")
        time.sleep(1.0)
        assert run.control("fault 11 battery 24").startswith("ok")
        code = run.finish()
        assert code == 0, run.fly.stderr.read()
        assert run.drone_of(1) == ["yg-1", "yg-2"], run.drone_of(1)
        queued = [e for e in run.events if e.get("event") == "incident" and e["status"] == "queued" and e["incident"] == 1]
        assert queued and ("battery" in queued[-1]["note"] or "turned back" in queued[-1]["note"]), queued
        texts = [e["text"] for e in run.events if e.get("event") == "vehicle" and e["drone"] == "yg-1"]
        assert any("battery low" in t for t in texts), texts
        assert run.statuses(1)[-1] == "resolved"
    finally:
        run.close()


def test_patrol_is_preempted_for_a_spectator_and_resumes_with_another_drone():
    # 12:10 on bore day: the embankment patrol (10:30-12:30) is flying when a
    # spectator climbs over the barrier near its far end.
    global BORE_TIME
    saved, BORE_TIME = BORE_TIME, "2026-09-28T12:10:00+08:00"
    try:
        run = Run(["spectator_in_danger_zone@30.3995,120.5200+260"])
    finally:
        BORE_TIME = saved
    try:
        code = run.finish()
        assert code == 0, run.fly.stderr.read()
        dispatch = [e["output"] for e in run.events if e.get("event") == "dispatch"]
        pre = [o for o in dispatch if o["type"] == "preempted"]
        assert pre and pre[0]["to"] == 2, dispatch
        patrol = pre[0]["from"]
        preempted_drone = pre[0]["drone"]
        assert run.drone_of(2) == [preempted_drone]
        # The patrol goes back to the queue and resumes with another drone.
        assigned = run.drone_of(patrol)
        assert len(assigned) == 2 and assigned[1] != preempted_drone, assigned
        assert run.statuses(2)[-1] == "resolved"
        texts = [e["text"] for e in run.events if e.get("event") == "vehicle" and e["drone"] == preempted_drone]
        assert any("danger zone" in t for t in texts), texts
    finally:
        run.close()


def test_a_drone_whose_link_is_lost_is_not_assigned():
    # yg-1 (nearest to Laoyancang) goes silent in its hangar; the incident
    # comes 10 minutes later and must go to another drone.
    run = Run(["person_in_water@30.347,120.457+600"])
    try:
        time.sleep(1.0)
        assert run.control("fault 11 link-drop 3600").startswith("ok")
        lost = run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "lost")
        assert "not dispatchable" in lost["note"], lost
        code = run.finish()
        assert code == 0, run.fly.stderr.read()
        assert run.drone_of(1) == ["yg-2"], run.drone_of(1)
        assert run.statuses(1)[-1] == "resolved"
    finally:
        run.close()


def test_a_speedup_the_vehicles_do_not_run_at_is_refused():
    port = free_port()
    sim = subprocess.Popen([SIM, "--config", CONFIG, "--gcs", f"127.0.0.1:{port}", "--speedup", SPEEDUP],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        sim.stdout.readline()
        fly = subprocess.run([DISPATCHER, "fly", "--config", CONFIG, "--mavlink", f"udpin:127.0.0.1:{port}",
                              "--speedup", "5", "--time", BORE_TIME, "--incident", "person_in_water@30.347,120.457"],
                             capture_output=True, text=True, timeout=60)
        assert fly.returncode == 1, fly
        assert "--speedup is 5" in fly.stderr and "clock runs at" in fly.stderr, fly.stderr
        rate = float(fly.stderr.split("clock runs at ")[1].split("x")[0])
        assert 40 <= rate <= 60, fly.stderr
    finally:
        sim.terminate()
        sim.communicate(timeout=10)


def test_spoofed_telemetry_from_another_address_changes_no_decision():
    # While yg-1 flies to the casualty, a spoofer on another UDP port sends
    # frames with yg-1's system id: "disarmed, landed at the hangar, in RTL,
    # battery 10 %, mission item 60 reached". None may end the sortie, launch
    # a second drone or steal yg-1's replies.
    from pymavlink import mavutil
    run = Run(["person_in_water@30.347,120.457"])
    spoofer = None
    try:
        run.wait_for(lambda e: e.get("event") == "drone" and e["drone"] == "yg-1" and e["state"] == "en_route")
        spoofer = mavutil.mavlink_connection(run.mavlink.replace("udpin", "udpout"), source_system=11,
                                             source_component=1, dialect="ardupilotmega")
        M = mavutil.mavlink
        for i in range(40):
            spoofer.mav.heartbeat_send(M.MAV_TYPE_QUADROTOR, M.MAV_AUTOPILOT_ARDUPILOTMEGA,
                                       M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, 6, M.MAV_STATE_STANDBY)
            spoofer.mav.extended_sys_state_send(0, M.MAV_LANDED_STATE_ON_GROUND)
            spoofer.mav.mission_item_reached_send(60)
            spoofer.mav.mission_current_send(60)
            spoofer.mav.global_position_int_send(99_000, int(YANGUAN[0] * 1e7), int(YANGUAN[1] * 1e7), 5000, 0, 0, 0, 0, 0)
            spoofer.mav.sys_status_send(0, 0, 0, 300, 21000, 100, 10, 0, 0, 0, 0, 0, 0)
            time.sleep(0.05)
        alert = run.wait_for(lambda e: e.get("event") == "alert" and "claiming to be drone yg-1" in e["message"])
        assert "ignored" in alert["message"], alert
        code = run.finish()
        assert code == 0, run.fly.stderr.read()
        assert run.statuses(1) == ["assigned", "en_route", "on_scene", "returning", "resolved"], run.statuses(1)
        assert run.drone_of(1) == ["yg-1"], run.drone_of(1)
        # Nothing was ever sent to the spoofer: no heartbeat, no mission, no command.
        got = spoofer.recv_match(blocking=True, timeout=1.0)
        assert got is None, got
        v = vehicle(run, 11)
        assert v["landed"] and v["lifebuoy_released"] and metres_from(v, YANGUAN) < 30, v
    finally:
        if spoofer is not None:
            spoofer.close()
        run.close()


def test_thirty_percent_packet_loss_both_ways_the_rescue_still_flies_and_ends_home():
    # Every vehicle loses 30 % of its frames in each direction, from start-up:
    # heartbeats, stream requests, parameter reads, the fence and mission
    # uploads, the arm and the mission start all go through their protocol's
    # retries; telemetry arrives thinned. A launch may still fail (its drone
    # is then out of service in its hangar and the next drone flies): the
    # rescue is resolved all the same and every drone ends home.
    run = Run(["person_in_water@30.347,120.457"], sim_args=["--fault", "all:packet-loss:30"],
              fly_args=["--reassign-after", "30"], timeout="420")
    try:
        code = run.finish(timeout=450)
        assert code == 0, run.fly.stderr.read()
        statuses = run.statuses(1)
        assert statuses[0] == "assigned" and statuses[-3:] == ["on_scene", "returning", "resolved"], statuses
        flew = run.drone_of(1)[-1]
        # Not on time: every exchange of the launch (parameters, fence,
        # mission) waits out lost frames; measured, not asserted.
        arrival = run.events[-1]["summary"]["arrivals"][0]
        print(f"\n30 % loss: {len(run.drone_of(1))} assignment(s), {flew} on scene {arrival['actual_s']:.0f} s after its assignment (predicted {arrival['predicted_eta_s']:.0f} s)")
        sysid = {"yg-1": 11, "yg-2": 12}.get(flew)
        if sysid is not None:
            v = vehicle(run, sysid)
            assert v["landed"] and v["lifebuoy_released"] and metres_from(v, YANGUAN) < 30, v
        dropped = json.loads(run.control("status"))["counters"]["dropped_by_fault"]
        assert dropped > 100, dropped
    finally:
        run.close()
