"""Playback: getMediaSource says where an item's bytes are, readMediaRange returns a range of
them as exactly one reply payload frame (the peer checks the frame count, its length and the
signature over it on every reply). Every range edge; another project's item is not found;
an item without local bytes says so; an unsaved item is readable, and stays readable once
saved; the recorded mimeType comes from the bytes, not the name."""

from __future__ import annotations

import os
from pathlib import Path

from protocol.vocabulary import ByteLocation, FaultErrno, FaultOp, ItemStatus, MediaType
from sidecar.client.frames import RemoteError
from sidecar.tools.harness.context import Context, add_inline, sha256
from sidecar.tools.harness.outcome import check
from sidecar.tools.harness.peer import Json, Peer
from sidecar.tools.harness.registry import case

MANY = 1000  # faults armed for many operations: a background retry cannot save the item
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def _range(peer: Peer, project: str, item_id: str, offset: int, length: int
           ) -> tuple[Json, bytes]:
    result, frames = peer.call_payloads("readMediaRange", {
        "projectId": project, "id": item_id, "offset": offset, "length": length})
    check(result["offset"] == offset, f"asked offset {offset}, got {result['offset']}")
    return result, frames[0]  # the peer checked: exactly one frame of result.length bytes


def _read_all(peer: Peer, project: str, item_id: str, size: int, step: int) -> bytes:
    out = bytearray()
    for _ in range(size // step + 2):
        if len(out) >= size:
            break
        result, chunk = _range(peer, project, item_id, len(out), step)
        check(result["length"] > 0, f"an empty range at offset {len(out)} of {size}")
        out += chunk
    return bytes(out)


def _source(peer: Peer, project: str, item_id: str) -> Json:
    return peer.call("getMediaSource", {"projectId": project, "id": item_id})


@case("playback.saved_item_source")
def saved_source(ctx: Context) -> None:
    """A saved item's source is a file holding exactly its bytes, with its size and sha256."""
    peer, project = ctx.peer(), ctx.project()
    data = os.urandom(100_003)
    item = add_inline(peer, project, data)["item"]
    src = _source(peer, project, item["id"])
    check(src["id"] == item["id"] and src["projectId"] == project, "another item's source")
    check((src["status"], src["bytes"]) == (ItemStatus.SAVED, ByteLocation.FILE),
          f"a saved item's source is {src['status']}/{src['bytes']}, not saved/file")
    check(src["size"] == len(data) and src["sha256"] == sha256(data),
          "the source's size or sha256 is not the item's")
    check(isinstance(src["path"], str) and src["path"].startswith("/"),
          f"path {src['path']!r} is not absolute")
    path = Path(src["path"])
    if path.is_file() and os.access(path, os.R_OK):  # only when the server is on this host
        check(path.read_bytes() == data, "the source file does not hold the item's bytes")


@case("playback.range_edges")
def range_edges(ctx: Context) -> None:
    """First byte, last byte, a range across the end (shorter, not an error), the whole item
    in one read, and a middle range: each exactly the bytes asked for."""
    peer, project = ctx.peer(), ctx.project()
    data = os.urandom(70_001)
    size = len(data)
    item_id = add_inline(peer, project, data)["item"]["id"]
    limit = int(ctx.limits["maxRangeBytes"])
    check(1 <= limit <= int(ctx.limits["maxFrameBytes"]),
          f"limits.maxRangeBytes {limit} is not within 1..maxFrameBytes")
    result, chunk = _range(peer, project, item_id, 0, 1)
    check(chunk == data[:1], "the first byte is wrong")
    check(result["size"] == size and result["sha256"] == sha256(data),
          "a range reply's size or sha256 is not the item's")
    check(_range(peer, project, item_id, size - 1, 1)[1] == data[-1:], "the last byte is wrong")
    result, chunk = _range(peer, project, item_id, size - 5, 100)
    check(result["length"] == 5 and chunk == data[-5:],
          f"a range across the end gave {result['length']} bytes, not the last 5")
    check(_range(peer, project, item_id, 0, min(limit, size))[1] == data[:limit],
          "one read of the whole item is not its bytes")
    check(_range(peer, project, item_id, 1000, 2000)[1] == data[1000:3000],
          "a middle range is wrong")


@case("playback.range_errors")
def range_errors(ctx: Context) -> None:
    """offset == size, length 0 and length > maxRangeBytes are invalid_params naming the
    field; the item is still readable afterwards."""
    peer, project = ctx.peer(), ctx.project()
    data = os.urandom(4096)
    item_id = add_inline(peer, project, data)["item"]["id"]
    limit = int(ctx.limits["maxRangeBytes"])
    ref = {"projectId": project, "id": item_id}
    peer.error("readMediaRange", {**ref, "offset": len(data), "length": 1},
               code="invalid_params", field="params.offset")
    peer.error("readMediaRange", {**ref, "offset": 0, "length": 0},
               code="invalid_params", field="params.length")
    peer.error("readMediaRange", {**ref, "offset": 0, "length": limit + 1},
               code="invalid_params", field="params.length")
    check(_read_all(peer, project, item_id, len(data), 4096) == data,
          "the item is not readable after refused ranges")


@case("playback.other_project_not_found")
def other_project(ctx: Context) -> None:
    """Another project's item, and an unknown id, are not_found for both methods (another
    project's items are never revealed)."""
    peer, mine, other = ctx.peer(), ctx.project("mine"), ctx.project("other")
    item_id = add_inline(peer, mine, b"private bytes")["item"]["id"]
    for method, extra in (("getMediaSource", {}),
                          ("readMediaRange", {"offset": 0, "length": 1})):
        body = peer.error(method, {"projectId": other, "id": item_id, **extra},
                          code="not_found")
        check(body.get("data") in (None, {}), f"{method} not_found carries data {body['data']}")
        peer.error(method, {"projectId": mine, "id": ctx.item_id("nobody"), **extra},
                   code="not_found")


@case("playback.url_only_has_no_local_bytes")
def url_only(ctx: Context) -> None:
    """A urlOnly item's source has bytes 'none' and its URL; readMediaRange answers
    no_local_bytes with data.status."""
    peer, project = ctx.peer(), ctx.project()
    url = ctx.media_url("playback")
    item = peer.call("addMediaItem", {"projectId": project, "name": "gen.mp4",
                                      "type": MediaType.VIDEO, "sourceUrl": url})["item"]
    src = _source(peer, project, item["id"])
    check((src["status"], src["bytes"], src["path"], src["sourceUrl"]) ==
          (ItemStatus.URL_ONLY, ByteLocation.NONE, None, url),
          f"a urlOnly item's source is {src}")
    body = peer.error("readMediaRange", {"projectId": project, "id": item["id"],
                                         "offset": 0, "length": 1}, code="no_local_bytes")
    check(body.get("data") == {"status": ItemStatus.URL_ONLY},
          f"no_local_bytes data is {body.get('data')}, not {{'status': 'urlOnly'}}")


@case("playback.removed_item_not_found")
def removed(ctx: Context) -> None:
    """After removeMediaItem both methods answer not_found."""
    peer, project = ctx.peer(), ctx.project()
    item_id = add_inline(peer, project, os.urandom(512))["item"]["id"]
    peer.call("removeMediaItem", {"projectId": project, "id": item_id})
    peer.error("getMediaSource", {"projectId": project, "id": item_id}, code="not_found")
    peer.error("readMediaRange", {"projectId": project, "id": item_id, "offset": 0,
                                  "length": 1}, code="not_found")


@case("playback.unsaved_item_readable", needs_hooks=True)
def unsaved_readable(ctx: Context) -> None:
    """An unsaved item (storage failing) is readable by ranges from wherever the server
    holds it, and reads the same bytes once a retry has saved it."""
    ctx.need_test_hooks()
    peer, project = ctx.peer(), ctx.project()
    data = os.urandom(50_001)
    with ctx.fault(peer, FaultOp.BLOB_WRITE, FaultErrno.ENOSPC, MANY):
        item = add_inline(peer, project, data)["item"]
        check(item["status"] == ItemStatus.UNSAVED, f"the add under ENOSPC is {item['status']}")
        src = _source(peer, project, item["id"])
        check(src["status"] == ItemStatus.UNSAVED
              and src["bytes"] in (ByteLocation.MEMORY, ByteLocation.FILE),
              f"an unsaved item's source is {src['status']}/{src['bytes']}")
        check((src["path"] is None) == (src["bytes"] == ByteLocation.MEMORY),
              "path is set exactly when bytes is 'file'")
        first = _read_all(peer, project, item["id"], len(data), 8192)
        check(first == data, "the unsaved item's ranges are not its bytes")
    try:
        status = peer.call("retrySaveItem", {"projectId": project, "id": item["id"]}
                           )["item"]["status"]
    except RemoteError as exc:  # a server retrying in the background may have saved it first
        if exc.code != "conflict":
            raise
        status = peer.call("getMediaItem", {"id": item["id"]})["item"]["status"]
    check(status == ItemStatus.SAVED, f"the retry after the fault left the item {status}")
    check(_read_all(peer, project, item["id"], len(data), 16384) == data,
          "the item reads other bytes once saved")


@case("playback.mime_type_from_the_bytes")
def mime_from_bytes(ctx: Context) -> None:
    """An item added without a mimeType gets one from its bytes; the name's extension and a
    contradicting client type do not win over the bytes."""
    peer, project = ctx.peer(), ctx.project()
    named = add_inline(peer, project, PNG + os.urandom(64), name="movie.mp4", type=MediaType.IMAGE)
    check(named["item"]["mimeType"] == "image/png",
          f"a PNG named movie.mp4 is recorded as {named['item']['mimeType']}")
    said = add_inline(peer, project, PNG + os.urandom(64), name="x", type=MediaType.IMAGE,
                      mimeType="video/mp4")
    check(said["item"]["mimeType"] == "image/png",
          f"a PNG said to be video/mp4 is recorded as {said['item']['mimeType']}")
    src = _source(peer, project, said["item"]["id"])
    check(src["mimeType"] == "image/png", "getMediaSource disagrees with the item's type")
