"""Who may steer a run: the performer's hosts, whose control verbs (``/foretell/*``, ``/impsy/*``)
are obeyed on every network transport (OSC, WebSocket, the dashboard's socket).

foretell is often played on a venue's network with its ports open to everyone there. User input
(``/interface``) stays open, since controllers on phones need that; control verbs are taken by
default from this machine only (the loopback addresses). ``[osc] control_from`` or
``--control-from`` adds hosts or networks: ``["192.168.1.20", "10.0.0.0/24"]``, or ``"*"``.
The same hosts are the performer's for everything else a host decides: inputs from any other
host are a guest's (played, logged as ``guest`` rows, never learned from, rate-limited), and
connection caps never turn the performer's hosts away.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from foretell.errors import ConfigError

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ControlSources:
    """Who may send control verbs (``/foretell/*``, ``/impsy/*``): by default this machine only.

    ``parse(["192.168.1.20", "10.0.0.0/24"])`` adds hosts or networks to the loopback ones;
    ``"*"`` lets anyone steer. User input (``/interface``) is never restricted here.
    """

    networks: tuple[Network, ...] = LOOPBACK

    @classmethod
    def parse(cls, entries: Sequence[str]) -> ControlSources:
        """``ConfigError`` naming the first entry that is neither an address nor a network."""
        networks: list[Network] = list(LOOPBACK)
        for entry in entries:
            text = "0.0.0.0/0" if entry.strip() == "*" else entry.strip()
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                raise ConfigError(
                    f"control_from entry {entry!r} is not an IP address, a network (a.b.c.d/n) or *"
                ) from None
            if text == "0.0.0.0/0":
                networks.append(ipaddress.ip_network("::/0"))
        return cls(tuple(dict.fromkeys(networks)))

    def allows(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == n.version and address in n for n in self.networks)

    def describe(self) -> str:
        """e.g. ``this machine only`` or ``this machine and 192.168.1.20``."""
        extra = [str(n) for n in self.networks if n not in LOOPBACK]
        if any(n.prefixlen == 0 for n in self.networks):
            return "anyone who can reach the port"
        return "this machine" + (" and " + ", ".join(extra) if extra else " only")
