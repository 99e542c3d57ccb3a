"""A fake downloader at the fetcher seam (sidecar.fetch.api): serves scripted bytes or
errors into the destination file the service chooses, like the real one does."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sidecar.errors import Cancelled, HostNotAllowed
from sidecar.fetch.api import Fetched, ProgressFn, Resume, SinkWriteError


@dataclass
class Script:
    data: bytes = b""
    error: Exception | None = None
    sink_errno: int | None = None  # fail writing dest with this errno (after half the bytes)
    gate: asyncio.Event | None = None  # wait on it after the first chunk
    mime: str = "video/mp4"


@dataclass
class FakeFetcher:
    scripts: dict[str, Script] = field(default_factory=dict)
    allowed: tuple[str, ...] = ("fal.media", "v3.fal.media", "v3b.fal.media")
    calls: list[str] = field(default_factory=list)
    chunk: int = 64 * 1024

    def check_url(self, url: str) -> None:
        if urlsplit(url).hostname not in self.allowed:
            raise HostNotAllowed(f"host of {url} is not allowed", field="params.sourceUrl")

    async def fetch(self, url: str, dest: Path, *, progress: ProgressFn | None = None,
                    cancel: asyncio.Event | None = None, resume: Resume | None = None
                    ) -> Fetched:
        self.check_url(url)
        self.calls.append(url)
        script = self.scripts[url]
        if script.error is not None:
            raise script.error
        data = script.data
        # A kept partial file (``resume``) is started over: this fake never sends ranges.
        flags = os.O_TRUNC if resume is not None else os.O_EXCL
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | flags, 0o600)
        try:
            done = 0
            for i in range(0, max(len(data), 1), self.chunk):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("download cancelled")
                if script.sink_errno is not None and done >= len(data) // 2:
                    raise SinkWriteError(OSError(script.sink_errno,
                                                 os.strerror(script.sink_errno)))
                part = data[i:i + self.chunk]
                os.write(fd, part)
                done += len(part)
                if progress is not None:
                    progress(done, len(data))
                if script.gate is not None and i == 0:
                    gate_wait = asyncio.ensure_future(script.gate.wait())
                    waits: set[asyncio.Future[object]] = {gate_wait}  # type: ignore[arg-type]
                    if cancel is not None:
                        waits.add(asyncio.ensure_future(cancel.wait()))  # type: ignore[arg-type]
                    _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                    for p in pending:
                        p.cancel()
                await asyncio.sleep(0)
            if cancel is not None and cancel.is_set():
                raise Cancelled("download cancelled")
        finally:
            os.close(fd)
        return Fetched(dest, len(data), hashlib.sha256(data).hexdigest(), script.mime, url)


ENOSPC = errno.ENOSPC
