"""`dispatcher serve --tls-cert/--tls-key`: the map, the API and the
websocket over HTTPS, checked with clients that are not ours: Python's `ssl`
(OpenSSL) for HTTP and the `websockets` package for `wss://`, against a
certificate made by the `openssl` command line.

Also: plain HTTP to the HTTPS port gets no answer of the API, a client that
does not trust the certificate is refused by its own TLS, a broken key file
stops the server with a message naming it, and plain HTTP on an address
other machines reach says that tokens would cross the network in clear.
"""

import json
import os
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from websockets.sync.client import connect

from test_serve import CONFIG, DISPATCHER, Server


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=dispatch test",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(crt)],
        check=True, capture_output=True,
    )
    os.chmod(key, 0o600)
    return crt, key


def context(crt):
    ctx = ssl.create_default_context(cafile=str(crt))
    return ctx


def get(url, ctx, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return r.status, r.headers.get("content-type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


def test_map_api_and_websocket_over_https(cert):
    crt, key = cert
    s = Server(speedup=20, args=["--tls-cert", str(crt), "--tls-key", str(key)])
    try:
        assert s.url.startswith("https://127.0.0.1:"), s.output()
        assert "in clear" not in s.output(), s.output()
        ctx = context(crt)
        st, _, body = get(s.url + "/api/health", ctx)
        assert st == 200 and json.loads(body)["status"] == "ok", body
        st, ctype, body = get(s.url + "/", ctx)
        assert st == 200 and ctype.startswith("text/html"), (st, ctype)
        st, _, body = get(s.url + "/api/drones", ctx, token="demo-viewer")
        assert st == 200 and len(json.loads(body)) == 15, body
        st, _, body = get(s.url + "/api/drones", ctx, token="wrong")
        assert st == 401, body

        # wss:// with the same trust: the snapshot, then live telemetry.
        ws_url = s.url.replace("https://", "wss://") + "/ws?token=demo-viewer"
        with connect(ws_url, ssl=ctx, max_size=None) as ws:
            snap = json.loads(ws.recv(timeout=10))
            assert snap["type"] == "snapshot" and len(snap["drones"]) == 15
            deadline = time.time() + 15
            kinds = set()
            while "telemetry" not in kinds:
                assert time.time() < deadline, kinds
                kinds.add(json.loads(ws.recv(timeout=10))["type"])

        # A client that does not trust the certificate stops at its own TLS.
        with pytest.raises(urllib.error.URLError) as e:
            get(s.url + "/api/health", ssl.create_default_context())
        assert isinstance(e.value.reason, ssl.SSLCertVerificationError), e.value

        # Plain HTTP to the HTTPS port: no HTTP answer, and the server goes on.
        host, port = s.url.removeprefix("https://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as c:
            c.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            c.settimeout(15)
            got = b""
            try:
                while chunk := c.recv(4096):
                    got += chunk
            except (ConnectionResetError, TimeoutError):
                pass
        assert not got.startswith(b"HTTP/"), got[:80]
        st, _, _ = get(s.url + "/api/health", ctx)
        assert st == 200
    finally:
        s.p.kill()
        s.p.wait()


def run_briefly(args, seconds=20):
    """`dispatcher serve` with `args` until it exits or says where it
    listens; its exit code (None while running) and what it printed."""
    p = subprocess.Popen(
        [DISPATCHER, "serve", "--config", CONFIG, "--event-log", "off", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines = []
    deadline = time.time() + seconds
    try:
        while time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "map and API at" in line:
                break
    finally:
        p.kill()
        p.wait()
    return "".join(lines)


def test_a_broken_key_is_named_and_plain_http_off_loopback_warns(cert, tmp_path):
    crt, _ = cert
    bad = tmp_path / "key.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n")
    os.chmod(bad, 0o600)
    out = run_briefly(["--listen", "127.0.0.1:0", "--tls-cert", str(crt), "--tls-key", str(bad)])
    assert str(bad) in out and "map and API at" not in out, out

    # Either file alone is a usage error that names the other.
    out = run_briefly(["--listen", "127.0.0.1:0", "--tls-cert", str(crt)])
    assert "--tls-key" in out and "map and API at" not in out, out

    out = run_briefly(["--listen", "0.0.0.0:0"])
    assert "map and API at http://" in out, out
    assert "bearer tokens cross the network in clear" in out, out
