"""The seam between the media service and the downloader: what a fetch returns and raises.

``Downloader.fetch(url, dest, progress=..., cancel=...)`` (in ``sidecar.fetch.downloader``)
streams ``url`` into the new file ``dest`` while hashing, and returns ``Fetched``. It raises
only ``sidecar.errors`` exceptions (HostNotAllowed, UrlExpired, DownloadFailed,
PayloadTooLarge, Cancelled) or ``SinkWriteError`` when writing ``dest`` failed (disk full,
read-only...), whose ``os_error`` the store classifies.

What each means (decisions documented in the fetch modules):
  HostNotAllowed   the URL or a redirect hop, or the address its host resolves to, is not
                   allowed; no request was sent to it (``check_url`` tells without network)
  UrlExpired       HTTP 400/401/403/404/410; not retried; ``data = {"status": code}``
  DownloadFailed   timeouts, connection errors, 5xx/408/425/429 after ``max_attempts`` with
                   backoff; or at once: not video/image/audio (``application/octet-stream``
                   only with a media file extension in the URL path), an invalid certificate,
                   too many or broken redirects
  PayloadTooLarge  the body is over ``max_bytes`` (announced or counted)
  Cancelled        the ``cancel`` event was set, or the Downloader was closed
``dest`` must not exist; it is removed on every failure and never fsynced or renamed here.

With ``resume=Resume(...)`` (a download kept across restarts) ``dest`` may exist: its bytes
are hashed and the download continues after them (``Range`` + ``If-Range`` when ``resume``
names a total and a validator; otherwise from zero), and ``dest`` is left in place on every
failure (the caller decides whether to keep or remove it). ``Resume.learned`` is called (in a
worker thread) when a whole-body response tells the total, validator and media type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# progress(bytes_done, total_bytes_or_None): called often; throttling is the caller's job.
ProgressFn = Callable[[int, int | None], None]


@dataclass(frozen=True)
class Fetched:
    path: Path
    size: int
    sha256: str
    mime_type: str
    final_url: str


@dataclass(frozen=True)
class Resume:
    """What earlier runs of a download learned (see ``sidecar.store.partials``)."""

    total: int | None = None
    etag: str | None = None
    validator: str | None = None
    mime: str = ""
    # called with (total, etag, validator, mime) when a whole-body response tells them
    learned: Callable[[int | None, str | None, str | None, str], None] | None = None


class SinkWriteError(Exception):
    """Writing the downloaded bytes to local disk failed; ``os_error`` says why."""

    def __init__(self, os_error: OSError) -> None:
        super().__init__(str(os_error))
        self.os_error = os_error
