"""Schemathesis hooks for test_openapi.py: cross-field rules that JSON Schema
cannot state, applied to *positive* cases only (negative cases go out as
generated, and every check stays on).

- A zone's polygon must be closed and simple and cover at least 1 m²: the
  generated ring is replaced by a small square at its first position
  (inside the region, as the schema says), holes dropped.
- A zone's band and window must be in order: floor_m < ceiling_m,
  active_from < active_until.
- A response-time report's `from` must be before its `to`.
- A report with `external_id` needs `source` (the schema says so with
  `dependentRequired`, which the coverage phase does not read).
- A weather report's gust is at least its mean wind, and its time is not in
  the future (the server's clock runs on scenario time): `at` is dropped.
"""

from datetime import datetime, timedelta

import schemathesis


def _positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _time(s):
    if not isinstance(s, str):
        return None
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except (TypeError, ValueError):
        return None


def _fix_zone(body):
    if not isinstance(body, dict):
        return
    geometry = body.get("geometry")
    if isinstance(geometry, dict) and isinstance(geometry.get("coordinates"), list):
        rings = geometry["coordinates"]
        try:
            lon, lat = float(rings[0][0][0]), float(rings[0][0][1])
        except (IndexError, TypeError, ValueError, OverflowError):
            lon, lat = 120.6, 30.4
        # Into the demo scenario's region (120.30..121.10, 30.15..30.90), as the schema says in words.
        lon, lat = min(max(lon, 120.31), 121.09), min(max(lat, 30.16), 30.89)
        # 0.001° (about 100 m) towards the region's centre, so the square stays inside.
        dx = 0.001 if lon < 120.7 else -0.001
        dy = 0.001 if lat < 30.5 else -0.001
        square = [[lon, lat], [lon + dx, lat], [lon + dx, lat + dy], [lon, lat + dy], [lon, lat]]
        geometry["coordinates"] = [square]
    props = body.get("properties")
    if not isinstance(props, dict):
        return
    lo, hi = props.get("floor_m"), props.get("ceiling_m")
    lo_v = 0.0 if lo is None else lo
    hi_v = 10_000.0 if hi is None else hi
    if isinstance(lo_v, (int, float)) and isinstance(hi_v, (int, float)) and not lo_v < hi_v:
        props["floor_m"], props["ceiling_m"] = 0, max(abs(hi_v), abs(lo_v)) + 1
    # A `date-time` the generator made that is no RFC 3339 time (e.g. "").
    for k in ("active_from", "active_until"):
        if isinstance(props.get(k), str) and _time(props[k]) is None:
            props[k] = None
    a, b = _time(props.get("active_from")), _time(props.get("active_until"))
    if a is not None and b is not None and not a < b:
        props["active_until"] = (a + timedelta(hours=1)).isoformat()


def _fix_weather(body):
    if not isinstance(body, dict) or not isinstance(body.get("reports"), list):
        return
    for r in body["reports"]:
        if not isinstance(r, dict):
            continue
        r.pop("at", None)
        speed, gust = r.get("speed_mps"), r.get("gust_mps")
        if isinstance(speed, (int, float)) and isinstance(gust, (int, float)) and gust < speed:
            r["gust_mps"] = speed


def _fix_range(query):
    if not isinstance(query, dict):
        return
    a, b = _time(query.get("from")), _time(query.get("to"))
    if a is not None and b is not None and not a < b:
        query["from"], query["to"] = query["to"], query["from"]
        if a == b:
            query["to"] = (a + timedelta(seconds=1)).isoformat()


@schemathesis.hook
def before_call(context, case, **kwargs):
    if not _positive(case):
        return
    path, method = case.operation.path, case.operation.method.upper()
    if path == "/api/zones" and method == "POST":
        _fix_zone(case.body)
    elif path == "/api/incidents" and method == "POST":
        body = case.body
        if isinstance(body, dict) and isinstance(body.get("external_id"), str) and body.get("source") is None:
            body["source"] = "schemathesis"
    elif path == "/api/reports/response-times":
        _fix_range(case.query)
    elif path == "/api/weather" and method == "POST":
        _fix_weather(case.body)
