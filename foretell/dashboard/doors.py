"""Who may open the dashboard: the Host, Origin and token checks in front of every request.

``Doors`` is an ASGI middleware around the dashboard's app. It turns away, before the app sees it:

- any request whose ``Host`` header is not a name this server answers to (the bound address,
  ``localhost``, ``127.0.0.1``, ``[::1]``, the names given; on a wildcard bind such as
  ``0.0.0.0`` also any IP literal, since a DNS-rebinding page reaches the port only through a
  name of its own): HTTP 400, a WebSocket refused at the handshake (HTTP 403);
- a WebSocket whose ``Origin`` is not the dashboard's own page (``http(s)://`` + its Host);
  a client that sends no Origin (a Python script) is let in;
- a request that may change something (any method but GET, HEAD, OPTIONS) from another page:
  an ``Origin`` that is not its own, or a browser's ``Sec-Fetch-Site`` other than
  ``same-origin`` (``none``: typed by the user). A script (curl) sends neither and is let in;
- on a LAN bind (anything but loopback), any request without the run's token, given as
  ``?token=`` or as the cookie the first visit with it sets: 403.

Each refusal is counted by kind in ``refused`` (the engine is never told: no request that got
this far can steer it).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from foretell.io.origins import HostNames

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "foretell_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # they change nothing


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` serves this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A fresh per-run token (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


class Doors:
    """The checks of the module docstring around ``app``, for a server bound to ``host``."""

    def __init__(
        self, app: App, host: str, names: Iterable[str] = (), token: str | None = None
    ) -> None:
        self.app = app
        self.hosts = HostNames(host, names)
        self.token = token
        self.refused: Counter[str] = Counter()

    def allows_host(self, header: str | None) -> bool:
        return self.hosts.allows(header)

    def _problem(self, scope: Scope, headers: dict[str, str]) -> tuple[str, int] | None:
        """What is wrong with this request (kind, HTTP status), or ``None``."""
        host = headers.get("host")
        if not self.allows_host(host):
            return "host", 400
        origin = headers.get("origin")
        own = (f"http://{host}".lower(), f"https://{host}".lower())
        foreign = origin is not None and origin.lower() not in own
        if scope["type"] == "websocket" and foreign:
            return "origin", 403
        if scope["type"] == "http" and scope.get("method") not in SAFE_METHODS:
            site = headers.get("sec-fetch-site", "same-origin")
            if foreign or site not in ("same-origin", "none"):
                return "cross_site", 403
        if self.token is not None and not self._has_token(scope, headers):
            return "token", 403
        return None

    def _has_token(self, scope: Scope, headers: dict[str, str]) -> bool:
        assert self.token is not None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = [*query.get("token", [])]
        cookie = SimpleCookie()
        with contextlib.suppress(Exception):  # a malformed cookie header is no token
            cookie.load(headers.get("cookie", ""))
        if COOKIE in cookie:
            given.append(cookie[COOKIE].value)
        return any(hmac.compare_digest(g.encode(), self.token.encode()) for g in given)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        problem = self._problem(scope, headers)
        if problem is not None:
            kind, status = problem
            self.refused[kind] += 1
            await _refuse(scope, receive, send, status, kind)
            return
        if self.token is not None and scope["type"] == "http":
            send = _setting_cookie(send, self.token)
        await self.app(scope, receive, send)


REASONS = {
    "host": "this dashboard does not answer to that Host\n",
    "origin": "WebSocket from another page refused\n",
    "cross_site": "a change requested by another page refused\n",
    "token": "this dashboard needs the token printed by foretell run (open that URL)\n",
}


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, kind: str) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
        return
    body = REASONS[kind].encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _setting_cookie(send: Send, token: str) -> Send:
    """``send`` that adds the token cookie to the response (the page keeps the token)."""
    cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict".encode()

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie)]
        await send(message)

    return wrapped
