"""Which web pages and which names may reach a server of ours: the ``Origin`` and ``Host`` checks.

A page on any web site can open a WebSocket to ``127.0.0.1`` (browsers send its ``Origin``, and
nothing else stops them), and a DNS-rebinding page reaches a local port under a name of its own
(its ``Host``). ``HostNames(bound, names).allows(header)`` accepts the bound address,
``localhost``, ``127.0.0.1``, ``[::1]`` and the configured names (on a wildcard bind such as
``0.0.0.0`` also any IP literal: a rebinding page only ever has a name). ``origin_allowed``
accepts a request without ``Origin`` (scripts, native apps) and the listed origins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("0.0.0.0", "::", "")


def host_name(header: str) -> str:
    """The name in a ``Host`` header (``[::1]:8765`` -> ``::1``, ``a.local:80`` -> ``a.local``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostNames:
    """The names a server bound to ``bound`` answers to (see the module docstring)."""

    def __init__(self, bound: str, names: Iterable[str] = ()) -> None:
        self.wildcard = bound in WILDCARDS
        self.names = {n.lower().strip("[]") for n in (*LOOPBACK_NAMES, bound, *names) if n}

    def allows(self, header: str | None) -> bool:
        if not header:
            return False
        name = host_name(header)
        return name in self.names or (self.wildcard and is_ip(name))


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """No ``Origin`` (not a browser page), ``*`` in ``allowed``, or an exact listed origin."""
    if origin is None:
        return True
    listed = {a.strip().lower().rstrip("/") for a in allowed}
    return "*" in listed or origin.strip().lower().rstrip("/") in listed
