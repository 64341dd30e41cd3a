"""drone-sim's camera components: the MAVLink camera protocol answered from
component 100, the MJPEG stream at the URI VIDEO_STREAM_INFORMATION gives,
and a still taken with MAV_CMD_IMAGE_START_CAPTURE served at its file_url."""

import time
import urllib.error
import urllib.request

from pymavlink import mavutil

M = mavutil.mavlink
CAMERA = 100
HN2 = 42  # hn-2: thermal camera only
HN1 = 41  # hn-1: thermal and zoom camera: two streams
YG1 = 11  # yg-1: no camera


def camera_command(gcs, sysid, cmd, *params, component=CAMERA):
    params = list(params) + [0] * (7 - len(params))
    gcs.send("command_long_send", sysid, component, cmd, 0, *params)
    return gcs.recv("COMMAND_ACK", sysid, 5, cond=lambda a: a.command == cmd)


def request(gcs, sysid, msg_id, p2=0):
    return camera_command(gcs, sysid, M.MAV_CMD_REQUEST_MESSAGE, msg_id, p2)


def mjpeg_frames(uri, n, timeout=10):
    """The first `n` JPEG parts of an MJPEG stream, with the response's type."""
    resp = urllib.request.urlopen(uri, timeout=timeout)
    ctype = resp.headers["Content-Type"]
    assert ctype.startswith("multipart/x-mixed-replace; boundary="), ctype
    boundary = ctype.split("boundary=", 1)[1].encode()
    frames = []
    while len(frames) < n:
        line = resp.readline()
        assert line, "stream ended"
        if line.strip() != b"--" + boundary:
            continue
        headers = {}
        while True:
            h = resp.readline().strip()
            if not h:
                break
            k, v = h.decode().split(":", 1)
            headers[k.strip().lower()] = v.strip()
        assert headers["content-type"] == "image/jpeg", headers
        frames.append(resp.read(int(headers["content-length"])))
    resp.close()
    return ctype, frames


def test_camera_information_and_stream_uri_from_the_camera_component(gcs, sim):
    listed = {c["system_id"]: c for c in sim.ready["cameras"]}
    assert YG1 not in listed and HN2 in listed and len(listed[HN1]["streams"]) == 2

    ack = request(gcs, HN2, 259)
    assert ack.result == M.MAV_RESULT_ACCEPTED and ack.get_srcComponent() == CAMERA
    info = gcs.recv("CAMERA_INFORMATION", HN2, 5)
    assert info.get_srcComponent() == CAMERA
    assert bytes(info.model_name).rstrip(b"\0") == b"SIM-IR640"
    assert (info.resolution_h, info.resolution_v) == (640, 360)
    assert info.flags & M.CAMERA_CAP_FLAGS_HAS_VIDEO_STREAM

    assert request(gcs, HN2, 269).result == M.MAV_RESULT_ACCEPTED
    vs = gcs.recv("VIDEO_STREAM_INFORMATION", HN2, 5)
    assert vs.get_srcComponent() == CAMERA
    assert vs.flags & M.VIDEO_STREAM_STATUS_FLAGS_THERMAL
    assert (vs.resolution_h, vs.resolution_v, vs.framerate) == (640, 360, 5.0)
    assert vs.uri == listed[HN2]["streams"][0]
    assert vs.uri.startswith("http://127.0.0.1:") and vs.uri.endswith("/stream.mjpg")

    # Both streams of the dual camera; the daylight one is not thermal.
    assert request(gcs, HN1, 269).result == M.MAV_RESULT_ACCEPTED
    a = gcs.recv("VIDEO_STREAM_INFORMATION", HN1, 5, cond=lambda m: m.stream_id == 1)
    b = gcs.recv("VIDEO_STREAM_INFORMATION", HN1, 5, cond=lambda m: m.stream_id == 2)
    assert not a.flags & M.VIDEO_STREAM_STATUS_FLAGS_THERMAL
    assert b.flags & M.VIDEO_STREAM_STATUS_FLAGS_THERMAL and b.uri.endswith("/thermal.mjpg")

    # A stream that does not exist is denied; a vehicle without a camera
    # has no camera to ask (its autopilot says unsupported).
    assert request(gcs, HN2, 269, 5).result == M.MAV_RESULT_DENIED
    assert request(gcs, YG1, 259).result == M.MAV_RESULT_UNSUPPORTED


def test_the_stream_uri_serves_jpeg_frames(gcs, sim):
    uri = sim.ready["cameras"][0]["streams"][0]
    start = time.time()
    ctype, frames = mjpeg_frames(uri, 6)
    took = time.time() - start
    assert len(frames) == 6
    for f in frames:
        assert f[:2] == b"\xff\xd8" and f[-2:] == b"\xff\xd9", (f[:4], f[-4:])
        assert 5_000 < len(f) < 200_000, len(f)
    # 5 frames a second: six in well under five seconds.
    assert took < 5.0, took
    status = sim.status()
    assert status["cameras"]["frames_rendered"] >= 6


def test_image_capture_is_reported_and_served(gcs, sim):
    ack = camera_command(gcs, HN2, M.MAV_CMD_IMAGE_START_CAPTURE, 0, 0, 1, 1)
    assert ack.result == M.MAV_RESULT_ACCEPTED
    cap = gcs.recv("CAMERA_IMAGE_CAPTURED", HN2, 5)
    assert cap.get_srcComponent() == CAMERA
    assert cap.image_index == 0 and cap.capture_result == 1
    pos = gcs.position(HN2)
    assert abs(cap.lat - pos.lat) < 100 and abs(cap.lon - pos.lon) < 100
    assert cap.file_url.endswith("/capture/0.jpg")
    with urllib.request.urlopen(cap.file_url, timeout=5) as r:
        assert r.headers["Content-Type"] == "image/jpeg"
        body = r.read()
    assert body[:2] == b"\xff\xd8" and body[-2:] == b"\xff\xd9"

    ack = camera_command(gcs, HN2, M.MAV_CMD_IMAGE_START_CAPTURE, 0, 0, 1, 2)
    cap = gcs.recv("CAMERA_IMAGE_CAPTURED", HN2, 5)
    assert cap.image_index == 1

    base = cap.file_url.rsplit("/capture/", 1)[0]
    try:
        urllib.request.urlopen(base + "/capture/99.jpg", timeout=5)
        raise AssertionError("a capture never taken was served")
    except urllib.error.HTTPError as e:
        assert e.code == 404
