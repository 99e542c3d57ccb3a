"""The list of vectors: each names what it must do and what a receiver must answer.

``valid``: messages of every kind that must be accepted. ``invalid``: requests a server must
refuse, with the error code (and ``field``) it must answer and the ``replyId`` its error
reply must carry (``null`` when no id can be read). A server checks a request vector as if
it came correctly signed, with the freshness check of ``ts`` switched off (the vectors'
``ts`` is fixed) but its type still checked: ``ts`` belongs to authentication. Values a
JSON file cannot hold (bin strings, integer map keys, broken msgpack) are given as exact
bytes only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack

from protocol.vectors.samples import (
    FAL_URL,
    ITEM_ID,
    LIMITS,
    PROJECT,
    SHA,
    TS,
    Json,
    batch,
    counts,
    error,
    event,
    item,
    lost_item,
    reply,
    request,
    storage_error,
    unsaved_item,
    url_only_item,
)
from protocol.vocabulary import (
    ByteLocation,
    BytesState,
    DownloadOutcome,
    ErrorType,
    FaultErrno,
    FaultOp,
    ItemStatus,
    MediaType,
    RecordState,
    SortKey,
    SortOrder,
)


@dataclass(frozen=True)
class Vector:
    name: str
    description: str
    kind: str  # request | reply | error | event
    value: Any  # the decoded value; None when only ``raw`` can say it
    expect: Json
    method: str | None = None
    raw: bytes | None = None  # exact bytes, when ``value`` cannot say it (or is None)
    extra: Json = field(default_factory=dict)


def _pack(value: dict[str, Any]) -> bytes:
    """Bytes a JSON file cannot describe (bin strings, cut frames): msgpack's own packing."""
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def _ok(name: str, description: str, value: Json, method: str | None = None) -> Vector:
    kind = str(value["type"])
    if method is None and kind == "request":
        method = str(value["method"])
    return Vector(name, description, kind, value, {"ok": True}, method)


def _bad(name: str, description: str, value: Any, code: str, *,
         field: str | None = None, reply_id: str | None = None,
         raw: bytes | None = None) -> Vector:
    expect: Json = {"error": code}
    if field is not None:
        expect["field"] = field
    expect["replyId"] = reply_id
    method = value.get("method") if isinstance(value, dict) else None
    return Vector(name, description, "request", value, expect,
                  method if isinstance(method, str) else None, raw)


def _add(**params: Any) -> Json:
    base: Json = {"projectId": PROJECT, "name": "clip.mp4", "type": MediaType.VIDEO}
    base.update(params)
    return base


