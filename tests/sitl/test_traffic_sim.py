"""Manned traffic from the bundled simulator into the dispatcher, end to end:
`dispatcher serve --sim --sim-traffic config/haining-traffic.toml` with the
simulator's SBS-1 feed (`--sim-sbs-listen`) given to the dispatcher as its
ground receiver (`--sbs`). The police helicopter must be one track heard both
as ADSB_VEHICLE forwarded by the vehicles and on the SBS feed, with the
position and callsign the traffic file gives it."""

import os
import socket
import time

from conftest import ROOT
from test_serve import Server

TRAFFIC = os.path.join(ROOT, "config", "haining-traffic.toml")
HELI = "7808A1"
RIVER = ((30.36, 30.42), (120.44, 120.61))  # the helicopter's box along the river


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_simulators_traffic_reaches_the_dispatcher_as_adsb_and_sbs():
    sbs = f"127.0.0.1:{free_port()}"
    s = Server(speedup=10, args=["--sim-traffic", TRAFFIC, "--sim-sbs-listen", sbs, "--sbs", sbs])
    try:
        deadline = time.time() + 60
        heli = None
        while time.time() < deadline:
            st, picture = s.api("GET", "/api/traffic", "demo-viewer")
            assert st == 200, picture
            heli = next((t for t in picture["tracks"] if t["icao"].upper() == HELI), None)
            if heli and "sbs" in heli["sources"] and any(x.startswith("adsb:") for x in heli["sources"]):
                break
            time.sleep(0.5)
        assert heli, s.output()[-3000:]
        assert "sbs" in heli["sources"], heli
        assert any(x.startswith("adsb:") for x in heli["sources"]), heli
        assert heli["callsign"] == "B7301", heli
        assert heli["emitter"] == "rotorcraft", heli
        (lat0, lat1), (lon0, lon1) = RIVER
        assert lat0 - 0.01 <= heli["lat"] <= lat1 + 0.01 and lon0 - 0.01 <= heli["lon"] <= lon1 + 0.01, heli
        assert not heli["stale"], heli
        st, health = s.api("GET", "/api/health", "demo-viewer")
        assert st == 200, health
        print("traffic health:", health.get("traffic"))
    finally:
        s.p.kill()
        s.p.wait()
