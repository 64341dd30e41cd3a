#!/usr/bin/env python3
"""Generates the city-scale Jiaxing scenario: config/jiaxing-1000.toml and
config/jiaxing-zones.geojson.

    python3 scripts/gen-jiaxing.py          # (re)write both files
    python3 scripts/gen-jiaxing.py --check  # exit 1 if they are not up to date

About 250 hangars and exactly 1,000 drones over Jiaxing's seven districts,
cities and counties (Nanhu, Xiuzhou, Haining, Pinghu, Tongxiang, Jiashan,
Haiyan), one MAVLink link per district (a district's radio network; a district
with more than 250 drones would be split over several links). Hangars are
scattered around real towns (approximate WGS84 centres from public maps), kept
on land north of the Qiantang estuary and Hangzhou Bay shore, outside every
no-go zone and apart from each other.

Incident kinds, planning, signing, tokens, patrols and the server's rate
limits are read from config/haining.toml, and the zones file starts with the
features of config/zones/haining.geojson as they are (the bore-day closures
included), so regenerate after changing either.

Deterministic: a fixed seed and the Python 3 standard library only (3.11+ for
tomllib); the same inputs give byte-identical files.
"""

import json
import math
import random
import sys
import tomllib
from pathlib import Path

SEED = 20260928
ROOT = Path(__file__).resolve().parent.parent
HAINING_TOML = ROOT / "config" / "haining.toml"
HAINING_ZONES = ROOT / "config" / "zones" / "haining.geojson"
OUT_TOML = ROOT / "config" / "jiaxing-1000.toml"
OUT_ZONES = ROOT / "config" / "jiaxing-zones.geojson"
TOTAL_DRONES = 1000
DRONES_PER_HANGAR = (3, 5)
MAX_PER_LINK = 250  # MAVLink system ids 1..=250 on one link (0 and 255 are reserved)

# The operating region: all of Jiaxing (about 30.35..31.03 N, 120.30..121.27 E)
# plus the no-go zones the fleet must see: Hangzhou Xiaoshan airport (down to
# 30.166 N) and the Jianqiao air base control zone (west to about 120.16 E).
REGION = {"min_lat": 30.15, "min_lon": 120.15, "max_lat": 31.10, "max_lon": 121.35}

# ---- geometry in a local frame (metres), good enough at this scale ----
LAT0 = 30.6
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))


def to_m(lon, lat):
    return (lon * M_PER_DEG_LON, lat * M_PER_DEG_LAT)


def inside(pt, ring):
    """Even-odd test of (lon, lat) against a closed ring of (lon, lat)."""
    x, y = pt
    c = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            c = not c
    return c


def dist_to_line_m(pt, line):
    """Shortest distance in metres from (lon, lat) to a polyline."""
    px, py = to_m(*pt)
    best = math.inf
    for a, b in zip(line, line[1:]):
        ax, ay = to_m(*a)
        bx, by = to_m(*b)
        dx, dy = bx - ax, by - ay
        t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
        t = max(0.0, min(1.0, t))
        best = min(best, math.hypot(px - ax - t * dx, py - ay - t * dy))
    return best


def circle(lat, lon, radius_m, n=32):
    ring = []
    for i in range(n):
        a = 2 * math.pi * i / n
        ring.append(
            [
                round(lon + radius_m * math.sin(a) / M_PER_DEG_LON, 5),
                round(lat + radius_m * math.cos(a) / M_PER_DEG_LAT, 5),
            ]
        )
    ring.append(ring[0])
    return ring


def stadium(lat, lon, axis_deg, half_len_m, radius_m, n=8):
    """A runway-aligned control zone: two half circles of `radius_m` whose
    centres lie `half_len_m` either side of the airport along `axis_deg`."""
    theta = math.atan2(math.cos(math.radians(axis_deg)), math.sin(math.radians(axis_deg)))
    ring = []
    for end, start in ((1, theta - math.pi / 2), (-1, theta + math.pi / 2)):
        cx = end * half_len_m * math.cos(theta)
        cy = end * half_len_m * math.sin(theta)
        for i in range(n + 1):
            a = start + math.pi * i / n
            x = cx + radius_m * math.cos(a)
            y = cy + radius_m * math.sin(a)
            ring.append(
                [round(lon + x / M_PER_DEG_LON, 5), round(lat + y / M_PER_DEG_LAT, 5)]
            )
    ring.append(ring[0])
    return ring


