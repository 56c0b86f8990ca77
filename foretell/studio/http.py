"""The studio API's HTTP plumbing: handlers answering JSON, refusals as one line, checked bodies.

A handler takes a request and returns a JSON-able value or a ``Response``; ``endpoint`` turns a
``StudioError`` (with its status), a name that is not plain or any other ``ForetellError`` (400)
into ``{"error": "one line"}``. Bodies are read with a limit (``read_body``: refused, 413, as soon
as they pass it), a big one (an upload) straight into a file (``body_chunks`` then ``save_body``:
never whole in memory), and must have the one type the route takes (``require_type``: 415).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from foretell.errors import ForetellError
from foretell.names import BadName
from foretell.studio.errors import StudioError, written

MAX_JSON = 64 << 10  # bytes of a JSON request body

Handler = Callable[[Request], Awaitable[Any]]
RouteTable = Sequence[tuple[str, Handler, Sequence[str]]]  # path, handler, methods


def routes_of(table: RouteTable) -> list[Route]:
    return [
        Route(path, endpoint(handler), methods=list(methods), name=handler.__name__)
        for path, handler, methods in table
    ]


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` answering JSON, with every refusal as ``{"error": one line}``."""

    async def answer(request: Request) -> Response:
        try:
            result = await handler(request)
        except StudioError as exc:
            return error(str(exc), exc.status)
        except (BadName, ForetellError) as exc:
            return error(str(exc), 400)
        return result if isinstance(result, Response) else JSONResponse(result)

    return answer


def error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message.splitlines()[0] if message else "refused"}, status)


def created(content: Any, status: int = 201) -> JSONResponse:
    """A JSON answer with a status of its own (201 created, 202 accepted)."""
    return JSONResponse(content, status)


def require_type(request: Request, expected: str) -> None:
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given != expected:
        raise StudioError(f"send the body as {expected}, not {given or 'no type'!r}", 415)


def too_large(limit: int) -> StudioError:
    size = f"{limit >> 20} MB" if limit >= 1 << 20 else f"{limit >> 10} KB"
    return StudioError(f"the body is larger than {size}", 413)


def body_chunks(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request's body as it arrives; refused (413) at once if it declares more than ``limit``
    bytes (a body that declares nothing is counted as it comes: ``read_body``, ``save_body``)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    return request.stream()


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused (413) as soon as it passes ``limit`` bytes."""
    chunks, size = [], 0
    async for chunk in body_chunks(request, limit):
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def save_body(chunks: AsyncIterable[bytes], path: Path, limit: int, what: str) -> int:
    """Write ``chunks`` into ``path`` as they arrive (at most one chunk in memory); refused (413)
    as soon as they pass ``limit`` bytes, a full disk as ``disk_error``; the bytes written. What
    was written of a refused body stays for the caller to remove (its staging folder)."""
    size = 0
    with written(what), path.open("wb") as out:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            out.write(chunk)
    return size


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object (``application/json``, at most ``MAX_JSON`` bytes)."""
    require_type(request, "application/json")
    raw = await read_body(request, MAX_JSON)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise StudioError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise StudioError("the body must be a JSON object")
    return body
