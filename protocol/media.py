"""The media library: the MediaItem and the store's methods."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from protocol.base import Params, Result, WireEnum
from protocol.vocabulary import (
    ByteLocation,
    BytesState,
    ErrorType,
    FaultErrno,
    FaultOp,
    ItemStatus,
    MediaType,
    RecordState,
    SortKey,
    SortOrder,
)

ItemId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
ProjectId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
FolderId = Annotated[str, Field(min_length=1, max_length=128)]
Name = Annotated[str, Field(min_length=1, max_length=255)]
Url = Annotated[str, Field(min_length=1, max_length=4096)]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class StorageErrorInfo(Result):
    """Why an item is not durable. ``errno`` is the OS error name (ENOSPC, EROFS, ...)."""

    message: str
    timestamp: int = Field(description="ms since epoch")
    error_type: ErrorType
    errno: str | None = None


class MediaItem(Result):
    """One item of a project's media library, as every reply and event shows it."""

    id: str
    project_id: str
    name: str
    type: MediaType
    mime_type: str | None = Field(default=None, description="Set for every item that has "
                                  "bytes: sniffed from them (the client's type is kept only "
                                  "when it names the same container).")
    size: int | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: float | None = None
    source_url: str | None = Field(default=None, description="The remote (FAL) URL, persisted.")
    folder_ids: list[str] = Field(default_factory=list)
    created_at: int = Field(description="ms since epoch")
    updated_at: int = Field(description="ms since epoch")
    status: ItemStatus = Field(description="saved · unsaved (bytes held, retry possible) · "
                               "urlOnly · expired · lost (unsaved, and the held bytes are gone: "
                               "only adding the bytes again can save it; never retried).")
    durable: bool = Field(description="True only when the bytes are fsynced in the store.")
    bytes_state: BytesState = Field(description="Where the item's bytes are: durable (fsynced "
                                    "in the store), held (kept by the sidecar for a retry), "
                                    "gone (lost; only re-adding them helps), none (never had "
                                    "local bytes: urlOnly, expired).")
    record_state: RecordState = Field(
        default=RecordState.STORED, description="Where the item's record is: stored (in the "
        "database), journalled (the database refused it; in the fallback journal, replayed at "
        "the next start) or memory (in memory only: lost if the sidecar stops before storage "
        "recovers).")
    storage_error: StorageErrorInfo | None = None
    local_path: str | None = Field(default=None, description="Absolute path of the blob when "
                                   "saved, for playback by the app.")
    metadata: dict[str, object] = Field(
        default_factory=dict,
        description="Free-form (model, prompt, jobId, ...) plus the seeds' flags: "
        "metadata.unsaved, metadata.urlOnly, metadata.storageError.",
    )


class AddMediaItemParams(Params):
    """Add an item. Bytes come from exactly one source: binary payload frames (inline,
    concatenated in order), ``sourcePath`` (a local file under an allowed root), ``sourceUrl``
    with ``download: true`` (the sidecar downloads it), or ``sourceUrl`` alone (URL-only)."""

    id: ItemId | None = Field(default=None, description="Client-chosen id; repeated adds with "
                              "the same id and content are idempotent.")
    project_id: ProjectId
    name: Name
    type: WireEnum[MediaType]
    mime_type: Annotated[str, Field(max_length=255)] | None = Field(
        default=None, description="Optional: the bytes' container decides; a type naming "
        "another container than the bytes is replaced by the sniffed one, and a type that is "
        "not a media type is ignored.")
    width: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    height: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    duration: Annotated[float, Field(ge=0)] | None = None
    fps: Annotated[float, Field(ge=0, le=10_000)] | None = None
    folder_ids: Annotated[list[FolderId], Field(max_length=256)] = Field(default_factory=list)
    metadata: dict[str, object] = Field(default_factory=dict)
    source_url: Url | None = None
    source_path: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    download: bool = False
    expected_sha256: Sha256Hex | None = None


class AddMediaItemResult(Result):
    """The item as stored, whether this call created it, and whether its bytes are durable."""

    item: MediaItem
    created: bool = Field(description="False when an identical item with this id existed.")
    durable: bool
    recorded: bool = Field(default=True, description="The item's record reached the database. "
                           "False: it is only journalled or in memory (see item.recordState).")


class ItemRef(Params):
    """One item; with ``projectId`` the item must belong to that project."""

    id: ItemId
    project_id: ProjectId | None = None


class GetMediaItemParams(ItemRef):
    """Get one item."""


class GetMediaItemResult(Result):
    """One item."""

    item: MediaItem


class RemoveMediaItemParams(ItemRef):
    """Remove one item; its blob is deleted unless another item shares it."""


class RemoveMediaItemResult(Result):
    """The item is gone; ``blobDeleted`` is false when another item shares its bytes."""

    id: str
    removed: bool
    blob_deleted: bool


