"""Downloads of remote (FAL) URLs into the store."""

from __future__ import annotations

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
    """Cancel the running download of an item; its request answers ``cancelled``."""


class CancelDownloadResult(Result):
    """Whether a running download of the item was cancelled."""

    id: str
    cancelled: bool
