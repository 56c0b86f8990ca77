"""``/api/config``: the project's ``foretell.toml``, read and replaced (checked first)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from foretell import commands as control
from foretell.studio.config_file import MAX_CONFIG, ConfigFile, live_changes
from foretell.studio.errors import StudioError
from foretell.studio.http import RouteTable, read_body, require_type
from foretell.studio.live import Live

LOAD_WAIT_S = 15.0  # how long a model the config names may take to play before it is refused


@dataclass(frozen=True)
class ConfigRoutes:
    config: ConfigFile
    live: Live

    def table(self) -> RouteTable:
        return [("/api/config", self.get, ["GET"]), ("/api/config", self.put, ["PUT"])]

    async def get(self, request: Request) -> Response:
        return PlainTextResponse(self.config.text(), media_type="application/toml")

    async def put(self, request: Request) -> dict[str, Any]:
        """Check the new config as ``foretell run`` would; write it only when valid; apply
        what the running engine can take now and say what it refused and what waits for the
        next start."""
        require_type(request, "application/toml")
        raw = await read_body(request, MAX_CONFIG)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise StudioError("the config is not UTF-8 text") from None
        old = self.config.read()  # None: broken by hand (a valid text replaces it)
        new = await asyncio.to_thread(self.config.replace, text, old)
        commands, later = live_changes(old, new)
        applied, refused = [], []
        for command in commands:
            why = await self.live.carry_out(command, LOAD_WAIT_S)
            if why is None:
                applied.append(describe(command))
            else:
                refused.append(f"{describe(command)}: {why}")
        return {"applied": applied, "refused": refused, "on_restart": later}


def describe(command: control.Command) -> str:
    """A command as the page lists it (``pitemp 0.8``, ``mode filter``, ``load m1.ftm``)."""
    match command:
        case control.SetSetting(name=name, value=value):
            return f"{name} {value:g}" if not isinstance(value, bool) else f"{name} {int(value)}"
        case control.SetMode(mode=mode):
            return f"mode {mode}"
        case control.LoadModel(name=name):
            return f"load {name}"
    return type(command).__name__
