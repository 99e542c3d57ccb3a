"""Downloads of remote (FAL) URLs into the store."""

from __future__ import annotations

from pydantic import Field

from protocol.base import Params, Result
from protocol.media import BatchSummary, ItemRef, MediaItem, ProjectId


class DownloadUrlOnlyItemParams(ItemRef):
    """Download a ``urlOnly`` item from its ``sourceUrl`` and save it."""


class DownloadUrlOnlyItemResult(Result):
    """The item after the download: saved (durable), or as storage allowed."""

    item: MediaItem
    durable: bool


class DownloadAllUrlOnlyParams(Params):
    """Download every ``urlOnly`` item of a project, with bounded concurrency."""

    project_id: ProjectId


class DownloadAllUrlOnlyResult(BatchSummary):
    """How many were saved, expired, or failed (and stay urlOnly)."""


class CancelDownloadParams(ItemRef):
    """Cancel the running download of an item; its request answers ``cancelled``; the
    partial file is deleted (a later download starts from zero)."""


class CancelDownloadResult(Result):
    """Whether a running download of the item was cancelled."""

    id: str
    cancelled: bool


class ListDownloadsParams(Params):
    """The downloads running now (of one project, or all): for a window that reloaded, or
    after a restart that resumed downloads. Their progress comes as downloadProgress."""

    project_id: ProjectId | None = None


class DownloadInfo(Result):
    """One download in progress."""

    id: str = Field(description="The item's id (it stays urlOnly until the download ends).")
    project_id: str
    bytes_done: int
    total_bytes: int | None = None
    resumed_from_bytes: int = Field(default=0, description="Bytes kept from an earlier run "
                                    "(a crash or a quit) that this run continued from.")
    started_at: int = Field(description="ms since epoch, when this run started")


class ListDownloadsResult(Result):
    """The downloads in progress, oldest first."""

    downloads: list[DownloadInfo]
