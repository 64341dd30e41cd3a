"""The MAVProxy recipe of docs/simulator.md, run as written: MAVProxy (from
PyPI, an independent ground station) on a vehicle's own port, commands on
its standard input once the vehicle is heard."""

import os
import queue
import subprocess
import threading
import time

import pytest

from conftest import CONFIG, SIM
from test_fly import free_port

MAVPROXY = os.path.join(os.path.dirname(os.path.abspath(os.sys.executable)), "mavproxy.py")


@pytest.mark.skipif(not os.path.exists(MAVPROXY), reason="MAVProxy is installed by scripts/test.sh")
def test_mavproxy_recipe_arms_a_vehicle_and_reads_its_parameters():
    base = free_port()
    sim = subprocess.Popen(
        [SIM, "--config", CONFIG, "--drones", "yg-1", "--gcs", f"127.0.0.1:{free_port()}",
         "--listen-base", str(base), "--control", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    proxy = None
    try:
        sim.stdout.readline()
        proxy = subprocess.Popen(
            [MAVPROXY, f"--master=udpout:127.0.0.1:{base}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=os.environ.get("TMPDIR", "/tmp"),
        )
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in proxy.stdout], daemon=True).start()
        seen = []

        def wait_for(text, timeout=30):
            deadline = time.time() + timeout
            while time.time() < deadline:
                try:
                    line = lines.get(timeout=0.2)
                except queue.Empty:
                    continue
                seen.append(line)
                if text in line:
                    return line
            raise AssertionError(f"MAVProxy never said {text!r}: {''.join(seen)[-2000:]}")

        wait_for("Detected vehicle 11")
        wait_for("Received 12 parameters")
        proxy.stdin.write("param show FS_GCS_ENABLE\n")
        proxy.stdin.flush()
        assert "FS_GCS_ENABLE" in wait_for("FS_GCS_ENABLE")
        proxy.stdin.write("mode GUIDED\n")
        proxy.stdin.flush()
        wait_for("GUIDED")
        proxy.stdin.write("arm throttle\n")
        proxy.stdin.flush()
        wait_for("COMPONENT_ARM_DISARM: ACCEPTED")
        wait_for("ARMED")
        proxy.stdin.write("disarm\n")
        proxy.stdin.flush()
        wait_for("DISARMED")
    finally:
        if proxy is not None:
            try:
                proxy.stdin.write("exit\n")
                proxy.stdin.flush()
                proxy.wait(timeout=10)
            except Exception:
                proxy.kill()
        sim.terminate()
        sim.communicate(timeout=10)
