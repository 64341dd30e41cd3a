#!/usr/bin/env python3
"""The video relay under load: `dispatcher serve --sim` on the Haining
scenario with a camera on every one of its 15 vehicles (their first
streams: 15 cameras at 5 frames/s), VIEWERS clients on
`GET /api/drones/{id}/video` spread over the 15, and one probe per camera
reading the simulator's own stream directly, as the camera's output.

A frame's latency is when a client got it minus when the simulator made
it: each frame carries `frame N t=<Unix us>` in a JPEG comment
(simulator/src/camera/hub.rs), and all run on one machine's clock. The
probes' latency (straight from the camera) is the baseline; the viewers'
(camera -> server -> viewer) is what a browser sees. Phases, RUNS times each:

  idle      no stream watched: the server and the simulator at rest;
  probes    the 15 probes only: the cameras rendering, no relay;
  relay     probes + VIEWERS viewers through the server;
  stalled   the same, plus one viewer that connects and never reads.

For each: CPU of the server's threads and of the simulator's ("drone-sim",
"camera-render"; they share one process), the process's RSS, frames/s per
viewer, latency p50/p99/max. The stalled phase shows whether a viewer that
stops reading raises the others' latency.

usage: scripts/bench-video.py [path/to/dispatcher] [--viewers 50] [--window 20] [--runs 3]
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
SIM_THREADS = {"drone-sim", "camera-render"}
TOKEN = "demo-viewer"


def all_cameras_config(src, dst):
    """haining.toml with a zoom camera added to every drone that has none."""
    text = open(src, encoding="utf-8").read()
    out, drone = [], False
    for line in text.splitlines():
        if line.startswith("["):
            drone = line.strip() == "[[drone]]"
        m = re.match(r'^capabilities = \[(.*)\]$', line)
        if drone and m and "camera" not in m.group(1):
            caps = m.group(1).strip()
            line = f'capabilities = [{caps + ", " if caps else ""}"zoom_camera"]'
        out.append(line)
    open(dst, "w", encoding="utf-8").write("\n".join(out) + "\n")


def threads_cpu(pid):
    """CPU seconds of the simulator's threads and of the others."""
    sim = other = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                raw = f.read()
        except FileNotFoundError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        rest = raw.rsplit(")", 1)[1].split()
        s = (int(rest[11]) + int(rest[12])) / TICK
        if name in SIM_THREADS:
            sim += s
        else:
            other += s
    return sim, other


def rss_mb(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


async def mjpeg(host, port, path, headers, on_frame, stop):
    """Reads an MJPEG answer part by part (Content-Length), calling
    on_frame(bytes) per JPEG, until `stop` is set."""
    reader, writer = await asyncio.open_connection(host, port)
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"{path}: {status!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    try:
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                return
            if not line.startswith(b"--"):
                continue
            length = None
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v.strip())
            if length is None:
                raise RuntimeError(f"{path}: a part without Content-Length")
            on_frame(await reader.readexactly(length))
    finally:
        writer.close()


async def stalled(host, port, path):
    """A viewer that asks for the video and never reads it."""
    reader, writer = await asyncio.open_connection(host, port, limit=1024)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
    await writer.drain()
    return writer


