"""Mutated OSC datagrams: what a hostile or broken peer sends, made from valid packets.

``seeds()`` are valid datagrams of every shape foretell meets (inputs, commands, strings, blobs,
bundles, nested bundles); ``mutate(rng, data)`` applies one to three random mutations: bit flips,
random bytes, truncation, extension, hostile 32-bit sizes (``0xfffffffc``, ``0x7fffffff``, 0),
unknown type tags, splices of two packets, deep nesting, huge tag strings. Deterministic for a
seeded ``numpy`` generator. Used by the fuzz test and ``foretell bench fuzz``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np

from foretell.io.osc_codec import BUNDLE_TAG, encode_floats

HOSTILE_SIZES = (0xFFFFFFFC, 0x7FFFFFFF, 0x80000000, 0, 1, 3, 0xFFFFFFFF, 65536)


def _string(text: bytes) -> bytes:
    raw = text + b"\0"
    return raw + b"\0" * (-len(raw) % 4)


def message(address: str, tags: str, payload: bytes = b"") -> bytes:
    return _string(address.encode()) + _string(b"," + tags.encode()) + payload


def bundle(*elements: bytes) -> bytes:
    body = b"".join(struct.pack(">i", len(e)) + e for e in elements)
    return BUNDLE_TAG + struct.pack(">Q", 1) + body


def seeds() -> list[bytes]:
    """Valid datagrams of every kind foretell takes (and some it routes elsewhere)."""
    interface = encode_floats("/interface", [0.25, 0.5, 0.75])
    return [
        interface,
        encode_floats("/interface", [0.1]),
        encode_floats("/foretell/pitemp", [0.5]),
        encode_floats("/impsy/sigmatemp", [0.2]),
        message("/foretell/mode", "s", _string(b"filter")),
        message("/foretell/reset", ""),
        message("/interface", "iii", struct.pack(">iii", 1, 0, 1)),
        message("/interface", "dhT", struct.pack(">dq", 0.5, 1)),
        message("/other", "b", struct.pack(">i", 5) + b"hello\0\0\0"),
        message("/interface", "fsN", struct.pack(">f", 0.5) + _string(b"x")),
        bundle(interface, encode_floats("/foretell/timescale", [1.0])),
        bundle(bundle(interface), interface),
    ]


def _flip_bits(rng: np.random.Generator, data: bytearray) -> None:
    for _ in range(int(rng.integers(1, 9))):
        i = int(rng.integers(len(data)))
        data[i] ^= 1 << int(rng.integers(8))


def _random_bytes(rng: np.random.Generator, data: bytearray) -> None:
    for _ in range(int(rng.integers(1, 5))):
        data[int(rng.integers(len(data)))] = int(rng.integers(256))


def _truncate(rng: np.random.Generator, data: bytearray) -> None:
    del data[int(rng.integers(len(data))) :]


def _extend(rng: np.random.Generator, data: bytearray) -> None:
    data.extend(rng.bytes(int(rng.integers(1, 64))))


def _hostile_size(rng: np.random.Generator, data: bytearray) -> None:
    size = HOSTILE_SIZES[int(rng.integers(len(HOSTILE_SIZES)))]
    at = int(rng.integers(max(1, len(data) - 3))) & ~3
    data[at : at + 4] = struct.pack(">I", size)


def _unknown_tags(rng: np.random.Generator, data: bytearray) -> None:
    comma = data.find(b",")
    if comma < 0:
        return
    for i in range(comma + 1, min(len(data), comma + 8)):
        if data[i] == 0:
            break
        data[i] = int(rng.integers(0x21, 0x7F))


def _splice(rng: np.random.Generator, data: bytearray) -> None:
    other = SEEDS[int(rng.integers(len(SEEDS)))]
    cut = int(rng.integers(len(data) + 1))
    data[cut:] = other[int(rng.integers(len(other) + 1)) :]


def _nest(rng: np.random.Generator, data: bytearray) -> None:
    packet = bytes(data)
    for _ in range(int(rng.integers(1, 40))):
        packet = bundle(packet)
    data[:] = packet


def _huge_tags(rng: np.random.Generator, data: bytearray) -> None:
    tags = bytes(rng.integers(0x21, 0x7F, size=int(rng.integers(1000, 60000)), dtype=np.uint8))
    data[:] = message("/interface", tags.decode("ascii").replace(",", "x"))


MUTATIONS: tuple[Callable[[np.random.Generator, bytearray], None], ...] = (
    *(_flip_bits, _random_bytes, _truncate, _extend, _hostile_size),
    *(_unknown_tags, _splice, _nest),
)
SEEDS = seeds()


def mutate(rng: np.random.Generator, data: bytes) -> bytes:
    """``data`` after one to three random mutations (rarely: a huge tag string)."""
    if rng.random() < 0.002:
        out = bytearray(data)
        _huge_tags(rng, out)
        return bytes(out)
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        if not out:
            break
        MUTATIONS[int(rng.integers(len(MUTATIONS)))](rng, out)
    return bytes(out)


def datagrams(rng: np.random.Generator, count: int) -> list[bytes]:
    """``count`` mutated datagrams drawn from ``SEEDS``."""
    return [mutate(rng, SEEDS[int(rng.integers(len(SEEDS)))]) for _ in range(count)]