# The land's southern edge, west to east: the north bank of the Qiantang river
# at Haining (the edge of the bore-day river-bed closure and the embankment
# crowds in haining.geojson), then the estuary and Hangzhou Bay shore to the
# Shanghai border, simplified by hand from the OpenStreetMap coastline
# (@geo-maps/earth-seas-10m, © OpenStreetMap contributors, ODbL) and moved
# north where that data is coarse (the Jianshan reclamation). Hangars keep
# SHORE_MARGIN_M from it, on its north (land) side.
SHORE = [
    (120.30, 30.365), (120.42, 30.352), (120.45, 30.356), (120.475, 30.366),
    (120.498, 30.378), (120.515, 30.392), (120.54, 30.398), (120.57, 30.395),
    (120.605, 30.386), (120.64, 30.378), (120.675, 30.377), (120.692, 30.394),
    (120.716, 30.386), (120.737, 30.373), (120.75, 30.362), (120.85, 30.362),
    (120.886, 30.366), (120.908, 30.376), (120.916, 30.386), (120.910, 30.399),
    (120.913, 30.409), (120.925, 30.417), (120.939, 30.415), (120.961, 30.436),
    (120.937, 30.452), (120.940, 30.460), (120.933, 30.478), (120.944, 30.506),
    (120.956, 30.515), (120.964, 30.523), (121.003, 30.556), (121.040, 30.578),
    (121.081, 30.591), (121.095, 30.592), (121.123, 30.596), (121.145, 30.603),
    (121.146, 30.618), (121.160, 30.642), (121.176, 30.645), (121.228, 30.667),
    (121.271, 30.695), (121.307, 30.700),
]
# The water side of SHORE, closed far to the south.
SEA = SHORE + [(121.40, 30.70), (121.40, 30.00), (120.20, 30.00), (120.20, 30.365), SHORE[0]]
SHORE_MARGIN_M = 1000.0
ZONE_MARGIN_M = 500.0
MIN_SPACING_M = 1000.0

