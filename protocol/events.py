"""Events the server pushes to subscribed clients."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from protocol.base import Result
from protocol.media import MediaItem, StatusCounts, StorageErrorInfo
from protocol.vocabulary import DownloadOutcome


class Event(Result):
    """Base of every event payload; ``name`` is the event's wire name."""

    name: ClassVar[str]

    def project(self) -> str | None:
        """The project the event belongs to (for project-filtered subscriptions)."""
        return None


class _ItemEvent(Event):
    item: MediaItem
    counts: StatusCounts | None = Field(default=None, description="The item's project's "
                                        "counts after the change (the banner needs no list).")

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


class ItemLost(_ItemEvent):
    """The item's held bytes are gone (the sidecar stopped before they were saved, or the
    held copy is unreadable): it is now ``lost``; only adding its bytes again can save it."""

    name = "itemLost"


class ItemExpired(_ItemEvent):
    """The item's URL is gone (400/401/403/404/410); it cannot be downloaded any more."""

    name = "itemExpired"


class ItemRemoved(Event):
    """An item was removed."""

    name = "itemRemoved"
    id: str
    project_id: str
    counts: StatusCounts | None = Field(default=None, description="The project's counts "
                                        "after the removal.")

    def project(self) -> str | None:
        return self.project_id


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
                                            "only: how the download ended. ``paused``: the "
                                            "sidecar is stopping; the partial file is kept and "
                                            "the download resumes at the next start.")

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
    ItemLost,
    ItemRemoved,
    DownloadProgress,
    StorageStatusChanged,
)
