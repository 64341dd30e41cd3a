"""Load harness for drone-sim (not part of the test suite: it measures).

  fleet    N vehicles in real time with 10 Hz position telemetry: CPU use of
           the simulator and the telemetry rate a ground station actually
           receives.
  speedup  12 vehicles at growing --speedup (minimal streams, 2 Hz position,
           so that the Python ground station keeps up): the achieved sim/wall
           ratio, and a 1 km GUIDED reposition at 30 m whose sim-time duration
           must match the real-time reference.

Usage (from the repository root, after `cargo build --release -p drone-sim`):
  .venv/bin/python tests/sitl/load.py fleet 1000
  .venv/bin/python tests/sitl/load.py speedup 1 10 50 100 200 400
"""

import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("DRONE_SIM", os.path.join(os.path.dirname(__file__), "..", "..", "target", "release", "drone-sim"))

from conftest import CONFIG, SIM, Gcs  # noqa: E402
from pymavlink import mavutil  # noqa: E402

M = mavutil.mavlink


def fleet(n, seconds=20.0, rate=10.0):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.5)
    port = rx.getsockname()[1]
    proc = subprocess.Popen(
        [SIM, "--synthetic", str(n), "--gcs", f"127.0.0.1:{port}", "--position-rate", str(rate), "--duration", str(seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    json.loads(proc.stdout.readline())
    frames = positions = 0
    warm = time.time() + 2.0  # let the fleet settle before counting
    start = end = None
    while proc.poll() is None:
        try:
            data = rx.recv(2048)
        except socket.timeout:
            continue
        now = time.time()
        if now < warm:
            continue
        if start is None:
            start = now
        end = now
        frames += 1
        # MAVLink 2: message id in bytes 7..9.
        if len(data) > 9 and data[0] == 0xFD and data[7] == 33 and data[8] == 0 and data[9] == 0:
            positions += 1
    stats = json.loads(proc.stdout.read().strip().splitlines()[-1])
    span = (end - start) if start and end else 1.0
    return {
        "vehicles": n,
        "requested_position_hz": rate,
        "sim_cpu_percent_of_one_core": round(stats["cpu_percent_of_one_core"], 1),
        "sim_frames_out_per_s": round(stats["frames_out_per_s"]),
        "received_frames_per_s": round(frames / span),
        "received_position_frames_per_s": round(positions / span),
        "received_position_hz_per_vehicle": round(positions / span / n, 2),
        "send_errors": stats["counters"]["send_errors"],
    }


def flight(speedup):
    gcs = Gcs()
    proc = subprocess.Popen(
        [SIM, "--config", CONFIG, "--gcs", f"127.0.0.1:{gcs.port}", "--speedup", str(speedup),
         "--streams", "minimal", "--position-rate", "2",
         "--drones", "yg-1,yg-2,yg-3,lyc-1,lyc-2,dq-1,dq-2,hn-1,hn-2,hy-1,hy-2,jx-1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        json.loads(proc.stdout.readline())
        first = gcs.recv("GLOBAL_POSITION_INT", 11, 10)
        w0, t0 = time.time(), first.time_boot_ms
        gcs.set_mode(11, "GUIDED")
        gcs.command(11, M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
        gcs.command(11, M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 30)
        gcs.wait_altitude(11, 29.0, timeout=600)
        target = (30.4040 + 1000 / 111_195.0, 120.5420)
        gcs.command(11, M.MAV_CMD_DO_REPOSITION, -1, 0, 0, 0, target[0], target[1], 30)
        start = gcs.recv("GLOBAL_POSITION_INT", 11, 10).time_boot_ms

        def arrived(g):
            dn = (g.lat / 1e7 - target[0]) * 111_195.0
            de = (g.lon / 1e7 - target[1]) * 111_195.0 * 0.862
            return (dn * dn + de * de) ** 0.5 < 3.0

        done = gcs.recv("GLOBAL_POSITION_INT", 11, 600, cond=arrived)
        w1 = time.time()
        achieved = (done.time_boot_ms - t0) / 1000.0 / (w1 - w0)
        return {
            "requested_speedup": speedup,
            "achieved_speedup": round(achieved, 1),
            "reposition_1km_sim_s": round((done.time_boot_ms - start) / 1000.0, 1),
            "wall_s": round(w1 - w0, 1),
        }
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
        gcs.close()


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "fleet"
    if what == "fleet":
        for n in [int(a) for a in sys.argv[2:]] or [1000]:
            print(json.dumps(fleet(n)))
    elif what == "speedup":
        for s in [float(a) for a in sys.argv[2:]] or [1, 10, 50, 100]:
            print(json.dumps(flight(s)), flush=True)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
