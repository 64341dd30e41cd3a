#!/usr/bin/env python3
"""What the simulator's cameras cost: drone-sim's CPU (utime + stime from
/proc over a window) with no stream watched, then with one viewer on every
stream, RUNS times each; the frames each viewer got.

usage: scripts/bench-camera.py [path/to/drone-sim] [--window 20] [--runs 3]
"""

import argparse
import json
import os
import subprocess
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TICK


def watch(uri, stop, counts, key):
    """Reads the MJPEG stream until `stop`, counting complete frames."""
    resp = urllib.request.urlopen(uri, timeout=10)
    buf = b""
    while not stop.is_set():
        chunk = resp.read1(65536)
        if not chunk:
            break
        buf += chunk
        while True:
            e = buf.find(b"\xff\xd9")
            if e < 0:
                break
            counts[key] += 1
            buf = buf[e + 2:]
    resp.close()


def window(pid, seconds):
    c0, t0 = cpu_s(pid), time.time()
    time.sleep(seconds)
    return 100.0 * (cpu_s(pid) - c0) / (time.time() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sim", nargs="?", default=os.path.join(ROOT, "target", "debug", "drone-sim"))
    ap.add_argument("--window", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    proc = subprocess.Popen(
        [a.sim, "--config", os.path.join(ROOT, "config", "haining.toml"), "--gcs", "127.0.0.1:9"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        ready = json.loads(proc.stdout.readline())
        uris = [u for c in ready["cameras"] for u in c["streams"]]
        time.sleep(3)
        results = []
        for run in range(a.runs):
            idle = window(proc.pid, a.window)
            stop = threading.Event()
            counts = {u: 0 for u in uris}
            threads = [threading.Thread(target=watch, args=(u, stop, counts, u), daemon=True) for u in uris]
            for t in threads:
                t.start()
            time.sleep(2)  # the viewers connected and the first frames out
            start = dict(counts)
            watched = window(proc.pid, a.window)
            fps = [(counts[u] - start[u]) / a.window for u in uris]
            stop.set()
            for t in threads:
                t.join(timeout=5)
            time.sleep(1)
            r = {"run": run + 1, "vehicles": ready["vehicles"], "streams": len(uris),
                 "cpu_pct_unwatched": round(idle, 1), "cpu_pct_watched": round(watched, 1),
                 "fps_per_viewer_min": round(min(fps), 2), "fps_per_viewer_mean": round(sum(fps) / len(fps), 2)}
            print(json.dumps(r), flush=True)
            results.append(r)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
