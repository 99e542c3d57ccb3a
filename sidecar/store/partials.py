"""Downloads in progress, recorded so that a crash or a quit does not lose them.

Each download of a listed item owns two files under ``<data>/downloads/`` (owner-only):

* ``<key>.part``: the bytes received so far (the downloader appends to it, also on resume);
* ``<key>.json``: what a resume needs: item id, project, URL, expected sha256 and, once a
  response told them, the total size, the ETag / Last-Modified validator and the media type.

``key`` is the sha256 of the item id (ids may contain dots and colons). The record is written
crash-safely (temp, fsync, rename, directory fsync) before the first request and again when
the first response names the validator. It is removed with the part file when the download
ends (saved, expired, failed, cancelled by the client) and kept when the sidecar stops
mid-download (SIGKILL, power loss, an orderly quit): the next start resumes the download from
the part file with ``Range`` + ``If-Range`` (a changed file on the server is fetched whole).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from sidecar.portable.files import FD_FLAGS
from sidecar.store.osio import OsIO
from sidecar.store.private import ensure_private_dir, is_private_dir

log = logging.getLogger("sidecar.store.partials")

DIR_NAME = "downloads"


@dataclass(frozen=True)
class PartialRecord:
    item_id: str
    project_id: str
    url: str
    started_at: int
    expected_sha256: str | None = None
    total: int | None = None
    etag: str | None = None
    validator: str | None = None
    mime: str = ""

    def learned(self, *, total: int | None, etag: str | None, validator: str | None,
                mime: str) -> PartialRecord:
        return replace(self, total=total, etag=etag, validator=validator, mime=mime)


class Partials:
    def __init__(self, data_dir: Path, io: OsIO) -> None:
        self.dir = data_dir / DIR_NAME
        self.io = io

    def _key(self, item_id: str) -> str:
        return hashlib.sha256(item_id.encode()).hexdigest()[:32]

    def part_path(self, item_id: str) -> Path:
        return self.dir / f"{self._key(item_id)}.part"

    def _record_path(self, item_id: str) -> Path:
        return self.dir / f"{self._key(item_id)}.json"

    def part_size(self, item_id: str) -> int:
        try:
            return os.lstat(self.part_path(item_id)).st_size
        except OSError:
            return 0

    def save(self, rec: PartialRecord) -> bool:
        """Write (or rewrite) the record crash-safely. False when storage refused it (the
        download goes on; it just would not survive a stop)."""
        dst = self._record_path(rec.item_id)
        tmp = self.dir / f".{dst.name}.{uuid.uuid4().hex}.tmp"
        fd = -1
        try:
            ensure_private_dir(self.dir)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | FD_FLAGS, 0o600)
            self.io.write_all(fd, json.dumps(asdict(rec), separators=(",", ":")).encode(),
                              op="partialWrite")
            self.io.fsync(fd, op="partialWrite")
            os.close(fd)
            fd = -1
            self.io.replace(tmp, dst, op="partialWrite")
            self.io.fsync_dir(self.dir, op="partialWrite")
        except OSError as exc:
            log.warning("download of %s: cannot record it for a resume: %s", rec.item_id, exc)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return False
        return True

    def finish(self, item_id: str) -> None:
        """The download ended: forget its record and bytes."""
        for path in (self._record_path(item_id), self.part_path(item_id)):
            with contextlib.suppress(OSError):
                os.unlink(path)

    def load_all(self) -> list[PartialRecord]:
        """Every recorded download (at start); unreadable records and stray files go."""
        if not is_private_dir(self.dir):
            if os.path.lexists(self.dir):
                log.error("ignoring %s: not a private directory of this user", self.dir)
            return []
        records: list[PartialRecord] = []
        keep: set[str] = set()
        for entry in os.scandir(self.dir):
            if not entry.name.endswith(".json") or not entry.is_file(follow_symlinks=False):
                continue
            try:
                with open(entry.path, encoding="utf-8") as f:
                    raw = json.load(f)
                rec = PartialRecord(**raw)
            except (OSError, ValueError, TypeError) as exc:
                log.warning("dropping an unreadable download record %s: %s", entry.name, exc)
                continue
            if entry.name != f"{self._key(rec.item_id)}.json":
                continue
            records.append(rec)
            keep.add(entry.name)
            keep.add(self.part_path(rec.item_id).name)
        for entry in os.scandir(self.dir):
            if entry.name not in keep:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
        return records
