"""`dispatcher serve --sim`: the drones' cameras discovered over MAVLink,
their MJPEG relayed at /api/drones/{id}/video to two viewers at once (one
of them stalled), with the token in the query; refusals say why."""

import time
import urllib.error
import urllib.request

from test_serve import Server
import pytest


@pytest.fixture
def server():
    s = Server(speedup=10)
    yield s
    if s.p.poll() is None:
        s.p.kill()
        s.p.wait()


def camera(server, drone, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, d = server.api("GET", f"/api/drones/{drone}", "demo-viewer")
        if st == 200 and d["camera"]:
            return d["camera"]
        time.sleep(0.3)
    raise AssertionError(f"no camera on {drone}")


def parts(resp, n):
    """The first `n` JPEG bodies of a multipart response."""
    out = []
    while len(out) < n:
        line = resp.readline()
        assert line, "the stream ended"
        if line.strip() != b"--dispatch-frame":
            continue
        headers = {}
        while (h := resp.readline().strip()):
            k, v = h.decode().split(":", 1)
            headers[k.lower()] = v.strip()
        assert headers["content-type"] == "image/jpeg"
        out.append(resp.read(int(headers["content-length"])))
    return out


def test_cameras_are_discovered_and_relayed_to_every_viewer(server):
    cam = camera(server, "hn-2")
    assert cam["model"] == "SIM-IR640"
    s = cam["streams"][0]
    assert (s["kind"], s["thermal"], s["width"], s["height"]) == ("mjpeg", True, 640, 360)
    url = f"{server.url}/api/drones/hn-2/video?token=demo-viewer"
    stalled = urllib.request.urlopen(url, timeout=10)  # opened and never read
    viewer = urllib.request.urlopen(url, timeout=10)
    assert viewer.headers["Content-Type"] == "multipart/x-mixed-replace; boundary=dispatch-frame"
    start = time.time()
    frames = parts(viewer, 15)
    took = time.time() - start
    for f in frames:
        assert f[:2] == b"\xff\xd8" and f[-2:] == b"\xff\xd9" and len(f) > 5000
    # 5 frames a second, the stalled viewer notwithstanding.
    assert took < 8.0, took
    viewer.close()
    stalled.close()


def test_refusals_name_the_reason(server):
    camera(server, "hn-2")
    time.sleep(2)  # yg-1 asked too, and refused
    st, d = server.api("GET", "/api/drones/yg-1", "demo-viewer")
    assert d["camera"] is None
    for path, code, reason in [
        ("/api/drones/yg-1/video?token=demo-viewer", 404, "no_camera"),
        ("/api/drones/hn-2/video?token=demo-viewer&stream=7", 404, "no_such_stream"),
        ("/api/drones/nope/video?token=demo-viewer", 404, "not_found"),
        ("/api/drones/hn-2/video", 401, "unauthorized"),
        ("/api/drones/hn-2/video?token=nope", 401, "unauthorized"),
    ]:
        try:
            urllib.request.urlopen(server.url + path, timeout=10)
            raise AssertionError(f"{path} answered")
        except urllib.error.HTTPError as e:
            import json
            body = json.loads(e.read())
            assert (e.code, body["error"]["code"]) == (code, reason), (path, body)