VALID: tuple[Vector, ...] = (
    # requests
    _ok("request-hello", "hello with the client's version and name",
        request("r1", "hello", {"protocol": "1.0.0",
                                "client": {"name": "qcut", "version": "0.3.1"}})),
    _ok("request-hello-minimal", "hello with only the protocol version",
        request("r1", "hello", {"protocol": "1.2.0"})),
    _ok("request-ping-params-omitted", "params may be omitted: they default to {}",
        request("r2", "ping")),
    _ok("request-ping-empty-params", "ping with an empty params map", request("r2", "ping", {})),
    _ok("request-id-128-chars", "a request id may be up to 128 characters",
        request("x" * 128, "ping", {})),
    _ok("request-shutdown", "shutdown with a drain timeout",
        request("r3", "shutdown", {"drainTimeoutMs": 2500})),
    _ok("request-subscribe-all", "subscribe to every event of every project",
        request("r4", "subscribe", {})),
    _ok("request-subscribe-filtered", "subscribe to two events of one project",
        request("r4", "subscribe", {"events": ["itemAdded", "itemUnsaved"],
                                    "projectId": PROJECT})),
    _ok("request-unsubscribe", "unsubscribe", request("r5", "unsubscribe", {})),
    _ok("request-addMediaItem-inline", "add with bytes in payload frames (frames not shown)",
        request("r6", "addMediaItem", _add(
            id=ITEM_ID, mimeType="video/mp4", width=1920, height=1080, duration=5.5,
            fps=29.97, folderIds=["folder-1"], expectedSha256=SHA,
            metadata={"model": "fal-ai/kling-video", "prompt": "a sunset", "seed": 42,
                      "tags": ["a", "b"], "score": 0.75}))),
    _ok("request-addMediaItem-url-only", "register a URL-only item (no bytes)",
        request("r7", "addMediaItem", _add(sourceUrl=FAL_URL))),
    _ok("request-addMediaItem-download", "the sidecar downloads the URL itself",
        request("r8", "addMediaItem", _add(sourceUrl=FAL_URL, download=True))),
    _ok("request-addMediaItem-source-path", "add from a local file",
        request("r9", "addMediaItem", _add(type=MediaType.IMAGE, name="still.png",
                                           sourcePath="/home/ana/Pictures/still.png"))),
    _ok("request-addMediaItem-explicit-nulls", "optional params may be sent as null",
        request("r10", "addMediaItem", _add(id=None, mimeType=None, width=None,
                                            duration=None, sourceUrl=None))),
    _ok("request-addMediaItem-unicode-name", "names are UTF-8 strings",
        request("r11", "addMediaItem", _add(name="café — 動画 🎬.mp4", type=MediaType.AUDIO))),
    _ok("request-getMediaItem", "get one item", request("r12", "getMediaItem", {"id": ITEM_ID})),
    _ok("request-getMediaItem-in-project", "get one item that must belong to a project",
        request("r13", "getMediaItem", {"id": ITEM_ID, "projectId": PROJECT})),
    _ok("request-removeMediaItem", "remove one item",
        request("r14", "removeMediaItem", {"id": ITEM_ID, "projectId": PROJECT})),
    _ok("request-listMediaItems-defaults", "list a project with default filters",
        request("r15", "listMediaItems", {"projectId": PROJECT})),
    _ok("request-listMediaItems-all-filters", "list with every filter and a cursor",
        request("r16", "listMediaItems", {
            "projectId": PROJECT, "type": MediaType.VIDEO,
            "status": [ItemStatus.UNSAVED, ItemStatus.URL_ONLY],
            "folderId": "folder-1", "text": "sunset", "sort": SortKey.NAME, "order": SortOrder.ASC,
            "limit": 50, "cursor": "eyJrIjoxfQ"})),
    _ok("request-retrySaveItem", "retry one unsaved item",
        request("r17", "retrySaveItem", {"id": ITEM_ID})),
    _ok("request-retryAllUnsaved", "retry every unsaved item of a project",
        request("r18", "retryAllUnsaved", {"projectId": PROJECT})),
    _ok("request-storageStatus", "storage status", request("r19", "storageStatus", {})),
    _ok("request-downloadUrlOnlyItem", "download one urlOnly item",
        request("r20", "downloadUrlOnlyItem", {"id": ITEM_ID, "projectId": PROJECT})),
    _ok("request-downloadAllUrlOnly", "download every urlOnly item of a project",
        request("r21", "downloadAllUrlOnly", {"projectId": PROJECT})),
    _ok("request-cancelDownload", "cancel a running download",
        request("r22", "cancelDownload", {"id": ITEM_ID})),
    _ok("request-listDownloads", "the downloads in progress of a project",
        request("r26", "listDownloads", {"projectId": PROJECT})),
    _ok("request-testFault", "test-only fault injection (servers with test hooks)",
        request("r23", "testFault",
                {"op": FaultOp.BLOB_WRITE, "errno": FaultErrno.EIO, "count": 2})),
    _ok("request-getMediaSource", "where an item's bytes are, for playback",
        request("r24", "getMediaSource", {"id": ITEM_ID, "projectId": PROJECT})),
    _ok("request-readMediaRange", "read 64 KiB of an item from its second MiB",
        request("r25", "readMediaRange", {"id": ITEM_ID, "projectId": PROJECT,
                                          "offset": 1_048_576, "length": 65_536})),
    # replies
    _ok("reply-hello", "hello's reply",
        reply("r1", {"server": {"name": "media-sidecar", "version": "0.1.0"},
                     "protocol": "1.0.0", "session": "5f0c8f6e2b9a4d1c",
                     "methods": ["hello", "ping", "addMediaItem"],
                     "events": ["itemAdded", "itemSaved"], "limits": LIMITS,
                     "features": {"testHooks": False, "downloads": True},
                     "dataDir": "/home/ana/.local/share/media-sidecar"}), "hello"),
    _ok("reply-ping", "ping's reply",
        reply("r2", {"pong": True, "time": TS + 5, "uptimeMs": 1234}), "ping"),
    _ok("reply-shutdown", "shutdown's reply",
        reply("r3", {"accepted": True, "inFlight": 2}), "shutdown"),
    _ok("reply-subscribe", "subscribe's reply",
        reply("r4", {"events": ["itemAdded", "itemUnsaved"], "projectId": PROJECT, "seq": 0}),
        "subscribe"),
    _ok("reply-addMediaItem-saved", "an add whose bytes are durable",
        reply("r6", {"item": item(), "created": True, "durable": True, "recorded": True}),
        "addMediaItem"),
    _ok("reply-addMediaItem-unsaved", "an add kept as unsaved after a storage failure",
        reply("r6", {"item": unsaved_item(), "created": True, "durable": False, "recorded": True}),
        "addMediaItem"),
    _ok("reply-addMediaItem-url-only", "an add kept as urlOnly: storage blocked, URL known",
        reply("r7", {"item": url_only_item(), "created": True, "durable": False, "recorded": True}),
        "addMediaItem"),
    _ok("reply-addMediaItem-not-recorded", "a URL-only add the database refused: listed, "
        "but its record is only journalled",
        reply("r7", {"item": url_only_item(storageError=None, recordState=RecordState.JOURNALLED),
                     "created": True, "durable": False, "recorded": False}), "addMediaItem"),
    _ok("reply-getMediaItem", "get's reply", reply("r12", {"item": item()}), "getMediaItem"),
    _ok("reply-removeMediaItem", "remove's reply",
        reply("r14", {"id": ITEM_ID, "removed": True, "blobDeleted": False}), "removeMediaItem"),
    _ok("reply-listMediaItems", "a page of items with a next cursor and counts",
        reply("r15", {"items": [item(), unsaved_item()], "nextCursor": "eyJrIjoyfQ",
                      "counts": counts(1, 1, 0, 0)}), "listMediaItems"),
    _ok("reply-listMediaItems-last-page", "the last page: nextCursor is null",
        reply("r16", {"items": [], "nextCursor": None, "counts": counts(0)}), "listMediaItems"),
    _ok("reply-retryAllUnsaved", "retry-all summary",
        reply("r18", batch(2, 1, unsaved=1, itemIds=[ITEM_ID, "item-0002"])),
        "retryAllUnsaved"),
    _ok("reply-storageStatus", "storage status, blocked",
        reply("r19", {"dataDir": "/data", "writable": False, "blocked": True,
                      "freeBytes": 0, "totalBytes": 10_737_418_240, "heldBytes": 11,
                      "heldItems": 1, "lastError": storage_error(),
                      "counts": counts(3, 1, 1, 0), "rollbackOnFailure": False}),
        "storageStatus"),
    _ok("reply-downloadUrlOnlyItem", "a download that saved the item",
        reply("r20", {"item": item(), "durable": True}), "downloadUrlOnlyItem"),
    _ok("reply-cancelDownload", "cancel's reply",
        reply("r22", {"id": ITEM_ID, "cancelled": True}), "cancelDownload"),
    _ok("reply-listDownloads", "one download in progress, resumed after a restart",
        reply("r26", {"downloads": [{"id": ITEM_ID, "projectId": PROJECT,
                                     "bytesDone": 1_048_576, "totalBytes": 2_097_152,
                                     "resumedFromBytes": 524_288, "startedAt": TS}]}),
        "listDownloads"),
    _ok("reply-getMediaSource-file", "a saved item: its blob is the file to serve",
        reply("r24", {"id": ITEM_ID, "projectId": PROJECT, "status": ItemStatus.SAVED, "size": 11,
                      "mimeType": "video/mp4", "sha256": SHA,
                      "path": "/home/ana/.local/share/media-sidecar/blobs/b9/" + SHA,
                      "sourceUrl": FAL_URL, "bytes": ByteLocation.FILE}), "getMediaSource"),
    _ok("reply-getMediaSource-memory", "an unsaved item held in memory: read it by ranges",
        reply("r24", {"id": ITEM_ID, "projectId": PROJECT, "status": ItemStatus.UNSAVED, "size": 11,
                      "mimeType": "video/webm", "sha256": SHA, "path": None,
                      "sourceUrl": None, "bytes": ByteLocation.MEMORY}), "getMediaSource"),
    _ok("reply-getMediaSource-none", "a urlOnly item: no local bytes, play its URL",
        reply("r24", {"id": ITEM_ID, "projectId": PROJECT, "status": ItemStatus.URL_ONLY,
                      "size": None,
                      "mimeType": None, "sha256": None, "path": None, "sourceUrl": FAL_URL,
                      "bytes": ByteLocation.NONE}), "getMediaSource"),
    _ok("reply-readMediaRange-tail", "the last bytes: shorter than asked (one payload frame, "
        "not shown, holds them)",
        reply("r25", {"offset": 6, "length": 5, "size": 11, "sha256": SHA}), "readMediaRange"),
    # errors
    _ok("error-no-local-bytes", "readMediaRange of an item without local bytes",
        error("r25", "no_local_bytes", "item item-0001 has no local bytes (urlOnly)", None,
              {"status": ItemStatus.URL_ONLY})),
    _ok("error-invalid-params-with-field", "an error naming the offending field",
        error("r6", "invalid_params", "params.projectId: Field required", "params.projectId")),
    _ok("error-not-found", "an error without field or data",
        error("r12", "not_found", "no item item-0001")),
    _ok("error-version-mismatch-with-data", "an error carrying data",
        error("r1", "version_mismatch", "client protocol 2.0.0 is incompatible with 1.0.0",
              "params.protocol", {"server": "1.0.0"})),
    _ok("error-nothing-to-retry", "retrySaveItem on an item whose bytes are gone",
        error("r17", "conflict", "item item-0001 has nothing to retry", "params.id",
              {"itemId": ITEM_ID, "status": ItemStatus.LOST, "bytesState": BytesState.GONE})),
    _ok("error-download-failed-with-item", "a failed add with download: true names the item "
        "it left behind",
        error("r8", "download_failed", "download failed after 5 attempts", None,
              {"attempts": 5, "itemId": ITEM_ID, "status": ItemStatus.URL_ONLY, "created": True})),
    _ok("error-id-null", "an error for a message too broken to carry an id",
        error(None, "invalid_request", "malformed msgpack")),
    # events
    _ok("event-itemAdded", "an item was added",
        event("itemAdded", 1, {"item": item(), "counts": counts(3, 1, 0, 0)})),
    _ok("event-itemSaved", "an item became durable",
        event("itemSaved", 2, {"item": item(), "counts": counts(3, 1, 0, 0)})),
    _ok("event-itemLost", "an unsaved item's held bytes are gone",
        event("itemLost", 10, {"item": lost_item(), "counts": counts(3, 0, 0, 0, 1)})),
    _ok("event-itemUnsaved", "storage failed, the item is kept unsaved",
        event("itemUnsaved", 3, {"item": unsaved_item(), "counts": counts(2, 2, 0, 0),
                                 "error": storage_error("EIO", ErrorType.STORAGE_IO_ERROR)})),
    _ok("event-itemUrlOnly", "storage blocked, the item is kept urlOnly",
        event("itemUrlOnly", 4, {"item": url_only_item(), "counts": None,
                                 "error": storage_error()})),
    _ok("event-itemExpired", "the item's URL is gone",
        event("itemExpired", 5, {"item": item(status=ItemStatus.EXPIRED, durable=False,
                                              bytesState=BytesState.NONE, localPath=None, size=None,
                                              sha256=None), "counts": counts(2, 0, 0, 1)})),
    _ok("event-itemRemoved", "an item was removed",
        event("itemRemoved", 6, {"id": ITEM_ID, "projectId": PROJECT,
                                  "counts": counts(2)})),
    _ok("event-downloadProgress", "download progress (not final)",
        event("downloadProgress", 7, {"id": ITEM_ID, "projectId": PROJECT,
                                      "bytesDone": 524_288, "totalBytes": 2_097_152,
                                      "rateBps": 1048576.5, "final": False, "outcome": None})),
    _ok("event-downloadProgress-final", "the final progress event, with its outcome",
        event("downloadProgress", 8, {"id": ITEM_ID, "projectId": PROJECT,
                                      "bytesDone": 2_097_152, "totalBytes": None,
                                      "rateBps": 3145728.25, "final": True,
                                      "outcome": DownloadOutcome.SAVED})),
    _ok("event-downloadProgress-paused", "the sidecar stopped mid-download: kept, resumed at "
        "the next start",
        event("downloadProgress", 11, {"id": ITEM_ID, "projectId": PROJECT,
                                       "bytesDone": 1_048_576, "totalBytes": 2_097_152,
                                       "rateBps": 524288.5, "final": True,
                                       "outcome": DownloadOutcome.PAUSED})),
    _ok("event-storageStatusChanged", "storage became blocked",
        event("storageStatusChanged", 9, {"writable": False, "blocked": True,
                                          "reason": "ENOSPC", "error": storage_error()})),
)