# ---- districts: name, id prefix, rough extent (min_lat, max_lat, min_lon,
# max_lon), and towns: (name, lat, lon, hangars, kind). The extents keep the
# scatter inside the district; the towns' coordinates are approximate.
# Kinds choose the payload mix (see ROLES): shore = the river and bay front,
# water = canal and lake towns, urban = high-rise centres, hills = the
# Nanbei Lake hills (forest fires, by the bay), rural = the rest.
DISTRICTS = [
    ("Nanhu", "nanhu", (30.64, 30.81, 120.74, 120.91), [
        ("South Lake, old city", 30.755, 120.760, 6, "urban_water"),
        ("Dongzha", 30.760, 120.805, 4, "urban"),
        ("Nanhu new town", 30.728, 120.772, 4, "urban"),
        ("Daqiao, Jiaxing South station", 30.718, 120.815, 4, "rural"),
        ("Qixing, Xiangjiadang lake", 30.785, 120.840, 4, "water"),
        ("Yuxin", 30.735, 120.865, 4, "rural"),
        ("Xinfeng", 30.680, 120.870, 4, "rural"),
        ("Fengqiao", 30.670, 120.790, 4, "rural"),
    ]),
    ("Xiuzhou", "xiuzhou", (30.66, 30.91, 120.58, 120.84), [
        ("Xiuzhou new town", 30.775, 120.710, 6, "urban"),
        ("Wangjiangjing, Grand Canal", 30.860, 120.730, 5, "water"),
        ("Youchegang", 30.815, 120.795, 4, "water"),
        ("Xincheng", 30.825, 120.630, 4, "water"),
        ("Wangdian", 30.672, 120.718, 4, "rural"),
        ("Honghe", 30.730, 120.620, 3, "rural"),
        ("Gaozhao, Jiaxing north", 30.800, 120.745, 3, "urban"),
        ("Xiuzhou industrial park", 30.760, 120.665, 3, "rural"),
    ]),
    ("Haining", "haining", (30.33, 30.60, 120.33, 120.83), [
        ("Haizhou, city centre", 30.530, 120.680, 9, "urban"),
        ("Haichang", 30.520, 120.630, 2, "urban"),
        ("Maqiao", 30.560, 120.640, 3, "rural"),
        ("Xieqiao", 30.565, 120.595, 3, "rural"),
        ("Zhouwangmiao", 30.455, 120.585, 3, "rural"),
        ("Yanguan, Zhan'ao Pagoda viewing area", 30.410, 120.545, 5, "shore"),
        ("Chang'an", 30.465, 120.505, 5, "water"),
        ("Xucun", 30.425, 120.405, 4, "rural"),
        ("Laoyancang (returning bore)", 30.372, 120.460, 3, "shore"),
        ("Daquekou, Dingqiao (crossing bore)", 30.395, 120.670, 4, "shore"),
        ("Yuanhua", 30.450, 120.740, 4, "rural"),
        ("Huangwan, Jianshan", 30.385, 120.790, 3, "shore"),
    ]),
    ("Pinghu", "pinghu", (30.60, 30.86, 120.93, 121.26), [
        ("Danghu, city centre", 30.700, 121.015, 7, "urban_water"),
        ("Zhapu", 30.615, 121.075, 5, "shore"),
        ("Dushan port", 30.655, 121.160, 4, "shore"),
        ("Xindai", 30.790, 121.130, 4, "rural"),
        ("Guangchen", 30.735, 121.200, 3, "rural"),
        ("Caoqiao", 30.700, 120.945, 3, "rural"),
        ("Xincang", 30.765, 121.075, 3, "rural"),
        ("Lindai", 30.655, 121.055, 3, "rural"),
        ("Zhongdai", 30.730, 121.060, 2, "rural"),
    ]),
    ("Tongxiang", "tongxiang", (30.52, 30.80, 120.30, 120.66), [
        ("Wutong, city centre", 30.630, 120.565, 8, "urban"),
        ("Fengming", 30.650, 120.535, 3, "urban"),
        ("Wuzhen", 30.720, 120.495, 4, "water"),
        ("Puyuan", 30.678, 120.622, 4, "water"),
        ("Chongfu, Grand Canal", 30.535, 120.440, 4, "water"),
        ("Zhouquan", 30.605, 120.385, 3, "rural"),
        ("Heshan", 30.625, 120.450, 3, "rural"),
        ("Shimen", 30.570, 120.475, 3, "water"),
        ("Gaoqiao, Tongxiang station", 30.585, 120.545, 3, "rural"),
        ("Dama", 30.555, 120.365, 2, "rural"),
        ("Tudian", 30.605, 120.625, 3, "rural"),
    ]),
    ("Jiashan", "jiashan", (30.77, 31.02, 120.76, 121.05), [
        ("Weitang, county centre", 30.840, 120.920, 7, "urban"),
        ("Xitang", 30.945, 120.890, 5, "water"),
        ("Yaozhuang", 30.905, 121.005, 4, "water"),
        ("Taozhuang, Fenhu", 30.935, 120.815, 3, "water"),
        ("Tianning", 30.880, 120.840, 3, "rural"),
        ("Ganyao", 30.830, 120.975, 3, "rural"),
        ("Dayun", 30.795, 120.930, 3, "rural"),
        ("Huimin", 30.800, 121.000, 2, "rural"),
    ]),
    ("Haiyan", "haiyan", (30.37, 30.65, 120.76, 121.05), [
        ("Wuyuan, county centre", 30.525, 120.935, 7, "shore_urban"),
        ("Qinshan", 30.475, 120.905, 4, "shore"),
        ("Ganpu, Nanbei Lake hills", 30.415, 120.880, 5, "hills"),
        ("Tongyuan", 30.505, 120.835, 4, "rural"),
        ("Yucheng", 30.575, 120.865, 3, "rural"),
        ("Shendang", 30.600, 120.915, 3, "rural"),
        ("Xitangqiao", 30.585, 120.990, 3, "shore"),
        ("Baibu", 30.585, 120.815, 3, "rural"),
    ]),
]

