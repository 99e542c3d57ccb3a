"""The seam between the media service and the downloader: what a fetch returns and raises.

``Fetcher.fetch(url, dest, progress=..., cancel=...)`` (in ``sidecar.fetch.downloader``)
streams ``url`` into the new file ``dest`` while hashing, and returns ``Fetched``. It raises
only ``sidecar.errors`` exceptions (HostNotAllowed, UrlExpired, DownloadFailed,
PayloadTooLarge, Cancelled) or ``SinkWriteError`` when writing ``dest`` failed (disk full,
read-only...), whose ``os_error`` the store classifies.
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
