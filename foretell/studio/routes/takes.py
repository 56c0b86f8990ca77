"""``/api/takes``: list, start, rename, download, plot and delete takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from foretell import commands as control
from foretell.names import plain_name
from foretell.studio.errors import StudioError
from foretell.studio.http import RouteTable, created, read_json
from foretell.studio.live import Live
from foretell.studio.takes import Takes


@dataclass(frozen=True)
class TakeRoutes:
    takes: Takes
    live: Live

    def table(self) -> RouteTable:
        return [
            ("/api/takes", self.listing, ["GET"]),
            ("/api/takes/new", self.new, ["POST"]),
            ("/api/takes/{name}/rename", self.rename, ["POST"]),
            ("/api/takes/{name}/download", self.download, ["GET"]),
            ("/api/takes/{name}/plot", self.plot, ["GET"]),
            ("/api/takes/{name}", self.delete, ["DELETE"]),
        ]

    async def listing(self, request: Request) -> dict[str, Any]:
        return {"takes": await self.takes.listing(await self.live.current_take())}

    async def new(self, request: Request) -> Response:
        """Close the current log and go on in a new one, named so."""
        name = plain_name((await read_json(request)).get("name"), "take")
        if self.takes.exists(name):
            raise StudioError(f"a take called {name!r} exists already", 409)
        refused = await self.live.command(control.NewTake(name))
        current = await self.live.current_take()
        if refused is not None or current is None:
            raise StudioError(refused or "the take did not start", 409)
        await self.takes.refresh([current])
        return created({"take": self.takes.describe(current, current)})

    async def rename(self, request: Request) -> dict[str, Any]:
        new = (await read_json(request)).get("name")
        current = await self.live.current_take()
        take = self.takes.rename(request.path_params["name"], new, current)
        return {"take": take}

    async def download(self, request: Request) -> Response:
        path = self.takes.path(request.path_params["name"])
        return FileResponse(path, media_type="text/csv", filename=path.name)

    async def plot(self, request: Request) -> Response:
        plot = await self.takes.plot(request.path_params["name"])
        return Response(plot, media_type="application/json")  # encoded in the worker

    async def delete(self, request: Request) -> dict[str, Any]:
        name = request.path_params["name"]
        self.takes.delete(name, await self.live.current_take())
        return {"deleted": name}
