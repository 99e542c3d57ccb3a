"""The store's own value types: one item's record and the error that explains its status.

Cheap to build from SQLite rows; the service turns them into protocol models. ``metadata``
stays the JSON text it is stored as, parsed only on output.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from protocol.vocabulary import BytesState, ErrorType, ItemStatus

# Where an item's bytes are, by status (the wire's ``bytesState``).
BYTES_STATE: dict[str, BytesState] = {
    ItemStatus.SAVED: BytesState.DURABLE, ItemStatus.UNSAVED: BytesState.HELD,
    ItemStatus.LOST: BytesState.GONE, ItemStatus.URL_ONLY: BytesState.NONE,
    ItemStatus.EXPIRED: BytesState.NONE}
# Every status as its plain string, in the vocabulary's order (counts are keyed by these).
STATUSES = tuple(s.value for s in ItemStatus)
# The statuses whose records hold on to their blob (a blob they name is not an orphan).
BLOB_HOLDERS = (ItemStatus.SAVED, ItemStatus.UNSAVED)
_STORAGE_ERROR_TYPES = frozenset(t for t in ErrorType if t.is_storage)
BYTES_LOST = ("the held bytes were lost (the sidecar stopped before they could be saved); "
              "add the item again")

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

    @property
    def is_storage(self) -> bool:
        """A failure of local storage (blocked, transient, I/O), not of a download."""
        return self.error_type in _STORAGE_ERROR_TYPES

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> ErrorInfo | None:
        if not text:
            return None
        raw = json.loads(text)
        return cls(str(raw["message"]), int(raw["timestamp"]), str(raw["error_type"]),
                   raw.get("errno"))


class ItemRecord(NamedTuple):
    """One media item as the store keeps it. ``sha256``/``size`` name the bytes when known.

    A tuple whose fields are the database columns in ``SELECT`` order, so a row becomes a
    record with one ``tuple.__new__`` (listing cost). Folder ids and the storage error stay
    the JSON text they are stored as; ``folder_ids`` / ``storage_error`` parse them. Build
    records with ``ItemRecord.create`` and change them with ``evolve``.
    """

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
    folders_json: str = "[]"
    error_json: str | None = None
    metadata: str = "{}"

    @classmethod
    def create(cls, *, folder_ids: Iterable[str] = (), storage_error: ErrorInfo | None = None,
               **fields: Any) -> ItemRecord:
        return cls(**fields, folders_json=_folders(folder_ids),
                   error_json=None if storage_error is None else storage_error.to_json())

    @property
    def folder_ids(self) -> tuple[str, ...]:
        if self.folders_json == "[]":
            return ()
        return tuple(json.loads(self.folders_json))

    @property
    def storage_error(self) -> ErrorInfo | None:
        return ErrorInfo.from_json(self.error_json)

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
        """A copy with ``changes`` (``folder_ids`` and ``storage_error`` accepted as values),
        a fresh ``rev`` and (unless given) a fresh ``updated_at``."""
        if "storage_error" in changes:
            err = changes.pop("storage_error")
            changes["error_json"] = None if err is None else err.to_json()
        if "folder_ids" in changes:
            changes["folders_json"] = _folders(changes.pop("folder_ids"))
        changes.setdefault("updated_at", max(now_ms(), self.updated_at))
        changes.setdefault("rev", next_rev())
        return self._replace(**changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the fallback journal)."""
        d = {f: getattr(self, f) for f in _RECORD_FIELDS}
        d["folder_ids"] = list(self.folder_ids)
        err = self.storage_error
        d["storage_error"] = None if err is None else asdict(err)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ItemRecord:
        err = d.get("storage_error")
        kw: dict[str, Any] = {f: d.get(f) for f in _RECORD_FIELDS}
        kw["folder_ids"] = tuple(d.get("folder_ids") or ())
        kw["storage_error"] = None if not err else ErrorInfo(
            str(err["message"]), int(err["timestamp"]), str(err["error_type"]), err.get("errno"))
        kw["metadata"] = d.get("metadata") or "{}"
        return cls.create(**kw)


def bytes_lost(rec: ItemRecord) -> ItemRecord:
    """The record of an unsaved item whose held bytes are gone: urlOnly when its URL can
    bring them back, else lost (a retry has nothing to save)."""
    info = ErrorInfo(BYTES_LOST, now_ms(), ErrorType.STORAGE_IO_ERROR, None)
    status = ItemStatus.URL_ONLY if rec.source_url else ItemStatus.LOST
    return rec.evolve(status=status, storage_error=info)


def _folders(folder_ids: Iterable[str]) -> str:
    ids = list(folder_ids)
    return json.dumps(ids, separators=(",", ":")) if ids else "[]"


_RECORD_FIELDS = (
    "id", "project_id", "name", "type", "status", "created_at", "updated_at", "rev",
    "mime_type", "size", "sha256", "width", "height", "duration", "fps", "source_url",
    "metadata",
)
