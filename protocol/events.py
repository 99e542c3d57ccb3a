"""Events the server pushes to subscribed clients."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from protocol.base import Result
from protocol.media import MediaItem, StorageErrorInfo


class Event(Result):
    """Base of every event payload; ``name`` is the event's wire name."""

    name: ClassVar[str]

    def project(self) -> str | None:
        """The project the event belongs to (for project-filtered subscriptions)."""
        return None


class _ItemEvent(Event):
    item: MediaItem

    def project(self) -> str | None:
        return self.item.project_id


class ItemAdded(_ItemEvent):
    """An item was added (whatever its status)."""

    name = "itemAdded"


class ItemSaved(_ItemEvent):
    """An item's bytes became durable (add, retry or download)."""

    name = "itemSaved"


class ItemUnsaved(_ItemEvent):
    """Storage failed; the item stays listed as unsaved (the app's toast with a retry action)."""

    name = "itemUnsaved"
    error: StorageErrorInfo


class ItemUrlOnly(_ItemEvent):
    """Storage is blocked; the item is kept as urlOnly (playable from its URL)."""

    name = "itemUrlOnly"
    error: StorageErrorInfo | None = None


class ItemExpired(_ItemEvent):
    """The item's URL is gone (400/401/403/404/410); it cannot be downloaded any more."""

    name = "itemExpired"


class ItemRemoved(Event):
    """An item was removed."""

    name = "itemRemoved"
    id: str
    project_id: str

    def project(self) -> str | None:
        return self.project_id


DownloadOutcome = Literal["saved", "unsaved", "urlOnly", "expired", "failed", "cancelled"]


class DownloadProgress(Event):
    """Progress of a download: throttled to a few per second, and always a final one."""

    name = "downloadProgress"
    id: str
    project_id: str
    bytes_done: int
    total_bytes: int | None = None
    rate_bps: float = Field(description="Bytes per second over the download so far.")
    final: bool = False
    outcome: DownloadOutcome | None = Field(default=None, description="On the final event "
                                            "only: how the download ended.")

    def project(self) -> str | None:
        return self.project_id


class StorageStatusChanged(Event):
    """Storage became blocked or writable again."""

    name = "storageStatusChanged"
    writable: bool
    blocked: bool
    reason: str | None = None
    error: StorageErrorInfo | None = None


EVENT_TYPES: tuple[type[Event], ...] = (
    ItemAdded,
    ItemSaved,
    ItemUnsaved,
    ItemUrlOnly,
    ItemExpired,
    ItemRemoved,
    DownloadProgress,
    StorageStatusChanged,
)
