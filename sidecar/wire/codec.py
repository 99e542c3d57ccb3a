"""The codec: the only code that knows msgpack. Bytes ⇄ envelope dicts, with limits."""

from __future__ import annotations

import threading
from typing import Any

import msgpack

# A Packer per thread: reusing one skips building a packer per message (the server sends
# from the loop thread; clients may encode from several threads).
_local = threading.local()


class DecodeError(ValueError):
    """The envelope frame is not a msgpack map (or exceeds its limit)."""


def encode(obj: dict[str, Any]) -> bytes:
    packer = getattr(_local, "packer", None)
    if packer is None:
        packer = _local.packer = msgpack.Packer(use_bin_type=True, datetime=False)
    try:
        packed: bytes = packer.pack(obj)
    except BaseException:
        packer.reset()  # never leave a half-packed object in the shared buffer
        raise
    return packed


def decode(frame: bytes | memoryview, max_bytes: int) -> dict[str, Any]:
    size = memoryview(frame).nbytes
    if size > max_bytes:
        raise DecodeError(f"envelope of {size} bytes exceeds {max_bytes}")
    try:
        obj = msgpack.unpackb(
            frame,
            raw=False,
            strict_map_key=True,
            use_list=True,
        )
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError,
            msgpack.StackError, msgpack.UnpackException) as exc:
        raise DecodeError(f"malformed msgpack: {exc}") from exc
    if not isinstance(obj, dict):
        raise DecodeError(f"envelope must be a map, got {type(obj).__name__}")
    return obj


PEEK_BYTES = 64 * 1024


def peek_id(frame: bytes | memoryview, max_keys: int = 16) -> str | None:
    """The request id of an envelope that will not be decoded (not authentic, or refused
    before authentication, however large), so that an error reply can still be correlated.

    Reads only the first ``PEEK_BYTES`` of the frame and at most ``max_keys`` keys of the
    top-level map, and builds nothing but short strings: a key or an id that is a
    container, binary or a long string stops the walk (the limits below refuse it before
    it is built) and values are skipped unbuilt. An id beyond the prefix reads as None."""
    head = memoryview(frame)[:PEEK_BYTES]
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=PEEK_BYTES + 1,
                                max_str_len=128, max_bin_len=0, max_array_len=0,
                                max_map_len=0, max_ext_len=0)
    unpacker.feed(head)
    try:
        n = unpacker.read_map_header()
        for _ in range(min(n, max_keys)):
            key = unpacker.unpack()
            if key == "id":
                value = unpacker.unpack()
                return value if isinstance(value, str) and 0 < len(value) <= 128 else None
            unpacker.skip()
    except (ValueError, TypeError, msgpack.UnpackException, msgpack.OutOfData,
            msgpack.FormatError, msgpack.StackError):
        return None
    return None
