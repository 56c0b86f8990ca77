"""Read an untrusted model file in a child process that cannot take more than its share of memory.

``in_child(fn, args, origin)`` runs ``fn(*args)`` in a fresh interpreter (multiprocessing's
``spawn``: nothing of the caller's state or threads) whose address space is limited to
``MEMORY_LIMIT`` bytes (``RLIMIT_AS``) and whose BLAS keeps to one thread, and returns what it
returns. Whatever the file does to the reader, the caller (the show's process, when the studio
imports an upload) gets a value or one ``ImportModelError`` line: a ``ForetellError`` the reader
raised as it was, running out of memory or being killed as "needs more than N MB", a reader
still busy after ``TIMEOUT`` seconds as "took too long" (it is killed). Never call it from the
engine's loop: it waits for the child.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from foretell.errors import ForetellError, ImportModelError

T = TypeVar("T")
MEMORY_LIMIT = 512 << 20  # bytes of address space (an interpreter with numpy and h5py: ~160 MB)
TIMEOUT = 120.0  # seconds


def _limited(
    sender: Connection, memory: int, fn: Callable[..., Any], args: tuple[Any, ...]
) -> None:
    """The child: limit itself, run ``fn``, send ``(True, value)`` or ``(False, error)``."""
    import resource

    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        outcome: tuple[bool, Any] = (True, fn(*args))
    except MemoryError:
        outcome = (False, None)
    except ForetellError as exc:
        outcome = (False, exc)
    except Exception as exc:  # a hostile file fails readers in many ways
        outcome = (False, ImportModelError(f"cannot be read ({type(exc).__name__}: {exc})"))
    try:
        sender.send(outcome)
    except MemoryError:
        sender.send((False, None))


def in_child(
    fn: Callable[..., T],
    args: tuple[Any, ...],
    origin: str,
    memory: int = MEMORY_LIMIT,
    timeout: float = TIMEOUT,
) -> T:
    """``fn(*args)`` in a memory-limited child (see the module docstring)."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_limited, args=(sender, memory, fn, args), daemon=True)
    child.start()
    sender.close()
    too_much = ImportModelError(
        f"{origin}: reading it needs more than {memory >> 20} MB of memory; refused"
    )
    try:
        if not receiver.poll(timeout):
            raise ImportModelError(f"{origin}: reading it took more than {timeout:g} s; refused")
        ok, value = receiver.recv()
    except (EOFError, OSError):
        raise too_much from None  # killed (by the kernel, or a crash under the limit)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    if ok:
        return value
    if value is None:
        raise too_much
    raise value
