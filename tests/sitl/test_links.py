"""Several MAVLink links on one server: the Haining fleet split over two
links, with a system id that repeats across them, flown by `dispatcher serve
--sim`; and `check-config` naming a drone on an unknown link or two drones
with the same system id on one link.
"""

import os
import re
import shutil
import subprocess
import time

from test_serve import DISPATCHER, ROOT, Server

HAINING = os.path.join(ROOT, "config", "haining.toml")


def split_config(tmp_path, edit=None):
    """haining.toml with the Yanguan drones on link `south` (yg-1 taking
    system id 21, which lyc-1 has on `north`) and the rest on `north`."""
    text = open(HAINING).read()
    out, drone = [], None
    for line in text.splitlines():
        m = re.match(r'^id = "([^"]+)"', line)
        if m:
            drone = m.group(1)
        if drone == "yg-1" and line.startswith("system_id = "):
            line = "system_id = 21"
        out.append(line)
        if line.startswith("system_id = ") and drone:
            out.append(f'link = "{"south" if drone.startswith("yg-") else "north"}"')
    out += ["", "[[link]]", 'name = "north"', "", "[[link]]", 'name = "south"', ""]
    text = "\n".join(out)
    if edit:
        text = edit(text)
    shutil.copytree(os.path.join(ROOT, "config", "zones"), tmp_path / "zones")
    path = tmp_path / "split.toml"
    path.write_text(text)
    return str(path)


def test_a_rescue_is_flown_on_the_second_of_two_links(tmp_path):
    cfg = split_config(tmp_path)
    s = Server(speedup=50, config=cfg)
    try:
        assert re.search(r"2 MAVLink links: north 127\.0\.0\.1:\d+, south 127\.0\.0\.1:\d+", s.output()), s.output()
        deadline = time.time() + 30
        while True:
            st, h = s.api("GET", "/api/health", "demo-viewer")
            if st == 200 and h["vehicles"]["link_up"] == 15:
                break
            assert time.time() < deadline, h
            time.sleep(0.3)
        links = {l["name"]: l for l in h["links"]}
        assert links["north"]["vehicles"] == 12 and links["south"]["vehicles"] == 3, links
        assert all(l["counters"]["frames"] > 0 for l in links.values()), links
        # Both system id 21s are heard, each on its own link.
        _, yg1 = s.api("GET", "/api/drones/yg-1", "demo-viewer")
        _, lyc1 = s.api("GET", "/api/drones/lyc-1", "demo-viewer")
        assert yg1["system_id"] == lyc1["system_id"] == 21
        assert yg1["link"]["status"] == lyc1["link"]["status"] == "up"
        st, inc = s.api("POST", "/api/incidents", "demo-dispatcher",
                        {"kind": "person_in_water", "lat": 30.347, "lon": 120.457})
        assert st == 201 and inc["drone"] == "yg-1", inc
        deadline = time.time() + 120
        while True:
            _, full = s.api("GET", f"/api/incidents/{inc['id']}", "demo-viewer")
            if full["status"] == "resolved":
                break
            assert full["status"] not in ("failed", "cancelled", "queued"), full
            assert time.time() < deadline, full
            time.sleep(0.5)
        # lyc-1, the other system id 21, never left its hangar.
        _, lyc1 = s.api("GET", "/api/drones/lyc-1", "demo-viewer")
        assert lyc1["state"] == "docked" and lyc1["alt_m"] == 0, lyc1
        code, out = s.stop()
        assert code == 0, out[-2000:]
    finally:
        if s.p.poll() is None:
            s.p.kill()


def check(cfg):
    return subprocess.run([DISPATCHER, "check-config", "--config", cfg], capture_output=True, text=True)


def test_check_config_names_a_drone_on_an_unknown_link_and_a_system_id_twice_on_one(tmp_path):
    ok = check(split_config(tmp_path / "a"))
    assert ok.returncode == 0 and "on 2 MAVLink link(s)" in ok.stdout, ok.stdout + ok.stderr
    bad = split_config(
        tmp_path / "b",
        lambda t: t.replace('id = "yg-2"', 'id = "yg-2"\n# moved', 1)
        .replace('link = "south"\n', 'link = "east"\n', 1)
        .replace("system_id = 22", "system_id = 21", 1),
    )
    r = check(bad)
    assert r.returncode != 0
    assert 'drone "yg-1": unknown link "east" (configured: north, south)' in r.stderr, r.stderr
    # lyc-2 given lyc-1's system id, both on north.
    assert 'drone "lyc-2": system_id 21 is already used by drone "lyc-1" on link "north"' in r.stderr, r.stderr
