"""Store records → protocol models (and the seeds' flags computed on output).

``metadata.unsaved``, ``metadata.urlOnly`` and ``metadata.storageError`` are derived from the
record's status and error every time an item is shown; they are never stored twice
(``metadata.unsaved`` is true for ``lost`` items too: they are not saved either).
``bytesState`` follows the status; ``recordState`` asks the store whether the record is only
journalled or in memory. Models
are built by pydantic's validator (in Rust: faster than ``model_construct``, and checked);
the listing hot path uses the same wire dicts without the model round trip.
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
from protocol.vocabulary import ItemStatus
from sidecar.store.records import BYTES_STATE, STATUSES, ErrorInfo, ItemRecord
from sidecar.store.store import MediaStore

DERIVED_KEYS = ("unsaved", "urlOnly", "storageError")
_validate_item = MediaItem.model_validate


def error_model(info: ErrorInfo | None) -> StorageErrorInfo | None:
    if info is None:
        return None
    return StorageErrorInfo.model_validate(asdict(info))


def item_fields(rec: ItemRecord, record_state: str, local_path: str | None) -> list[Any]:
    """The item as a flat ``[key, value, key, value, ...]`` list, exactly the fields and order
    of ``MediaItem(...).wire()``: ``item_wire`` zips it into a dict, and a listed page packs
    it as is (``service/listing.py``), so the item's wire form is written once.
    ``local_path``: the blob's path (used only when the item is saved)."""
    meta: dict[str, Any] = json.loads(rec.metadata) if rec.metadata != "{}" else {}
    status = rec.status
    meta["unsaved"] = status in (ItemStatus.UNSAVED, ItemStatus.LOST)
    meta["urlOnly"] = status == ItemStatus.URL_ONLY
    error: dict[str, Any] | None = None
    if rec.error_json is not None:
        err = rec.storage_error
        if err is not None:
            error = {"message": err.message, "timestamp": err.timestamp,
                     "errorType": err.error_type, "errno": err.errno}
            meta["storageError"] = dict(error)
    saved = status == ItemStatus.SAVED
    folders = rec.folders_json
    return [
        "id", rec.id, "projectId", rec.project_id, "name", rec.name, "type", rec.type,
        "mimeType", rec.mime_type, "size", rec.size, "sha256", rec.sha256, "width", rec.width,
        "height", rec.height, "duration", rec.duration, "fps", rec.fps,
        "sourceUrl", rec.source_url,
        "folderIds", [] if folders == "[]" else json.loads(folders),
        "createdAt", rec.created_at, "updatedAt", rec.updated_at, "status", status,
        "durable", saved, "bytesState", BYTES_STATE[status], "recordState", record_state,
        "storageError", error,
        "localPath", local_path if saved and rec.sha256 else None,
        "metadata", meta]


def item_wire(rec: ItemRecord, store: MediaStore) -> dict[str, Any]:
    """The item exactly as ``MediaItem(...).wire()`` shows it, built directly: skipping the
    model round trip is several times faster. ``tests/service/test_convert.py`` checks the
    two agree."""
    sha = rec.sha256
    fields = item_fields(rec, store.record_state(rec.id),
                         store.blob_path_str(sha) if sha else None)
    return dict(zip(fields[::2], fields[1::2], strict=True))


def item_model(rec: ItemRecord, store: MediaStore) -> MediaItem:
    return _validate_item(item_wire(rec, store))


def counts_wire(counts: dict[str, int]) -> dict[str, int]:
    wire = {s: counts.get(s, 0) for s in STATUSES}
    wire["total"] = sum(counts.values())
    return wire


def counts_model(counts: dict[str, int]) -> StatusCounts:
    return StatusCounts.model_construct(
        saved=counts.get(ItemStatus.SAVED, 0), unsaved=counts.get(ItemStatus.UNSAVED, 0),
        url_only=counts.get(ItemStatus.URL_ONLY, 0), expired=counts.get(ItemStatus.EXPIRED, 0),
        lost=counts.get(ItemStatus.LOST, 0), total=sum(counts.values()))
