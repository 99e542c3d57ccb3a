"""The seam between the media service and the downloader: what a fetch returns and raises.

``Fetcher.fetch(url, dest, progress=..., cancel=...)`` (in ``sidecar.fetch.downloader``)
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
  Cancelled        the ``cancel`` event was set, or the Fetcher was closed
``dest`` must not exist; it is removed on every failure and never fsynced or renamed here.
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


class SinkWriteError(Exception):
    """Writing the downloaded bytes to local disk failed; ``os_error`` says why."""

    def __init__(self, os_error: OSError) -> None:
        super().__init__(str(os_error))
        self.os_error = os_error
