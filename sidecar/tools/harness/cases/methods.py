"""The happy path of every media method (downloads only as far as a black box can go
without a reachable allowed host)."""

from __future__ import annotations

from pathlib import Path

from protocol.vocabulary import ItemStatus, MediaType, SortKey, SortOrder
from sidecar.tools.harness.context import Context, add_inline, listed_ids, sha256
from sidecar.tools.harness.outcome import check
from sidecar.tools.harness.peer import Json
from sidecar.tools.harness.registry import case

DATA = b"media-sidecar harness bytes \x00\x01\x02\xff"


def check_saved(item: Json, data: bytes, what: str) -> None:
    check(item["status"] == ItemStatus.SAVED, f"{what}: status {item['status']}, not saved")
    check(item["durable"] is True, f"{what}: durable is not true")
    check(item["size"] == len(data), f"{what}: size {item['size']}, not {len(data)}")
    check(item["sha256"] == sha256(data), f"{what}: sha256 {item['sha256']} is not the bytes'")
    check(item["storageError"] is None, f"{what}: a saved item carries a storageError")
    path = item["localPath"]
    check(isinstance(path, str) and Path(path).is_absolute(),
          f"{what}: localPath {path!r} is not absolute")


@case("methods.addMediaItem_inline")
def add_inline_bytes(ctx: Context) -> None:
    """Bytes in one payload frame are saved durably; the reply says so; get returns it."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    result = add_inline(peer, project, DATA, item_id=item_id, mimeType="video/mp4",
                        width=640, height=360, duration=2.5, fps=23.976,
                        metadata={"model": "fal-ai/harness", "prompt": "a test"})
    check(result["created"] is True, "a new item was not created")
    check(result["durable"] is True, "a saved add is not durable")
    item = result["item"]
    check_saved(item, DATA, "added item")
    check(item["metadata"].get("model") == "fal-ai/harness", "metadata was not kept")
    check((item["width"], item["height"], item["duration"], item["fps"]) ==
          (640, 360, 2.5, 23.976), "width/height/duration/fps were not kept")
    got = peer.call("getMediaItem", {"id": item_id})["item"]
    for key in ("id", "projectId", "sha256", "size", "status", "createdAt", "metadata"):
        check(got[key] == item[key], f"getMediaItem differs from the add on {key}")


@case("methods.addMediaItem_inline_frames_in_order")
def add_inline_frames_in_order(ctx: Context) -> None:
    """Several payload frames are concatenated in order."""
    peer = ctx.peer()
    data = b"".join(bytes([i]) * 1000 for i in range(7))
    result = add_inline(peer, ctx.project(), data, chunks=7)
    check_saved(result["item"], data, "item from 7 frames")


@case("methods.addMediaItem_url_only")
def add_url_only(ctx: Context) -> None:
    """sourceUrl without download registers a urlOnly item that keeps its URL."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    url = ctx.media_url(item_id)
    result = peer.call("addMediaItem", {"id": item_id, "projectId": project,
                                        "name": "remote.mp4", "type": MediaType.VIDEO,
                                        "sourceUrl": url})
    item = result["item"]
    check(item["status"] == ItemStatus.URL_ONLY, f"status {item['status']}, not urlOnly")
    check(item["durable"] is False and result["durable"] is False,
          "a urlOnly item claims to be durable")
    check(item["sourceUrl"] == url, "sourceUrl was not persisted")
    check(item["metadata"].get("urlOnly") is True, "metadata.urlOnly is not true")
    check(peer.call("getMediaItem", {"id": item_id})["item"]["sourceUrl"] == url,
          "getMediaItem lost the sourceUrl")


@case("methods.getMediaItem")
def get_item(ctx: Context) -> None:
    """get returns the item, with or without its project named."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    add_inline(peer, project, DATA, item_id=item_id)
    for params in ({"id": item_id}, {"id": item_id, "projectId": project}):
        item = peer.call("getMediaItem", params)["item"]
        check(item["id"] == item_id and item["projectId"] == project, "get returned another item")


@case("methods.removeMediaItem")
def remove_item(ctx: Context) -> None:
    """remove deletes the item and its blob; it is then neither gettable nor listed."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    add_inline(peer, project, ctx.run_id.encode() + item_id.encode(), item_id=item_id)
    result = peer.call("removeMediaItem", {"id": item_id, "projectId": project})
    check(result["id"] == item_id and result["removed"] is True, "remove did not remove")
    check(result["blobDeleted"] is True, "the only item's blob was not deleted")
    peer.error("getMediaItem", {"id": item_id}, code="not_found")
    check(item_id not in listed_ids(peer, project), "a removed item is still listed")


@case("methods.removeMediaItem_keeps_shared_blob")
def remove_shared_blob(ctx: Context) -> None:
    """Two items with the same bytes share a blob: it goes only with the last of them."""
    peer = ctx.peer()
    project = ctx.project()
    data = f"shared {ctx.run_id} {ctx.item_id()}".encode()
    first = add_inline(peer, project, data)["item"]
    second = add_inline(peer, project, data)["item"]
    check(first["id"] != second["id"], "two adds without id got the same id")
    result = peer.call("removeMediaItem", {"id": first["id"]})
    check(result["blobDeleted"] is False, "a blob still used by another item was deleted")
    check_saved(peer.call("getMediaItem", {"id": second["id"]})["item"], data,
                "the item sharing the blob")
    result = peer.call("removeMediaItem", {"id": second["id"]})
    check(result["blobDeleted"] is True, "the last item's blob was not deleted")


