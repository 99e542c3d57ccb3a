"""The store's own value types: one item's record and the error that explains its status.

These are plain frozen dataclasses (cheap to build from SQLite rows); the service turns them
into protocol models. ``metadata`` stays the JSON text it is stored as, parsed only on output.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

SAVED = "saved"
UNSAVED = "unsaved"
URL_ONLY = "urlOnly"
EXPIRED = "expired"
STATUSES = (SAVED, UNSAVED, URL_ONLY, EXPIRED)

_clock_lock = threading.Lock()
_last_rev = 0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def next_rev() -> int:
    """A strictly increasing revision (ns clock) ordering every mutation of this process."""
    global _last_rev  # noqa: PLW0603 - one process-wide counter, guarded by the lock
    with _clock_lock:
        _last_rev = max(_last_rev + 1, time.time_ns())
        return _last_rev


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Why an item is not durable (the seeds' ``storageError``)."""

    message: str
    timestamp: int
    error_type: str
    errno: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> ErrorInfo | None:
        if not text:
            return None
        raw = json.loads(text)
        return cls(str(raw["message"]), int(raw["timestamp"]), str(raw["error_type"]),
                   raw.get("errno"))


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """One media item as the store keeps it. ``sha256``/``size`` name the bytes when known."""

    id: str
    project_id: str
    name: str
    type: str
    status: str
    created_at: int
    updated_at: int
    rev: int
    mime_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: float | None = None
    source_url: str | None = None
    folder_ids: tuple[str, ...] = ()
    storage_error: ErrorInfo | None = None
    metadata: str = "{}"

    @property
    def name_key(self) -> str:
        return self.name.casefold()

    @property
    def size_key(self) -> int:
        return -1 if self.size is None else self.size

    @property
    def search(self) -> str:
        """The text the ``text`` filter searches: name and metadata.prompt, case-folded."""
        prompt = ""
        if '"prompt"' in self.metadata:
            value = json.loads(self.metadata).get("prompt")
            if isinstance(value, str):
                prompt = value
        return f"{self.name}\n{prompt}".casefold()

    def evolve(self, **changes: Any) -> ItemRecord:
        """A copy with ``changes``, a fresh ``rev`` and (unless given) a fresh ``updated_at``."""
        changes.setdefault("updated_at", max(now_ms(), self.updated_at))
        changes.setdefault("rev", next_rev())
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the fallback journal)."""
        d = {f: getattr(self, f) for f in _RECORD_FIELDS}
        d["folder_ids"] = list(self.folder_ids)
        d["storage_error"] = None if self.storage_error is None else asdict(self.storage_error)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ItemRecord:
        err = d.get("storage_error")
        kw: dict[str, Any] = {f: d.get(f) for f in _RECORD_FIELDS}
        kw["folder_ids"] = tuple(d.get("folder_ids") or ())
        kw["storage_error"] = None if not err else ErrorInfo(
            str(err["message"]), int(err["timestamp"]), str(err["error_type"]), err.get("errno"))
        kw["metadata"] = d.get("metadata") or "{}"
        return cls(**kw)


_RECORD_FIELDS = (
    "id", "project_id", "name", "type", "status", "created_at", "updated_at", "rev",
    "mime_type", "size", "sha256", "width", "height", "duration", "fps", "source_url",
    "folder_ids", "storage_error", "metadata",
)