def stamp_us(b):
    """The frame's time from its COM segment (`frame N t=US`), or None."""
    if b[2:4] != b"\xff\xfe":
        return None
    n = int.from_bytes(b[4:6], "big")
    m = re.search(rb"t=(\d+)", b[6:4 + n])
    return int(m.group(1)) if m else None


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def phase(name, pid, url, cams, viewers, window, stall):
    host, port = url.split("//")[1].split(":")
    port = int(port)
    stop = asyncio.Event()
    direct = []  # the probes' latencies, ms
    got = []  # the viewers' latencies, ms
    counts = [0] * viewers
    tasks = []
    if name != "idle":
        for c in cams:
            def probe(b):
                t = stamp_us(b)
                direct.append(None if t is None else time.time() * 1000 - t / 1000)
            tasks.append(asyncio.create_task(mjpeg(c["host"], c["port"], c["path"], {}, probe, stop)))
    if name in ("relay", "stalled"):
        for v in range(viewers):
            c = cams[v % len(cams)]
            def view(b, v=v):
                counts[v] += 1
                t = stamp_us(b)
                got.append((v % len(cams) == 0, None if t is None else time.time() * 1000 - t / 1000))
            path = f"/api/drones/{c['drone']}/video?stream={c['stream']}"
            tasks.append(asyncio.create_task(mjpeg(host, port, path, {"Authorization": f"Bearer {TOKEN}"}, view, stop)))
    stuck = await stalled(host, port, f"/api/drones/{cams[0]['drone']}/video?stream={cams[0]['stream']}") if stall else None
    await asyncio.sleep(3)  # connected, first frames out
    got.clear()
    direct.clear()
    counts[:] = [0] * viewers
    sim0, srv0 = threads_cpu(pid)
    t0 = time.monotonic()
    await asyncio.sleep(window)
    sim1, srv1 = threads_cpu(pid)
    dt = time.monotonic() - t0
    frames = list(got)
    probes = list(direct)
    fps = [c / dt for c in counts]
    rss = rss_mb(pid)
    stop.set()
    await asyncio.sleep(0.5)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if stuck:
        stuck.close()
    if any(x is None for _, x in frames) or None in probes:
        raise SystemExit("a frame without its time stamp: is the simulator older than its COM stamps?")
    lat = [x for _, x in frames]
    # The viewers of the camera the stalled viewer asks for too.
    same = [x for first, x in frames if first]
    r = {"phase": name, "viewers": viewers if name in ("relay", "stalled") else 0,
         "server_cpu_pct": round(100 * (srv1 - srv0) / dt, 1), "sim_cpu_pct": round(100 * (sim1 - sim0) / dt, 1),
         "rss_mb": round(rss, 1)}
    if probes:
        r.update({"direct_ms_p50": round(pct(probes, 50), 1), "direct_ms_p99": round(pct(probes, 99), 1)})
    if name in ("relay", "stalled"):
        r.update({"fps_mean": round(sum(fps) / len(fps), 2), "fps_min": round(min(fps), 2),
                  "latency_ms_p50": round(pct(lat, 50), 1), "latency_ms_p99": round(pct(lat, 99), 1),
                  "latency_ms_max": round(max(lat), 1), "frames": len(frames),
                  "stalled_cameras_viewers_p99": round(pct(same, 99), 1)})
    return r


def get(url, path):
    req = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dispatcher", nargs="?", default=os.path.join(ROOT, "target", "release", "dispatcher"))
    ap.add_argument("--viewers", type=int, default=50)
    ap.add_argument("--window", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    a.dispatcher = os.path.abspath(a.dispatcher)
    tmp = tempfile.mkdtemp(prefix="bench-video-")
    config = os.path.join(tmp, "haining-cameras.toml")
    all_cameras_config(os.path.join(ROOT, "config", "haining.toml"), config)
    # The scenario's zones file is relative to its folder.
    os.symlink(os.path.join(ROOT, "config", "zones"), os.path.join(tmp, "zones"))
    proc = subprocess.Popen(
        [a.dispatcher, "serve", "--config", config, "--listen", "127.0.0.1:0", "--sim", "--sim-speedup", "1",
         "--event-log", os.path.join(tmp, "events.sqlite"), "--web-dir", os.path.join(ROOT, "web")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp,
    )
    try:
        url = None
        end = time.time() + 60
        while url is None and time.time() < end:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit("the server stopped before it served")
            m = re.search(r"map and API at (http://[0-9.:]+)/", line)
            url = m and m.group(1)
        # Drain the server's output so that it never blocks on a full pipe.
        drain = subprocess.Popen(["cat"], stdin=proc.stdout, stdout=subprocess.DEVNULL)
        cams = []
        end = time.time() + 60
        while time.time() < end:
            drones = get(url, "/api/drones")
            withcam = [d for d in drones if d.get("camera")]
            if len(withcam) == len(drones) and drones:
                break
            time.sleep(1)
        else:
            raise SystemExit(f"only {len(withcam)} of {len(drones)} drones announced a camera within 60 s")
        for d in withcam:
            s = d["camera"]["streams"][0]
            m = re.match(r"http://([0-9.]+):(\d+)(/.*)", s["uri"])
            cams.append({"drone": d["id"], "stream": s["id"], "host": m.group(1), "port": int(m.group(2)),
                         "path": m.group(3), "key": f"{d['id']}/{s['id']}"})
        print(json.dumps({"cameras": len(cams), "viewers": a.viewers, "window_s": a.window}), flush=True)
        for run in range(a.runs):
            for name in ("idle", "probes", "relay", "stalled"):
                r = asyncio.run(phase(name, proc.pid, url, cams, a.viewers, a.window, name == "stalled"))
                r["run"] = run + 1
                print(json.dumps(r), flush=True)
        drain.kill()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