@case("methods.listMediaItems_filters_and_counts")
def list_filters(ctx: Context) -> None:
    """type, status and text filters, sorting, and counts of the whole project."""
    peer = ctx.peer()
    project = ctx.project()
    video = add_inline(peer, project, b"v" + ctx.run_id.encode(), name="beach sunset.mp4",
                       type=MediaType.VIDEO)["item"]
    image = add_inline(peer, project, b"i" + ctx.run_id.encode(), name="poster.png",
                       type=MediaType.IMAGE)["item"]
    remote = peer.call("addMediaItem", {"projectId": project, "name": "remote sunset.mp3",
                                        "type": MediaType.AUDIO,
                                        "sourceUrl": ctx.media_url(ctx.item_id())})["item"]

    def ids(**filters: object) -> set[str]:
        return set(listed_ids(peer, project, **filters))

    check(ids() == {video["id"], image["id"], remote["id"]}, "the project lists other items")
    check(ids(type=MediaType.IMAGE) == {image["id"]}, "type filter")
    check(ids(status=[ItemStatus.URL_ONLY]) == {remote["id"]}, "status filter")
    check(ids(status=[ItemStatus.SAVED, ItemStatus.URL_ONLY])
          == {video["id"], image["id"], remote["id"]},
          "status filter with two statuses")
    check(ids(text="sunset") == {video["id"], remote["id"]}, "text filter")
    page = peer.call("listMediaItems", {"projectId": project, "sort": SortKey.NAME,
                                        "order": SortOrder.ASC})
    names = [i["name"] for i in page["items"]]
    check(names == sorted(names), f"sort by name asc gave {names}")
    page = peer.call("listMediaItems", {"projectId": project, "type": MediaType.IMAGE})
    counts = page["counts"]
    check((counts["saved"], counts["urlOnly"], counts["unsaved"], counts["total"]) ==
          (2, 1, 0, 3), f"counts ignore filters and cover the project: got {counts}")


@case("methods.retrySaveItem_on_a_saved_item_is_conflict")
def retry_saved_is_conflict(ctx: Context) -> None:
    """Retrying an item that is already saved is a conflict and changes nothing."""
    peer = ctx.peer()
    item = add_inline(peer, ctx.project(), DATA)["item"]
    peer.error("retrySaveItem", {"id": item["id"]}, code="conflict")
    check_saved(peer.call("getMediaItem", {"id": item["id"]})["item"], DATA, "the saved item")


@case("methods.retryAllUnsaved_with_nothing_unsaved")
def retry_all_nothing(ctx: Context) -> None:
    """retryAllUnsaved on a project without unsaved items attempts nothing."""
    peer = ctx.peer()
    project = ctx.project()
    add_inline(peer, project, DATA)
    result = peer.call("retryAllUnsaved", {"projectId": project})
    check(result["attempted"] == 0 and result["saved"] == 0, f"got {result}")


@case("methods.storageStatus")
def storage_status(ctx: Context) -> None:
    """storageStatus reports a writable, unblocked store with consistent counts."""
    result = ctx.peer().call("storageStatus")
    check(result["writable"] is True and result["blocked"] is False,
          f"a healthy store reports writable={result['writable']} blocked={result['blocked']}")
    counts = result["counts"]
    check(counts["total"] == counts["saved"] + counts["unsaved"] + counts["urlOnly"]
          + counts["expired"], f"counts do not add up: {counts}")
    check(result["totalBytes"] >= result["freeBytes"] >= 0, "free bytes exceed total bytes")


@case("methods.downloadAllUrlOnly_with_nothing_to_download")
def download_all_nothing(ctx: Context) -> None:
    """downloadAllUrlOnly on a project without urlOnly items attempts nothing."""
    peer = ctx.peer()
    project = ctx.project()
    add_inline(peer, project, DATA)
    result = peer.call("downloadAllUrlOnly", {"projectId": project})
    check(result["attempted"] == 0, f"got {result}")


@case("methods.cancelDownload_without_a_download")
def cancel_idle(ctx: Context) -> None:
    """Cancelling an item that is not downloading answers cancelled: false."""
    peer = ctx.peer()
    item = add_inline(peer, ctx.project(), DATA)["item"]
    result = peer.call("cancelDownload", {"id": item["id"]})
    check(result["id"] == item["id"] and result["cancelled"] is False, f"got {result}")


@case("methods.unsubscribe")
def unsubscribe(ctx: Context) -> None:
    """unsubscribe answers whether the connection was subscribed."""
    peer = ctx.peer()
    check(peer.call("unsubscribe")["unsubscribed"] is False, "was not subscribed")
    peer.call("subscribe")
    check(peer.call("unsubscribe")["unsubscribed"] is True, "was subscribed")