class ListMediaItemsParams(Params):
    """List one project's items. Pagination is by opaque cursor, stable under inserts."""

    project_id: ProjectId
    type: WireEnum[MediaType] | None = None
    status: Annotated[list[WireEnum[ItemStatus]], Field(max_length=5)] | None = None
    folder_id: FolderId | None = None
    text: Annotated[str, Field(max_length=256)] | None = None
    sort: WireEnum[SortKey] = SortKey.CREATED_AT
    order: WireEnum[SortOrder] = SortOrder.DESC
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    cursor: Annotated[str, Field(max_length=1024)] | None = None


class StatusCounts(Result):
    """Items by status (the app's badges and 'N unsaved items' banner). ``unsaved`` counts
    only items a retry can save; ``lost`` those whose held bytes are gone."""

    saved: int = 0
    unsaved: int = 0
    url_only: int = 0
    expired: int = 0
    lost: int = 0
    total: int = 0


class ListMediaItemsResult(Result):
    """One page of a project's items, the cursor of the next page, and the project's counts."""

    items: list[MediaItem]
    next_cursor: str | None
    counts: StatusCounts = Field(description="Counts by status for the whole project, "
                                 "ignoring filters (the app's 'N unsaved items' banner).")


MAX_OFFSET = 2**53 - 1  # the largest integer a JavaScript number holds exactly


class GetMediaSourceParams(Params):
    """Where an item's bytes are right now, for playback. ``bytes`` says how to read them:
    ``file`` (``path`` is a regular file holding exactly the item's bytes: the blob of a
    saved item, or the spill copy of an unsaved one), ``memory`` (held by the sidecar only:
    read them with readMediaRange), ``none`` (no local bytes: urlOnly, expired, or held bytes
    lost; play ``sourceUrl`` if there is one). The answer is a snapshot: an item saved or
    retried later moves to its blob; readMediaRange always reads from wherever it is."""

    id: ItemId
    project_id: ProjectId


class GetMediaSourceResult(Result):
    """An item's playback source; size, mimeType and sha256 are null when unknown."""

    id: str
    project_id: str
    status: ItemStatus
    size: int | None
    mime_type: str | None
    sha256: str | None
    path: str | None = Field(description="Absolute path of a regular file holding exactly the "
                             "item's bytes when ``bytes`` is ``file``, else null.")
    source_url: str | None
    bytes: ByteLocation = Field(description="Where the bytes are: a file (``path``), the "
                                "sidecar's memory (readMediaRange), or nowhere local.")


class ReadMediaRangeParams(Params):
    """Read the bytes ``[offset, offset+length)`` of an item that has local bytes, wherever
    they are at the moment of the call (blob, spill file or memory). The reply carries
    exactly one binary payload frame with the bytes. ``length`` is 1..``limits.maxRangeBytes``;
    ``offset`` must be below the item's size."""

    id: ItemId
    project_id: ProjectId
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)]
    length: Annotated[int, Field(ge=1, le=MAX_OFFSET)]


class ReadMediaRangeResult(Result):
    """Which bytes the reply's one payload frame holds: ``length`` is shorter than asked only
    at the end of the item. ``size`` and ``sha256`` are the whole item's (the ETag)."""

    offset: int
    length: int
    size: int
    sha256: str


class RetrySaveItemParams(ItemRef):
    """Save an ``unsaved`` item again from the bytes the sidecar holds. An item with nothing
    to retry (any other status, ``lost`` included) answers ``conflict`` with
    ``data = {itemId, status, bytesState}``."""


class RetrySaveItemResult(Result):
    """The item after the retry: saved, or still unsaved with a fresh error."""

    item: MediaItem
    durable: bool


class RetryAllUnsavedParams(Params):
    """Retry every unsaved item of a project (the 'Retry all' banner)."""

    project_id: ProjectId


class BatchSummary(Result):
    """What a batch operation did, item by item counted by outcome."""

    attempted: int
    saved: int
    unsaved: int = 0
    url_only: int = 0
    expired: int = 0
    failed: int = 0
    item_ids: list[str] = Field(default_factory=list)


class RetryAllUnsavedResult(BatchSummary):
    """How many were saved and how many are still unsaved."""


class StorageStatusParams(Params):
    """Where the store is, whether it is writable, how full it is."""


class StorageStatusResult(Result):
    """Where the library is, whether it can be written, and what is held unsaved."""

    data_dir: str
    writable: bool
    blocked: bool
    free_bytes: int
    total_bytes: int
    held_bytes: int = Field(description="Bytes of unsaved items held in memory or spill.")
    held_items: int
    last_error: StorageErrorInfo | None = None
    counts: StatusCounts
    rollback_on_failure: bool


class FaultParams(Params):
    """Test-only: make the next ``count`` store operations ``op`` fail with ``errno``.
    Served only by a server started with ``--enable-test-hooks``."""

    op: WireEnum[FaultOp]
    errno: WireEnum[FaultErrno] = FaultErrno.ENOSPC
    count: Annotated[int, Field(ge=0, le=1_000_000)] = 1


class FaultResult(Result):
    """The faults armed now, by operation."""

    active: dict[str, int]