# ---- payloads and performance, the mixes of haining.toml ----
# B: water rescue (lifebuoy), P: patrol and warning (loudspeaker), T: fire and
# search (thermal camera). Figures: cruise m/s, climb m/s, descent m/s,
# endurance minutes, each picked from a small spread around haining.toml's.
MIXES = {
    "B": [["lifebuoy", "loudspeaker", "spotlight"], ["lifebuoy", "loudspeaker"]],
    "P": [
        ["loudspeaker", "zoom_camera"],
        ["loudspeaker", "spotlight"],
        ["loudspeaker", "zoom_camera", "spotlight"],
    ],
    "T": [
        ["thermal_camera", "zoom_camera"],
        ["thermal_camera", "loudspeaker", "spotlight"],
        ["thermal_camera", "zoom_camera", "loudspeaker"],
        ["thermal_camera", "loudspeaker"],
    ],
}
PERFORMANCE = {
    "B": ([14, 15, 15, 16], 5, 3, [40, 45, 45, 50]),
    "P": ([16, 17, 17, 18], 6, 3, [45, 50, 50, 55]),
    "T": ([17, 18, 18, 19], 6, 4, [50, 55, 55, 60]),
}
# The roles of a hangar's drones in order (the first 3 to 5 are used); "?"
# is a lifebuoy drone at about half the rural hangars (every village in
# Jiaxing has its canals and ponds), else a patrol drone.
ROLES = {
    "shore": "BBPTB",
    "shore_urban": "BTPBT",
    "hills": "TTBPT",
    "water": "BTPTP",
    "urban_water": "TBPTB",
    "urban": "TTPTB",
    "rural": "TP?TP",
}
LAUNCH_DELAY_S = {"shore": 20, "shore_urban": 20, "hills": 20}  # others: 25


def zone_rings(features):
    return [(f["properties"]["id"], f["geometry"]["coordinates"][0]) for f in features]


def place_hangars(rng, rings):
    """Scatters the hangars around their towns; returns per district a list of
    dicts (id, name, lat, lon, kind)."""
    placed = []  # (lon, lat) of every hangar so far
    out = []
    for name, prefix, (lat0, lat1, lon0, lon1), towns in DISTRICTS:
        hangars = []
        for town, tlat, tlon, count, kind in towns:
            sigma = 1300.0 if kind.startswith("urban") else 2000.0
            for _ in range(count):
                for attempt in range(2000):
                    dx = max(-2.5, min(2.5, rng.gauss(0, 1))) * sigma
                    dy = max(-2.5, min(2.5, rng.gauss(0, 1))) * sigma
                    lon = round(tlon + dx / M_PER_DEG_LON, 4)
                    lat = round(tlat + dy / M_PER_DEG_LAT, 4)
                    p = (lon, lat)
                    if not (lat0 <= lat <= lat1 and lon0 <= lon <= lon1):
                        continue
                    if inside(p, SEA) or dist_to_line_m(p, SHORE) < SHORE_MARGIN_M:
                        continue
                    if any(
                        inside(p, ring) or dist_to_line_m(p, ring) < ZONE_MARGIN_M
                        for _, ring in rings
                    ):
                        continue
                    px, py = to_m(*p)
                    if any(
                        math.hypot(px - qx, py - qy) < MIN_SPACING_M
                        for qx, qy in (to_m(*q) for q in placed)
                    ):
                        continue
                    break
                else:
                    sys.exit(f"gen-jiaxing: no room for another hangar near {town}")
                placed.append(p)
                n = len(hangars) + 1
                hangars.append(
                    {
                        "id": f"{prefix}-{n:03d}",
                        "name": f"{name} {n:03d}, {town}",
                        "lat": lat,
                        "lon": lon,
                        "kind": kind,
                    }
                )
        out.append((name, prefix, hangars))
    return out


def drone_counts(rng, n_hangars):
    lo, hi = DRONES_PER_HANGAR
    counts = [rng.choice([3, 4, 4, 5]) for _ in range(n_hangars)]
    while sum(counts) != TOTAL_DRONES:
        i = rng.randrange(n_hangars)
        if sum(counts) < TOTAL_DRONES and counts[i] < hi:
            counts[i] += 1
        elif sum(counts) > TOTAL_DRONES and counts[i] > lo:
            counts[i] -= 1
    return counts


def q(s):
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(s, ensure_ascii=False)


def value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return q(v)
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def table(lines, header, d):
    lines.append(header)
    for k, v in d.items():
        lines.append(f"{k} = {value(v)}")
    lines.append("")


def coord(v):
    return f"{v:.4f}"


