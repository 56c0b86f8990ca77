"""Who may open the dashboard, over real sockets: foreign Origins and Hosts, and the LAN token.

A page on another site must not steer the show through the musician's browser (a WebSocket with
its Origin, or DNS rebinding: its own name pointing at this machine), and on a LAN bind nobody
without the run's token gets in.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from foretell.model.random import random_model_file
from tests.dashboard.conftest import Live
from tests.dashboard.test_cli import dashboard_url


def port_of(live: Live) -> int:
    return live.dashboard.address[1]


def get(port: int, path: str = "/", host: str | None = None, **headers: str) -> tuple[int, str]:
    """Status and Set-Cookie of a raw HTTP GET to 127.0.0.1:``port`` with this ``Host``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host or f"127.0.0.1:{port}")
        for name, value in headers.items():
            conn.putheader(name.replace("_", "-"), value)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("set-cookie") or ""
    finally:
        conn.close()


def ws_status(url: str, **headers: str) -> int:
    """101 if the WebSocket opened (and greeted), else the handshake's HTTP status."""
    try:
        with connect(url, additional_headers=headers, open_timeout=5) as ws:
            first = json.loads(ws.recv(timeout=5))
            assert "hello" in (first[0] if isinstance(first, list) else first)
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def test_a_websocket_from_another_page_is_refused_at_the_handshake(live: Live) -> None:
    port = port_of(live)
    ws = f"ws://127.0.0.1:{port}/ws"
    assert ws_status(ws, Origin="http://evil.example") == 403
    assert ws_status(ws, Origin="null") == 403
    assert ws_status(ws, Origin=f"http://127.0.0.1:{port + 1}") == 403  # another local port
    assert ws_status(ws, Origin=f"http://127.0.0.1:{port}") == 101  # its own page
    assert ws_status(ws) == 101  # a script, without an Origin
    assert live.dashboard.doors is not None and live.dashboard.doors.refused["origin"] == 3


def test_a_foreign_host_is_refused_dns_rebinding(live: Live) -> None:
    port = port_of(live)
    assert get(port, host=f"evil.example:{port}")[0] == 400
    assert get(port, "/api/loadable", host="evil.example")[0] == 400
    assert get(port, host=f"192.168.1.20:{port}")[0] == 400  # not the bound address
    for name in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
        assert get(port, host=name)[0] == 200, name
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec_WebSocket_Version": "13"}
    upgrade["Sec_WebSocket_Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
    assert get(port, "/ws", host="evil.example", **upgrade)[0] == 403
    assert get(port, "/ws", **upgrade)[0] == 101  # the same handshake with its own Host


def test_lan_bind_needs_the_token_and_the_page_keeps_it(lan_live: Live) -> None:
    port, token = port_of(lan_live), lan_live.dashboard.token
    assert token is not None and len(token) >= 20
    assert f"?token={token}" in lan_live.url
    assert get(port)[0] == 403
    assert get(port, "/api/loadable")[0] == 403
    assert get(port, "/?token=wrong")[0] == 403
    status, cookie = get(port, f"/?token={token}")
    assert status == 200 and f"foretell_token={token}" in cookie and "HttpOnly" in cookie
    assert get(port, "/app.js", Cookie=f"foretell_token={token}")[0] == 200  # kept: no query
    assert get(port, f"/?token={token}", host=f"10.1.2.3:{port}")[0] == 200  # any LAN address
    assert get(port, f"/?token={token}", host=f"stage.evil.example:{port}")[0] == 400
    ws = f"ws://127.0.0.1:{port}/ws"
    assert ws_status(ws) == 403
    assert ws_status(f"{ws}?token={token}") == 101
    assert ws_status(ws, Cookie=f"foretell_token={token}") == 101
    banner = "\n".join(lan_live.dashboard.banner())
    assert lan_live.url in banner and "▄" in banner  # the URL and its QR code


def test_loopback_needs_no_token(live: Live) -> None:
    assert live.dashboard.token is None and "token" not in live.url
    assert get(port_of(live))[0] == 200


def test_run_prints_the_lan_url_with_token_and_a_qr_code_once(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm", dimension=4)
    command = [sys.executable, "-m", "foretell", "run", "--model", str(model), "--no-log"]
    command += ["--osc-in", "127.0.0.1:0", "--osc-out", "127.0.0.1:9", "--dashboard", "0.0.0.0:0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        url = dashboard_url(process)
        assert "?token=" in url
        port = int(url.split(":")[2].split("/")[0])
        token = url.split("?token=")[1]
        assert get(port)[0] == 403 and get(port, f"/?token={token}")[0] == 200
        process.terminate()
        assert process.wait(10) == 0
        rest = process.stderr.read() if process.stderr else ""
        assert "█" in rest and "dashboard at" not in rest  # the code follows; the URL once
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("origin", ["http://localhost", "https://127.0.0.1"])
def test_origin_must_match_host_and_port_exactly(live: Live, origin: str) -> None:
    assert ws_status(f"ws://127.0.0.1:{port_of(live)}/ws", Origin=origin) == 403


def test_a_browser_with_the_token_url_plays_and_keeps_the_token(
    lan_live: Live, browser: Any
) -> None:
    port, token = port_of(lan_live), lan_live.dashboard.token
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{port}/?token={token}")
    page.wait_for_function("window.foretell.connected && window.foretell.state !== null")
    assert "token" not in page.url  # kept as a cookie, out of the address bar
    page.reload()
    page.wait_for_function("window.foretell.connected && window.foretell.state !== null")
    assert page.evaluate("() => fetch('api/loadable').then((r) => r.status)") == 200
    stranger = browser.new_page()  # another browser profile: no cookie, no token
    response = stranger.goto(f"http://127.0.0.1:{port}/")
    assert response is not None and response.status == 403
    stranger.close()
    page.close()
