"""The codec: the only code that knows msgpack. Bytes ⇄ envelope dicts, with limits."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

import msgpack

# A Packer per thread: reusing one skips building a packer per message (the server sends
# from the loop thread; clients may encode from several threads).
_local = threading.local()


class DecodeError(ValueError):
    """The envelope frame is not a msgpack map (or exceeds its limit)."""


class PackedMap(Mapping[str, Any]):
    """A map that is already msgpack (a hot path packed it without building dicts).

    ``encode`` copies its bytes into an envelope as they are, when it is a top-level value;
    read as a Mapping (tests, in-process callers) it is decoded once, on first access.
    """

    __slots__ = ("_decoded", "packed")

    def __init__(self, packed: bytes) -> None:
        self.packed = packed
        self._decoded: dict[str, Any] | None = None

    def _map(self) -> dict[str, Any]:
        if self._decoded is None:
            self._decoded = decode(self.packed, len(self.packed))
        return self._decoded

    def __getitem__(self, key: str) -> Any:
        return self._map()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map())

    def __len__(self) -> int:
        return len(self._map())

    def __repr__(self) -> str:
        return f"PackedMap({self._map()!r})"


def _packer() -> Any:
    packer = getattr(_local, "packer", None)
    if packer is None:
        packer = _local.packer = msgpack.Packer(use_bin_type=True, datetime=False)
    return packer


def encode(obj: dict[str, Any]) -> bytes:
    packer = _packer()
    try:
        if type(obj) is dict and type(obj.get("result")) is PackedMap:
            return _encode_spliced(packer, obj)
        packed: bytes = packer.pack(obj)
    except BaseException:
        packer.reset()  # never leave a half-packed object in the shared buffer
        raise
    return packed


def _encode_spliced(packer: Any, obj: dict[str, Any]) -> bytes:
    """The envelope with its PackedMap values' bytes copied in, not re-packed."""
    parts: list[bytes] = [packer.pack_map_header(len(obj))]
    for key, value in obj.items():
        parts.append(packer.pack(key))
        parts.append(value.packed if type(value) is PackedMap else packer.pack(value))
    return b"".join(parts)


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
