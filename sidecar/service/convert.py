"""Store records → protocol models (and the seeds' flags computed on output).

``metadata.unsaved``, ``metadata.urlOnly`` and ``metadata.storageError`` are derived from the
record's status and error every time an item is shown; they are never stored twice. Models
are built with ``model_construct``: the records were validated when they were written.
"""

from __future__ import annotations

import json
from typing import Any, cast

from protocol.media import (
    ErrorType,
    ItemStatus,
    MediaItem,
    MediaType,
    StatusCounts,
    StorageErrorInfo,
)
from sidecar.store.records import SAVED, UNSAVED, URL_ONLY, ErrorInfo, ItemRecord
from sidecar.store.store import MediaStore

DERIVED_KEYS = ("unsaved", "urlOnly", "storageError")


def error_model(info: ErrorInfo | None) -> StorageErrorInfo | None:
    if info is None:
        return None
    return StorageErrorInfo.model_construct(message=info.message, timestamp=info.timestamp,
                                            error_type=cast(ErrorType, info.error_type),
                                            errno=info.errno)


def item_model(rec: ItemRecord, store: MediaStore) -> MediaItem:
    meta: dict[str, Any] = json.loads(rec.metadata) if rec.metadata != "{}" else {}
    meta["unsaved"] = rec.status == UNSAVED
    meta["urlOnly"] = rec.status == URL_ONLY
    err = rec.storage_error
    if err is not None:
        meta["storageError"] = {"message": err.message, "timestamp": err.timestamp,
                                "errorType": err.error_type, "errno": err.errno}
    saved = rec.status == SAVED
    return MediaItem.model_construct(
        id=rec.id, project_id=rec.project_id, name=rec.name, type=cast(MediaType, rec.type),
        mime_type=rec.mime_type, size=rec.size, sha256=rec.sha256, width=rec.width,
        height=rec.height, duration=rec.duration, fps=rec.fps, source_url=rec.source_url,
        folder_ids=list(rec.folder_ids), created_at=rec.created_at, updated_at=rec.updated_at,
        status=cast(ItemStatus, rec.status), durable=saved, storage_error=error_model(err),
        local_path=str(store.blob_path(rec.sha256)) if saved and rec.sha256 else None,
        metadata=meta,
    )


def counts_model(counts: dict[str, int]) -> StatusCounts:
    return StatusCounts.model_construct(
        saved=counts.get("saved", 0), unsaved=counts.get("unsaved", 0),
        url_only=counts.get("urlOnly", 0), expired=counts.get("expired", 0),
        total=sum(counts.values()))
