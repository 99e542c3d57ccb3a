"""The codec: the only code that knows msgpack. Bytes ⇄ envelope dicts, with limits."""

from __future__ import annotations

from typing import Any

import msgpack


class DecodeError(ValueError):
    """The envelope frame is not a msgpack map (or exceeds its limit)."""


def encode(obj: dict[str, Any]) -> bytes:
    packed: bytes = msgpack.packb(obj, use_bin_type=True, datetime=False)
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
