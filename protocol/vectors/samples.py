"""The sample messages of the vectors: plain JSON-able values, written to the spec by hand.

Fixed ids, timestamps and hashes keep the output deterministic. No float here is
integer-valued (JavaScript encoders pack ``1.0`` as an integer).
"""

from __future__ import annotations

from typing import Any

from protocol.vocabulary import BytesState, ErrorType, ItemStatus, MediaType, RecordState

TS = 1_700_000_000_123
PROJECT = "proj-alpha"
ITEM_ID = "item-0001"
SHA = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"  # sha256("hello world")
FAL_URL = "https://v3.fal.media/files/rabbit/abc123_output.mp4"

Json = dict[str, Any]


def request(rid: str, method: str, params: Json | None = None, *, ts: int = TS) -> Json:
    out: Json = {"type": "request", "id": rid, "method": method}
    if params is not None:
        out["params"] = params
    out["ts"] = ts
    return out


def reply(rid: str, result: Json) -> Json:
    return {"type": "reply", "id": rid, "result": result, "ts": TS + 7}


def error(rid: str | None, code: str, message: str, field: str | None = None,
          data: Json | None = None) -> Json:
    return {"type": "error", "id": rid,
            "error": {"code": code, "message": message, "field": field, "data": data},
            "ts": TS + 7}


def event(name: str, seq: int, data: Json) -> Json:
    return {"type": "event", "event": name, "seq": seq, "data": data, "ts": TS + 9}


def storage_error(errno: str | None = "ENOSPC",
                  error_type: ErrorType = ErrorType.STORAGE_BLOCKED) -> Json:
    return {"message": "No space left on device", "timestamp": TS + 3,
            "errorType": error_type, "errno": errno}


def item(**changes: Any) -> Json:
    """A saved video, every field present as the server sends it."""
    out: Json = {
        "id": ITEM_ID,
        "projectId": PROJECT,
        "name": "sunset — 夕日.mp4",
        "type": MediaType.VIDEO,
        "mimeType": "video/mp4",
        "size": 11,
        "sha256": SHA,
        "width": 1920,
        "height": 1080,
        "duration": 5.5,
        "fps": 29.97,
        "sourceUrl": FAL_URL,
        "folderIds": ["folder-1"],
        "createdAt": TS,
        "updatedAt": TS + 1,
        "status": ItemStatus.SAVED,
        "durable": True,
        "bytesState": BytesState.DURABLE,
        "recordState": RecordState.STORED,
        "storageError": None,
        "localPath": "/home/ana/.local/share/media-sidecar/blobs/b9/" + SHA,
        "metadata": {"model": "fal-ai/kling-video", "prompt": "a sunset", "seed": 42},
    }
    out.update(changes)
    return out


def unsaved_item() -> Json:
    return item(status=ItemStatus.UNSAVED, durable=False, bytesState=BytesState.HELD,
                localPath=None,
                storageError=storage_error("EIO", ErrorType.STORAGE_IO_ERROR),
                metadata={"unsaved": True,
                          "storageError": {"message": "I/O error", "timestamp": TS + 3,
                                           "errorType": ErrorType.STORAGE_IO_ERROR}})


def url_only_item(**changes: Any) -> Json:
    out = item(status=ItemStatus.URL_ONLY, durable=False, bytesState=BytesState.NONE,
               localPath=None, size=None, sha256=None, storageError=storage_error(),
               metadata={"urlOnly": True})
    out.update(changes)
    return out


def lost_item() -> Json:
    return item(status=ItemStatus.LOST, durable=False, bytesState=BytesState.GONE, localPath=None,
                storageError=storage_error(None, ErrorType.STORAGE_IO_ERROR),
                metadata={"unsaved": True,
                          "storageError": {"message": "the held bytes were lost",
                                           "timestamp": TS + 3,
                                           "errorType": ErrorType.STORAGE_IO_ERROR}})


def counts(saved: int = 1, unsaved: int = 0, url_only: int = 0, expired: int = 0,
           lost: int = 0) -> Json:
    return {"saved": saved, "unsaved": unsaved, "urlOnly": url_only, "expired": expired,
            "lost": lost, "total": saved + unsaved + url_only + expired + lost}


def batch(attempted: int, saved: int, **rest: Any) -> Json:
    out: Json = {"attempted": attempted, "saved": saved, "unsaved": 0, "urlOnly": 0,
                 "expired": 0, "failed": 0, "itemIds": []}
    out.update(rest)
    return out


LIMITS: Json = {"maxEnvelopeBytes": 1_048_576, "maxFrameBytes": 1_073_741_824, "maxFrames": 64,
                "maxInFlight": 32, "maxInFlightServer": 64, "maxMetadataBytes": 65_536,
                "maxDownloadBytes": 8_589_934_592, "replayWindowMs": 30_000,
                "maxRangeBytes": 4_194_304}
