"""Content-Encoding: which ones a download accepts, and a decoder whose memory is bounded.

The downloader asks for ``Accept-Encoding: identity``; a server may still impose an
encoding. Accepted: identity, or exactly one ``gzip`` (``x-gzip``) or ``deflate`` layer.
Refused before a body byte is read: any stack (``gzip, gzip``), ``br``, ``zstd``,
``compress`` and anything unknown. A stack of encodings has no use for media files and is
the shape of a decompression bomb; refusing it keeps one decoder to bound.

``BoundedDecoder`` never produces more than ``step`` bytes per call into zlib, however much
the input expands (``decompress(data, max_length)`` keeps the rest of the input in
``unconsumed_tail``), so a bomb costs one step of memory at a time and the caller's size cap
(counted on these pieces as they stream) stops it. httpx's own decoders are never used:
they decode a whole wire chunk at once.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

STEP = 64 * 1024
ACCEPTED = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16,
            "deflate": zlib.MAX_WBITS}


class EncodingRefused(ValueError):
    """The response's Content-Encoding is not one the downloader accepts."""


class DecodeError(ValueError):
    """The encoded body is corrupt."""


def codings(header: str | None) -> list[str]:
    """The encodings applied, in order, identity dropped."""
    return [c for c in (part.strip().lower() for part in (header or "").split(","))
            if c and c != "identity"]


def decoder_for(header: str | None) -> BoundedDecoder | None:
    """None for identity; a decoder for one accepted layer; ``EncodingRefused`` otherwise."""
    applied = codings(header)
    if not applied:
        return None
    if len(applied) > 1:
        raise EncodingRefused(f"stacked Content-Encoding {header!r} is refused "
                              "(only identity or one gzip/deflate layer)")
    if applied[0] not in ACCEPTED:
        raise EncodingRefused(f"Content-Encoding {applied[0]!r} is not supported "
                              "(only identity, gzip or deflate)")
    return BoundedDecoder(applied[0])


class BoundedDecoder:
    def __init__(self, coding: str, step: int = STEP) -> None:
        self.coding = coding
        self.step = step
        self._raw_fallback = coding == "deflate"  # some servers send deflate without zlib header
        self._started = False
        self._obj = zlib.decompressobj(ACCEPTED[coding])

    @property
    def complete(self) -> bool:
        """The encoded stream reached its end marker (a cut body does not)."""
        return self._obj.eof

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``data``, each at most ``step`` bytes."""
        pending = data
        while True:
            if self._obj.eof:
                return  # bytes after the end of the stream are ignored, like httpx does
            try:
                out = self._obj.decompress(pending, self.step)
            except zlib.error as exc:
                if self._raw_fallback and not self._started:
                    self._raw_fallback = False
                    self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise DecodeError(f"corrupt {self.coding} body: {exc}") from exc
            self._started = True
            if out:
                yield out
            pending = self._obj.unconsumed_tail
            if not pending and len(out) < self.step:
                return  # input consumed and nothing more pending in zlib
