"""A strict, bounded OSC 1.0 codec: bytes from the network to ``(address, args)`` and back.

Written by hand because python-osc's parser cannot face an untrusted network: its bundle reader
takes an element size as signed, so ``#bundle`` + a time tag + a size of ``0xfffffffc`` loops
forever on the same field; it logs one warning per unknown type-tag character; and it raises
exception types beyond its documented ``ParseError``. This decoder:

- checks every length against what remains (bundle element sizes positive, multiples of 4);
- nests bundles at most ``MAX_DEPTH`` deep and takes at most ``MAX_MESSAGES`` per datagram;
- checks the address (``/`` then printable ASCII) and the type tags (``,`` then known tags);
- raises only ``OscDecodeError`` (one line naming the first problem), in time linear in the
  datagram's size.

Arguments: ``i h`` (ints), ``f d`` (floats), ``s S`` (strings), ``b`` (blob, bytes), ``T F``
(booleans), ``N I`` (None), ``t`` (time tag, an int), ``c`` (a one-character string), ``r``
(RGBA as an int) and ``m`` (MIDI, 4 bytes). Arrays (``[ ]``) are refused. Bundle time tags are
read and ignored: inputs count when they arrive.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from functools import lru_cache

from foretell.errors import OscError

MAX_DEPTH = 8  # bundles inside bundles
MAX_MESSAGES = 128  # messages in one datagram
MAX_ADDRESS = 1024  # bytes of an address
BUNDLE_TAG = b"#bundle\0"
_WIDTH = {"i": 4, "f": 4, "r": 4, "c": 4, "m": 4, "h": 8, "d": 8, "t": 8}
_FORMAT = {"i": "i", "f": "f", "r": "I", "c": "I", "m": "4s", "h": "q", "d": "d", "t": "Q"}
_CONSTANTS: dict[str, object] = {"T": True, "F": False, "N": None, "I": None}
_VARIABLE = frozenset("sSb")
KNOWN_TAGS = frozenset(_WIDTH) | frozenset(_CONSTANTS) | _VARIABLE
KNOWN_TAG_BYTES = "".join(sorted(KNOWN_TAGS)).encode("ascii")

Message = tuple[str, list[object]]


class OscDecodeError(OscError):
    """A datagram that is not well-formed OSC (the message names the first problem)."""


# -- encoding -----------------------------------------------------------------------------------


def _padded(text: str) -> bytes:
    raw = text.encode("utf-8") + b"\0"
    return raw + b"\0" * (-len(raw) % 4)


@lru_cache(maxsize=64)
def _float_prefix(address: str, count: int) -> tuple[bytes, struct.Struct]:
    return _padded(address) + _padded("," + "f" * count), struct.Struct(f">{count}f")


def encode_floats(address: str, values: Sequence[float]) -> bytes:
    """An OSC message ``address f f ...`` (32-bit floats)."""
    prefix, packer = _float_prefix(address, len(values))
    return prefix + packer.pack(*values)


def encode_ints(address: str, values: Sequence[int]) -> bytes:
    """An OSC message ``address i i ...`` (32-bit integers; no arguments when ``values`` is
    empty)."""
    return (
        _padded(address)
        + _padded("," + "i" * len(values))
        + struct.pack(f">{len(values)}i", *values)
    )


IMMEDIATELY = 1  # the OSC time tag that means "now"


def encode_bundle(messages: Sequence[bytes]) -> bytes:
    """An OSC bundle (time tag "immediately") of encoded ``messages``, in that order."""
    parts = [_padded("#bundle"), struct.pack(">Q", IMMEDIATELY)]
    for message in messages:
        parts += [struct.pack(">i", len(message)), message]
    return b"".join(parts)


# -- decoding -----------------------------------------------------------------------------------


def _string(data: bytes, offset: int, what: str) -> tuple[bytes, int]:
    """The OSC-string at ``offset`` (without its padding) and the offset after it."""
    end = data.find(b"\0", offset)
    if end < 0:
        raise OscDecodeError(f"{what} has no terminating zero byte")
    after = offset + ((end - offset) // 4 + 1) * 4
    if after > len(data):
        raise OscDecodeError(f"{what} is not padded to a multiple of 4 bytes")
    return data[offset:end], after


def _address(data: bytes) -> tuple[str, int]:
    raw, offset = _string(data, 0, "the address")
    if len(raw) > MAX_ADDRESS:
        raise OscDecodeError(f"the address is {len(raw)} bytes long (at most {MAX_ADDRESS})")
    if not raw.startswith(b"/") or not all(0x21 <= c <= 0x7E for c in raw):
        raise OscDecodeError(f"address {raw[:40]!r} is not / followed by printable ASCII")
    return raw.decode("ascii"), offset


def _tags(data: bytes, offset: int) -> tuple[str, int]:
    if offset >= len(data):
        return "", offset  # OSC 1.0 allows a message without arguments to omit the type tags
    raw, offset = _string(data, offset, "the type tags")
    if not raw.startswith(b","):
        raise OscDecodeError("the type tag string does not start with ','")
    unknown = raw[1:].translate(None, KNOWN_TAG_BYTES)  # C speed, even for 64 kB of tags
    if unknown:
        shown = "".join(sorted(set(unknown[:4096].decode("latin-1"))))[:8]
        raise OscDecodeError(f"unsupported type tags {shown!r} (in {raw[:24].decode('latin-1')!r})")
    return raw[1:].decode("ascii"), offset


def _variable(data: bytes, tag: str, offset: int) -> tuple[object, int]:
    if tag == "b":
        if offset + 4 > len(data):
            raise OscDecodeError("a blob's size is cut off")
        (size,) = struct.unpack_from(">i", data, offset)
        end = offset + 4 + size
        if size < 0 or end > len(data):
            raise OscDecodeError(f"a blob claims {size} bytes; {len(data) - offset - 4} remain")
        return data[offset + 4 : end], end + (-size % 4)
    raw, offset = _string(data, offset, "a string argument")
    try:
        return raw.decode("utf-8"), offset
    except UnicodeDecodeError as exc:
        raise OscDecodeError(f"a string argument is not UTF-8 ({exc.reason})") from None


def _arguments(data: bytes, tags: str, offset: int) -> list[object]:
    args: list[object] = []
    for tag in tags:
        if tag in _CONSTANTS:
            args.append(_CONSTANTS[tag])
        elif tag in _VARIABLE:
            value, offset = _variable(data, tag, offset)
            args.append(value)
        else:
            width = _WIDTH[tag]
            if offset + width > len(data):
                raise OscDecodeError(f"argument {len(args) + 1} ({tag}) is cut off")
            (value,) = struct.unpack_from(">" + _FORMAT[tag], data, offset)
            args.append(chr(value) if tag == "c" and value < 0x110000 else value)
            offset += width
    if offset != len(data):
        raise OscDecodeError(f"{len(data) - offset} bytes follow the last argument")
    return args


def decode_message(data: bytes) -> Message:
    """One OSC message; ``OscDecodeError`` if it is malformed."""
    address, offset = _address(data)
    tags, offset = _tags(data, offset)
    return address, _arguments(data, tags, offset)


def _bundle(data: bytes, depth: int, out: list[Message]) -> None:
    if depth > MAX_DEPTH:
        raise OscDecodeError(f"bundles nested deeper than {MAX_DEPTH}")
    if len(data) < 16:
        raise OscDecodeError("a bundle shorter than its header and time tag")
    offset = 16
    while offset < len(data):
        if offset + 4 > len(data):
            raise OscDecodeError("a bundle element's size is cut off")
        (size,) = struct.unpack_from(">i", data, offset)
        remaining = len(data) - offset - 4
        if size <= 0 or size % 4 or size > remaining:
            raise OscDecodeError(
                f"a bundle element claims {size} bytes ({remaining} remain; sizes must be "
                "positive multiples of 4)"
            )
        _element(data[offset + 4 : offset + 4 + size], depth, out)
        offset += 4 + size


def _element(data: bytes, depth: int, out: list[Message]) -> None:
    if data.startswith(BUNDLE_TAG):
        _bundle(data, depth + 1, out)
        return
    if len(out) >= MAX_MESSAGES:
        raise OscDecodeError(f"more than {MAX_MESSAGES} messages in one datagram")
    out.append(decode_message(data))


def decode_packet(data: bytes) -> list[Message]:
    """Every message in a datagram (bundles flattened); ``OscDecodeError`` if it is malformed."""
    messages: list[Message] = []
    try:
        if len(data) % 4 or not data:
            raise OscDecodeError("its size is not a positive multiple of 4")
        _element(data, 0, messages)
    except OscDecodeError as exc:
        raise OscDecodeError(f"malformed OSC packet of {len(data)} bytes: {exc}") from None
    return messages
