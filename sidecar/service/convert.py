"""Store records → protocol models (and the seeds' flags computed on output).

``metadata.unsaved``, ``metadata.urlOnly`` and ``metadata.storageError`` are derived from the
record's status and error every time an item is shown; they are never stored twice. Models
are built by pydantic's validator (in Rust: faster than ``model_construct``, and checked).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from protocol.media import (
    MediaItem,
    StatusCounts,
    StorageErrorInfo,
)
from sidecar.store.records import SAVED, UNSAVED, URL_ONLY, ErrorInfo, ItemRecord
from sidecar.store.store import MediaStore

DERIVED_KEYS = ("unsaved", "urlOnly", "storageError")
_validate_item = MediaItem.model_validate


def error_model(info: ErrorInfo | None) -> StorageErrorInfo | None:
    if info is None:
        return None
    return StorageErrorInfo.model_validate(asdict(info))


def item_model(rec: ItemRecord, store: MediaStore) -> MediaItem:
    meta: dict[str, Any] = json.loads(rec.metadata) if rec.metadata != "{}" else {}
    status = rec.status
    meta["unsaved"] = status == UNSAVED
    meta["urlOnly"] = status == URL_ONLY
    err = rec.storage_error
    if err is not None:
        meta["storageError"] = {"message": err.message, "timestamp": err.timestamp,
                                "errorType": err.error_type, "errno": err.errno}
    saved = status == SAVED
    sha = rec.sha256
    return _validate_item({
        "id": rec.id, "project_id": rec.project_id, "name": rec.name, "type": rec.type,
        "mime_type": rec.mime_type, "size": rec.size, "sha256": sha, "width": rec.width,
        "height": rec.height, "duration": rec.duration, "fps": rec.fps,
        "source_url": rec.source_url, "folder_ids": list(rec.folder_ids),
        "created_at": rec.created_at, "updated_at": rec.updated_at, "status": status,
        "durable": saved, "storage_error": None if err is None else asdict(err),
        "local_path": store.blob_path_str(sha) if saved and sha else None,
        "metadata": meta,
    })


def counts_model(counts: dict[str, int]) -> StatusCounts:
    return StatusCounts.model_construct(
        saved=counts.get("saved", 0), unsaved=counts.get("unsaved", 0),
        url_only=counts.get("urlOnly", 0), expired=counts.get("expired", 0),
        total=sum(counts.values()))