def _req(method: str, params: Json, rid: str = "bad-1") -> Json:
    return request(rid, method, params)


INVALID: tuple[Vector, ...] = (
    # the frame itself
    _bad("msgpack-malformed", "0xc1 is never used in msgpack", None, "invalid_request",
         raw=bytes.fromhex("c1")),
    _bad("msgpack-truncated", "a request cut short in the middle of a string", None,
         "invalid_request", raw=_pack(request("bad-1", "ping", {}))[:12]),
    _bad("msgpack-trailing-bytes", "a valid map followed by extra bytes", None,
         "invalid_request", raw=bytes.fromhex("80c0")),
    _bad("envelope-not-a-map", "the envelope is an array", ["request", "bad-1", "ping"],
         "invalid_request"),
    _bad("envelope-map-key-not-a-string", "an integer map key", None, "invalid_request",
         raw=bytes.fromhex("82a474797065a77265717565737401c0")),
    _bad("envelope-id-is-bin", "an id sent as bin cannot be read: the reply's id is null",
         None, "invalid_request", field="envelope.id",
         raw=_pack({"type": "request", "id": b"bad-1", "method": "ping", "params": {},
                    "ts": TS})),
    # the envelope's fields
    _bad("envelope-missing-id", "no id: the error reply's id is null",
         {"type": "request", "method": "ping", "params": {}, "ts": TS},
         "invalid_request", field="envelope.id"),
    _bad("envelope-id-empty", "an empty id is no id",
         request("", "ping", {}), "invalid_request", field="envelope.id"),
    _bad("envelope-id-too-long", "ids are at most 128 characters",
         request("x" * 129, "ping", {}), "invalid_request", field="envelope.id"),
    _bad("envelope-id-not-a-string", "ids are strings",
         {"type": "request", "id": 17, "method": "ping", "params": {}, "ts": TS},
         "invalid_request", field="envelope.id"),
    _bad("envelope-missing-type", "type is required",
         {"id": "bad-1", "method": "ping", "params": {}, "ts": TS},
         "invalid_request", field="envelope.type", reply_id="bad-1"),
    _bad("envelope-type-reply", "a client may only send requests",
         {"type": "reply", "id": "bad-1", "method": "ping", "params": {}, "ts": TS},
         "invalid_request", field="envelope.type", reply_id="bad-1"),
    _bad("envelope-missing-method", "method is required",
         {"type": "request", "id": "bad-1", "params": {}, "ts": TS},
         "invalid_request", field="envelope.method", reply_id="bad-1"),
    _bad("envelope-method-not-a-string", "method is a string",
         {"type": "request", "id": "bad-1", "method": 3, "params": {}, "ts": TS},
         "invalid_request", field="envelope.method", reply_id="bad-1"),
    _bad("envelope-params-not-a-map", "params is a map",
         {"type": "request", "id": "bad-1", "method": "ping", "params": [], "ts": TS},
         "invalid_request", field="envelope.params", reply_id="bad-1"),
    # ts is part of authentication: checked with the signature, before the envelope model
    _bad("envelope-missing-ts", "without ts a request cannot be within the replay window",
         {"type": "request", "id": "bad-1", "method": "ping", "params": {}},
         "unauthorized", reply_id="bad-1"),
    _bad("envelope-ts-is-a-float", "ts is an integer (ms since epoch), else it cannot be "
         "within the replay window",
         {"type": "request", "id": "bad-1", "method": "ping", "params": {},
          "ts": 1700000000123.5}, "unauthorized", reply_id="bad-1"),
    _bad("envelope-unknown-field", "the envelope is closed",
         {"type": "request", "id": "bad-1", "method": "ping", "params": {}, "ts": TS,
          "extra": True}, "invalid_request", field="envelope.extra", reply_id="bad-1"),
    # the method
    _bad("method-unknown", "no such method", _req("fly", {}), "unknown_method",
         field="method", reply_id="bad-1"),
    _bad("method-wrong-case", "method names are case-sensitive", _req("Ping", {}),
         "unknown_method", field="method", reply_id="bad-1"),
    # the params
    _bad("params-missing-required", "addMediaItem needs projectId",
         _req("addMediaItem", {"name": "a.mp4", "type": MediaType.VIDEO}), "invalid_params",
         field="params.projectId", reply_id="bad-1"),
    _bad("params-unknown-field", "params are closed",
         _req("ping", {"verbose": True}), "invalid_params", field="params.verbose",
         reply_id="bad-1"),
    _bad("params-snake-case-name", "names on the wire are camelCase only: project_id is an "
         "unknown field, so projectId is missing",
         _req("listMediaItems", {"project_id": PROJECT}), "invalid_params",
         field="params.projectId", reply_id="bad-1"),
    _bad("params-wrong-type", "projectId is a string",
         _req("listMediaItems", {"projectId": 7}), "invalid_params", field="params.projectId",
         reply_id="bad-1"),
    _bad("params-string-for-integer", "no coercion: \"12\" is not an integer",
         _req("addMediaItem", _add(width="12")), "invalid_params", field="params.width",
         reply_id="bad-1"),
    _bad("params-float-for-integer", "12.5 is not an integer",
         _req("addMediaItem", _add(width=12.5)), "invalid_params", field="params.width",
         reply_id="bad-1"),
    _bad("params-integer-for-boolean", "no coercion: 1 is not a boolean",
         _req("addMediaItem", _add(sourceUrl=FAL_URL, download=1)), "invalid_params",
         field="params.download", reply_id="bad-1"),
    _bad("params-null-for-required", "name may not be null",
         _req("addMediaItem", _add(name=None)), "invalid_params", field="params.name",
         reply_id="bad-1"),
    _bad("params-project-id-with-slash", "ids match ^[A-Za-z0-9._:-]+$",
         _req("listMediaItems", {"projectId": "../other"}), "invalid_params",
         field="params.projectId", reply_id="bad-1"),
    _bad("params-empty-name", "names are not empty",
         _req("addMediaItem", _add(name="")), "invalid_params", field="params.name",
         reply_id="bad-1"),
    _bad("params-unknown-enum-value", "type is video, image or audio",
         _req("addMediaItem", _add(type="gif")), "invalid_params", field="params.type",
         reply_id="bad-1"),
    _bad("params-unknown-status-in-list", "the field names the list index",
         _req("listMediaItems", {"projectId": PROJECT, "status": ["saved", "deleted"]}),
         "invalid_params", field="params.status.1", reply_id="bad-1"),
    _bad("params-limit-zero", "limit is 1..500",
         _req("listMediaItems", {"projectId": PROJECT, "limit": 0}), "invalid_params",
         field="params.limit", reply_id="bad-1"),
    _bad("params-limit-too-large", "limit is 1..500",
         _req("listMediaItems", {"projectId": PROJECT, "limit": 501}), "invalid_params",
         field="params.limit", reply_id="bad-1"),
    _bad("params-sha256-uppercase", "sha256 is lower-case hex",
         _req("addMediaItem", _add(expectedSha256=SHA.upper())), "invalid_params",
         field="params.expectedSha256", reply_id="bad-1"),
    _bad("params-metadata-not-a-map", "metadata is a map",
         _req("addMediaItem", _add(metadata=["a"])), "invalid_params", field="params.metadata",
         reply_id="bad-1"),
    _bad("params-nested-unknown-field", "nested objects are closed too",
         _req("hello", {"protocol": "1.0.0", "client": {"name": "x", "os": "linux"}}),
         "invalid_params", field="params.client.os", reply_id="bad-1"),
    _bad("params-hello-without-protocol", "hello needs the client's protocol version",
         _req("hello", {}), "invalid_params", field="params.protocol", reply_id="bad-1"),
    _bad("params-range-length-zero", "readMediaRange reads at least one byte",
         _req("readMediaRange", {"id": ITEM_ID, "projectId": PROJECT, "offset": 0,
                                 "length": 0}),
         "invalid_params", field="params.length", reply_id="bad-1"),
    _bad("params-range-offset-negative", "offsets are >= 0",
         _req("readMediaRange", {"id": ITEM_ID, "projectId": PROJECT, "offset": -1,
                                 "length": 1}),
         "invalid_params", field="params.offset", reply_id="bad-1"),
    _bad("params-media-source-without-project", "getMediaSource needs the item's project",
         _req("getMediaSource", {"id": ITEM_ID}), "invalid_params", field="params.projectId",
         reply_id="bad-1"),
    _bad("params-string-as-bin", "strings are msgpack str, never bin", None, "invalid_params",
         field="params.projectId", reply_id="bad-1",
         raw=_pack(_req("listMediaItems", {"projectId": PROJECT.encode()}))),
)
