"""The fallback journal: records the metadata database could not take, kept elsewhere.

An append-only JSON-lines file in the spill directory. When a write of an unsaved or urlOnly
record to SQLite fails (the data dir is full or read-only), the record is appended here
(fsynced) so it is listed again after a restart. Entries carry the record's ``rev``; replay
applies an entry only when it is newer than the database row. Once every pending record
reached the database the journal is emptied.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from sidecar.portable.files import FD_FLAGS
from sidecar.store.classify import classify
from sidecar.store.osio import OsIO
from sidecar.store.private import ensure_private_dir, is_private_dir

log = logging.getLogger("sidecar.store.journal")


class Journal:
    def __init__(self, path: Path, io: OsIO) -> None:
        self.path = path
        self.io = io
        self._lock = threading.Lock()
        self.ids: set[str] = set()  # ids with an entry in the current journal file

    def append(self, entry: dict[str, Any]) -> None:
        """Append one entry durably; raises a classified StorageError."""
        line = (json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        with self._lock:
            try:
                ensure_private_dir(self.path.parent)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | FD_FLAGS,
                             0o600)
            except OSError as exc:
                raise classify(exc, "journal append") from exc
            try:
                self.io.write_all(fd, line, op="journalWrite")
                self.io.fsync(fd, op="journalWrite")
            except OSError as exc:
                raise classify(exc, "journal append") from exc
            finally:
                os.close(fd)
            if "id" in entry:
                self.ids.add(str(entry["id"]))

    def load(self) -> list[dict[str, Any]]:
        """Every complete entry (a torn last line from a crash is ignored)."""
        if not is_private_dir(self.path.parent):
            if os.path.lexists(self.path.parent):
                log.error("ignoring the journal in %s: not a private directory of this user",
                          self.path.parent)
            return []
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.error("cannot read the journal %s: %s", self.path, exc)
            return []
        entries: list[dict[str, Any]] = []
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                log.warning("skipping a torn journal line (%d bytes)", len(line))
                continue
            if isinstance(entry, dict):
                entries.append(entry)
                if "id" in entry:
                    self.ids.add(str(entry["id"]))
        return entries

    def clear(self) -> bool:
        """Empty the journal (every entry reached the database). False if it failed."""
        with self._lock:
            if not is_private_dir(self.path.parent):
                self.ids.clear()
                return True
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("cannot clear the journal: %s", exc)
                return False
            self.ids.clear()
            return True