def build():
    rng = random.Random(SEED)
    base = tomllib.loads(HAINING_TOML.read_text(encoding="utf-8"))
    haining_zones = json.loads(HAINING_ZONES.read_text(encoding="utf-8"))

    # ---- zones: Haining's as they are, and the permanent ones of Jiaxing ----
    extra = [
        {
            "type": "Feature",
            "properties": {
                "id": "jiaxing-airbase",
                "name": "Jiaxing air base (Jiaxing Nanhu airport), Honghe",
                "name_zh": "嘉兴机场（嘉兴南湖机场），洪合",
                "kind": "military",
                "floor_m": 0,
                "ceiling_m": 10000,
                "rescue_exempt": False,
                "note": "PLA Air Force base, dual use since 2025; 4 km around the field at 30.707, 120.681",
            },
            "geometry": {"type": "Polygon", "coordinates": [circle(30.707, 120.681, 4000)]},
        },
        {
            "type": "Feature",
            "properties": {
                "id": "jianqiao-airbase",
                "name": "Hangzhou Jianqiao air base control zone",
                "name_zh": "杭州笕桥机场管制区",
                "kind": "military",
                "floor_m": 0,
                "ceiling_m": 10000,
                "rescue_exempt": False,
                "note": "PLA Air Force base west of Haining, runway 07/25; stadium 14 km x 8 km along 070",
            },
            "geometry": {
                "type": "Polygon",
                "coordinates": [stadium(30.333, 120.239, 70, 3000, 4000)],
            },
        },
    ]
    zones = {"type": "FeatureCollection", "features": haining_zones["features"] + extra}
    zones_text = json.dumps(zones, indent=1, ensure_ascii=False) + "\n"
    rings = zone_rings(zones["features"])

    districts = place_hangars(rng, rings)
    n_hangars = sum(len(h) for _, _, h in districts)
    counts = iter(drone_counts(rng, n_hangars))

    # ---- drones per district, then links of at most MAX_PER_LINK ----
    links = []  # (name, district, [drone dicts])
    hangar_rows = []
    per_district = []
    for name, prefix, hangars in districts:
        drones = []
        for h in hangars:
            n = next(counts)
            h["slots"] = n + (1 if rng.random() < 0.3 else 0)
            roles = ROLES[h["kind"]][:n]
            for k, role in enumerate(roles, start=1):
                if role == "?":
                    role = "B" if rng.random() < 0.5 else "P"
                speeds, climb, descent, endurances = PERFORMANCE[role]
                drones.append(
                    {
                        "id": f"{h['id']}-{k}",
                        "hangar": h["id"],
                        "capabilities": rng.choice(MIXES[role]),
                        "cruise_speed_mps": rng.choice(speeds),
                        "climb_rate_mps": climb,
                        "descent_rate_mps": descent,
                        "endurance_min": rng.choice(endurances),
                    }
                )
        hangar_rows.append((name, hangars))
        per_district.append((name, len(hangars), len(drones)))
        parts = math.ceil(len(drones) / MAX_PER_LINK)
        size = math.ceil(len(drones) / parts)
        for p in range(parts):
            chunk = drones[p * size : (p + 1) * size]
            lname = f"jx-{prefix}" if parts == 1 else f"jx-{prefix}-{p + 1}"
            for sysid, d in enumerate(chunk, start=1):
                d["system_id"] = sysid
                d["link"] = lname
            links.append((lname, name, chunk))

    total = sum(len(c) for _, _, c in links)
    assert total == TOTAL_DRONES, total

    # ---- the TOML ----
    L = []
    L.append("# GENERATED FILE, do not edit: python3 scripts/gen-jiaxing.py writes it and")
    L.append("# jiaxing-zones.geojson (`--check` tells whether they are up to date). It reads")
    L.append("# config/haining.toml and config/zones/haining.geojson: regenerate after changing")
    L.append("# them. City-scale scenario: all of Jiaxing, Zhejiang.")
    L.append("#")
    L.append(f"# {n_hangars} hangars and {total} drones on {len(links)} MAVLink links (one per district):")
    for dname, nh, nd in per_district:
        L.append(f"#   {dname:<10} {nh:3d} hangars {nd:4d} drones")
    L.append("# Coordinates are approximate (WGS84), scattered around real towns; hangars")
    L.append("# stay on land north of the Qiantang estuary and Hangzhou Bay shore.")
    L.append("")
    L.append("[scenario]")
    L.append(f"name = {q(f'Jiaxing city-wide fleet: {n_hangars} hangars, {total} drones (bore day 2026-09-28)')}")
    L.append(f"name_zh = {q(f'嘉兴全市机队：{n_hangars} 个机库，{total} 架无人机（2026-09-28 大潮日）')}")
    if "time_zone" in base["scenario"]:
        L.append("# The zone the map writes times in, as in haining.toml.")
        L.append(f"time_zone = {q(base['scenario']['time_zone'])}")
    L.append(f"zones = {q(OUT_ZONES.name)}")
    L.append("# Operating region: everything (hangars, zones, incidents) must lie inside.")
    L.append(f"region = {value(REGION)}")
    L.append("")
    table(L, "[planning]", base.get("planning", {}))
    if "signing" in base:
        L.append("# ---- MAVLink 2 message signing (docs/security.md), as in haining.toml ----")
        table(L, "[signing]", base["signing"])
    L.append("# ---- incident kinds, as in haining.toml ----")
    for kind, k in base["kinds"].items():
        table(L, f"[kinds.{kind}]", k)

    L.append("# ---- MAVLink links: one radio network per district, system ids 1..=250 on")
    L.append("# each (they repeat across links). `serve --sim` picks free ports itself;")
    L.append("# give `address` to open a fixed one.")
    for i, (lname, dname, chunk) in enumerate(links):
        L.append("[[link]]")
        L.append(f"name = {q(lname)}")
        L.append(f"# {dname}: {len(chunk)} drones, system ids 1..={len(chunk)}")
        L.append(f'# address = "udpin:127.0.0.1:{14561 + i}"')
        L.append("")

    L.append("# ---- hangars ----")
    for dname, hangars in hangar_rows:
        L.append(f"# {dname}")
        for h in hangars:
            L.append("[[hangar]]")
            L.append(f"id = {q(h['id'])}")
            L.append(f"name = {q(h['name'])}")
            L.append(f"lat = {coord(h['lat'])}")
            L.append(f"lon = {coord(h['lon'])}")
            L.append(f"slots = {h['slots']}")
            L.append(f"launch_delay_s = {LAUNCH_DELAY_S.get(h['kind'], 25)}")
            L.append("")

    L.append("# ---- drones: system ids are the MAVLink system ids on their link ----")
    for lname, dname, chunk in links:
        L.append(f"# {dname}, link {lname}")
        for d in chunk:
            L.append("[[drone]]")
            for key in (
                "id", "hangar", "link", "system_id", "capabilities", "cruise_speed_mps",
                "climb_rate_mps", "descent_rate_mps", "endurance_min",
            ):
                L.append(f"{key} = {value(d[key])}")
            L.append("")

    if base.get("patrol"):
        L.append("# ---- patrols, as in haining.toml ----")
        for p in base["patrol"]:
            L.append("[[patrol]]")
            for k, v in p.items():
                if k == "waypoints":
                    L.append("waypoints = [")
                    for w in v:
                        L.append(f"  {value(w)},")
                    L.append("]")
                else:
                    L.append(f"{k} = {value(v)}")
            L.append("")

    server = dict(base.get("server", {}))
    server["event_log"] = "../var/jiaxing-events.sqlite"
    L.append("# ---- dispatch server ----")
    L.append("[server]")
    L.append('# tile_url = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"')
    L.append('# tile_attribution = "© OpenStreetMap contributors"')
    L.append("# The durable event log (SQLite; relative to this file). `serve --event-log` overrides.")
    for k, v in server.items():
        L.append(f"{k} = {value(v)}")
    L.append("")
    L.append("# Demo access tokens, as in haining.toml. Use your own in production, or set")
    L.append('# them in the environment: DISPATCH_TOKENS="role:token,role:token".')
    for t in base.get("token", []):
        table(L, "[[token]]", t)
    toml_text = "\n".join(L).rstrip("\n") + "\n"
    return toml_text, zones_text


def main():
    check = "--check" in sys.argv[1:]
    toml_text, zones_text = build()
    stale = []
    for path, text in ((OUT_TOML, toml_text), (OUT_ZONES, zones_text)):
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            continue
        if check:
            stale.append(path)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is not what scripts/gen-jiaxing.py generates", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
