"""The API contract: schemathesis (from PyPI) runs every operation of
`/api/openapi.json` against a throw-away `dispatcher serve --sim`, with all
its checks (no 5xx; every status, header, content type and body as
documented; valid requests accepted, invalid ones refused), once with a
token of each role. Bounded: a few examples per operation.

Writes really change the fleet (incidents are reported, drones commanded,
zones added): the server is started for this test alone, with a fresh event
log and a write limit high enough that the run is not answered 429.
Cross-field rules a JSON Schema cannot state are met by openapi_hooks.py
for positive cases only.
"""

import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DISPATCHER = os.environ.get("DISPATCHER", os.path.join(ROOT, "target", "debug", "dispatcher"))
CONFIG = os.path.join(ROOT, "config", "haining.toml")
SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")
TOKENS = {"viewer": "demo-viewer", "dispatcher": "demo-dispatcher", "admin": "demo-admin"}
# Per role: examples per operation, and a bound on the run's wall time.
MAX_EXAMPLES = 5
RUN_TIMEOUT_S = 480


def scenario_copy(tmp_path):
    """The demo scenario with its zones file by absolute path and a write
    limit the run cannot reach."""
    text = open(CONFIG).read()
    zones = os.path.join(os.path.dirname(CONFIG), "zones", "haining.geojson")
    text = re.sub(r'(?m)^zones = ".*"$', f'zones = "{zones}"', text)
    text = re.sub(r"(?m)^write_rate_per_min = \d+$", "write_rate_per_min = 1000000", text)
    text = re.sub(r"(?m)^write_burst = \d+$", "write_burst = 1000000", text)
    assert "write_burst = 1000000" in text and zones in text
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture
def server(tmp_path):
    p = subprocess.Popen(
        [DISPATCHER, "serve", "--config", scenario_copy(tmp_path), "--listen", "127.0.0.1:0",
         "--sim", "--sim-speedup", "20", "--time", "2026-09-28T13:00:00+08:00",
         "--event-log", str(tmp_path / "events.sqlite")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines, url = [], None
    deadline = time.time() + 60
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"map and API at (http://[0-9.:]+)/", line)
        if m:
            url = m.group(1)
            break
    if url is None:
        p.kill()
        raise AssertionError("no URL from the server:\n" + "".join(lines))
    # Keep reading, so that the server never blocks on a full pipe.
    drain = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)
    drain.start()
    yield url, lines
    p.kill()
    p.wait()


def schemathesis_run(url, role, token, tmp_path, phases):
    env = dict(os.environ, SCHEMATHESIS_HOOKS="openapi_hooks",
               PYTHONPATH=os.path.dirname(__file__) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    args = [SCHEMATHESIS, "run", f"{url}/api/openapi.json", "--checks", "all",
            "--header", f"Authorization: Bearer {token}",
            "--max-examples", str(MAX_EXAMPLES), "--seed", "1", "--no-shrink",
            "--phases", phases, "--workers", "1",
            "--request-timeout", "20", "--generation-database", "none",
            "--suppress-health-check", "too_slow,filter_too_much",
            "--no-color", "--output-truncate", "true"]
    try:
        r = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return role, None, out + f"\n(schemathesis did not finish within {RUN_TIMEOUT_S} s)"
    return role, r.returncode, r.stdout + r.stderr


def test_every_operation_keeps_its_contract_for_every_role(server, tmp_path):
    url, lines = server
    for role in TOKENS:
        (tmp_path / role).mkdir()
        # Values taken from earlier responses (real ids) replace generated
        # ones even in negative cases, which then "succeed": generate all.
        (tmp_path / role / "schemathesis.toml").write_text(
            "[phases.fuzzing.extra-data-sources]\nresponses = false\n")
    # Random (fuzzing) cases with each role; the coverage phase (boundary
    # values of every field, ~800 cases) once, with the admin token that
    # reaches every operation: with each role it takes ~50 s a run.
    plan = [(role, token, "examples,fuzzing") for role, token in TOKENS.items()]
    plan.append(("admin", TOKENS["admin"], "coverage"))
    with ThreadPoolExecutor(len(plan)) as pool:
        runs = list(pool.map(
            lambda p: schemathesis_run(url, f"{p[0]} ({p[2]})", p[1], tmp_path / p[0], p[2]), plan))
    failed = [(role, out) for role, rc, out in runs if rc != 0]
    report = "\n\n".join(f"===== schemathesis with the {role} token =====\n{out}"
                         for role, out in failed)
    assert not failed, report + "\n===== server =====\n" + "".join(lines[-40:])
    for role, _, out in runs:
        # Every operation of the document was tested.
        total = re.search(r"Selected: (\d+)/(\d+)", out)
        assert total and total.group(1) == total.group(2), out
        assert re.search(rf"Tested: {total.group(2)}\b", out), out
