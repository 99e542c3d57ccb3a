"""What a response must say to be accepted: media type, byte ranges, resume validators.

Pure header logic, no I/O. Decisions:

* Content type: ``video/*``, ``image/*`` and ``audio/*`` are accepted as sent. A generic type
  (``application/octet-stream``, ``binary/octet-stream``, or none), as object stores send for
  files uploaded without one, is accepted only when the URL path ends in a known media
  extension, and the type is then taken from that extension. Anything else (``text/html``
  from a login or error page, JSON...) is refused: it is not the media that was asked for.
* Resume: a range request carries ``If-Range`` with a strong ETag, else Last-Modified (weak
  ETags may not be used there, RFC 9110 13.1.5). A 206 is accepted only if its Content-Range
  starts at our offset, runs to the end and names the total size seen before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MEDIA_PREFIXES = ("video/", "image/", "audio/")
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_EXTENSION_TYPES = {
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
    ".webm": "video/webm", ".mkv": "video/x-matroska", ".avi": "video/x-msvideo",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".avif": "image/avif", ".svg": "image/svg+xml",
    ".wav": "audio/wav", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac",
    ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/opus", ".flac": "audio/flac",
}
_TOKEN = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


def media_type(content_type: str | None, url_path: str) -> str | None:
    """The media type to record for a response, or None if it is not media."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime.startswith(_MEDIA_PREFIXES) and _TOKEN.match(mime):
        return mime
    if mime in _GENERIC_TYPES:
        name = url_path.split("?", 1)[0].rsplit("/", 1)[-1].lower()
        dot = name.rfind(".")
        return _EXTENSION_TYPES.get(name[dot:]) if dot > 0 else None
    return None


@dataclass(frozen=True)
class ContentRange:
    start: int
    end: int  # inclusive
    total: int | None


def parse_content_range(value: str | None) -> ContentRange | None:
    match = _CONTENT_RANGE.match((value or "").strip())
    if match is None:
        return None
    start, end = int(match[1]), int(match[2])
    total = None if match[3] == "*" else int(match[3])
    if end < start or (total is not None and end >= total):
        return None
    return ContentRange(start, end, total)


def if_range_validator(etag: str | None, last_modified: str | None) -> str | None:
    if etag and not etag.startswith("W/"):
        return etag
    return last_modified or None


def content_length(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() else None
