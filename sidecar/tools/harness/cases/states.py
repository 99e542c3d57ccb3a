"""Item states that say no more than is true (PROTOCOL.md "Item states and durability" and
"Downloads"): every item says where its bytes and its record are, retry of nothing is a
typed conflict, item events carry the project's counts, a failed download add names the
item it left, running downloads can be listed, a record the database refused says so.
"""

from __future__ import annotations

import os

from protocol.vocabulary import BytesState, FaultErrno, FaultOp, ItemStatus, MediaType, RecordState
from sidecar.tools.harness.context import Context, add_inline
from sidecar.tools.harness.outcome import check
from sidecar.tools.harness.registry import case

SLOW_DOWNLOAD = 60.0


@case("states.every_item_says_where_its_bytes_and_record_are")
def bytes_and_record_state(ctx: Context) -> None:
    """A saved item: bytesState durable, recordState stored; a URL-only one: bytesState none."""
    peer, project = ctx.peer(), ctx.project()
    saved = add_inline(peer, project, os.urandom(1024))["item"]
    check((saved["bytesState"], saved["recordState"]) == (BytesState.DURABLE, RecordState.STORED),
          f"a saved item says {saved['bytesState']}/{saved['recordState']}")
    res = peer.call("addMediaItem", {"projectId": project, "name": "u", "type": MediaType.VIDEO,
                                     "sourceUrl": ctx.media_url("states-u")})
    check(res["item"]["bytesState"] == BytesState.NONE,
          f"a urlOnly item says {res['item']['bytesState']}")
    check(res["recorded"] is (res["item"]["recordState"] == RecordState.STORED),
          "recorded disagrees with the item's recordState")


@case("states.retry_with_nothing_to_retry_is_a_typed_conflict")
def nothing_to_retry(ctx: Context) -> None:
    """retrySaveItem on a saved item answers conflict with data {itemId, status, bytesState}."""
    peer = ctx.peer()
    item = add_inline(peer, ctx.project(), os.urandom(512))["item"]
    body = peer.error("retrySaveItem", {"id": item["id"]}, code="conflict")
    want = {"itemId": item["id"], "status": ItemStatus.SAVED, "bytesState": BytesState.DURABLE}
    check(body.get("data") == want, f"conflict data {body.get('data')}, not {want}")


@case("states.unsaved_item_is_held_and_counted_as_retryable", needs_hooks=True)
def unsaved_is_held(ctx: Context) -> None:
    """A transient storage failure keeps the item unsaved with bytesState held; counts.unsaved
    counts it and counts.lost does not."""
    peer, project = ctx.peer(), ctx.project()
    with ctx.fault(peer, FaultOp.BLOB_WRITE, FaultErrno.EAGAIN):
        item = add_inline(peer, project, os.urandom(2048))["item"]
    check((item["status"], item["bytesState"]) == (ItemStatus.UNSAVED, BytesState.HELD),
          f"after a transient failure the item is {item['status']}/{item['bytesState']}")
    counts = peer.call("listMediaItems", {"projectId": project})["counts"]
    check((counts["unsaved"], counts["lost"]) == (1, 0), f"counts {counts}")
    peer.call("retrySaveItem", {"id": item["id"]})


@case("states.item_events_carry_the_projects_counts")
def events_carry_counts(ctx: Context) -> None:
    """itemAdded and itemRemoved carry the project's counts after the change."""
    peer, project = ctx.peer(), ctx.project()
    peer.call("subscribe", {"projectId": project})
    item = add_inline(peer, project, os.urandom(256))["item"]
    added = peer.event("itemAdded", lambda d: d["item"]["id"] == item["id"])
    check((added["data"].get("counts") or {}).get("total") == 1,
          f"itemAdded counts {added['data'].get('counts')}")
    peer.call("removeMediaItem", {"id": item["id"]})
    removed = peer.event("itemRemoved", lambda d: d["id"] == item["id"])
    check((removed["data"].get("counts") or {}).get("total") == 0,
          f"itemRemoved counts {removed['data'].get('counts')}")


@case("states.failed_download_add_names_its_item")
def failed_download_add(ctx: Context) -> None:
    """addMediaItem with download: true whose URL is gone answers url_expired with data
    {itemId, status, created}; adding again with that id makes no second item."""
    http = ctx.need_loopback_downloads()
    peer, project = ctx.peer(timeout=max(ctx.options.timeout, SLOW_DOWNLOAD)), ctx.project()
    add = {"projectId": project, "name": "gone.mp4", "type": MediaType.VIDEO,
           "sourceUrl": http.url("gone", f"{ctx.run_id}-gone-add.mp4"), "download": True}
    data = peer.error("addMediaItem", add, code="url_expired").get("data") or {}
    check(isinstance(data.get("itemId"), str) and data.get("status") == ItemStatus.EXPIRED
          and data.get("created") is True, f"error data {data}")
    again = peer.call("addMediaItem", {**add, "id": data["itemId"]})
    check(again["created"] is False, "a retry with the named id created an item")
    total = peer.call("listMediaItems", {"projectId": project})["counts"]["total"]
    check(total == 1, f"{total} items after a retry with the named id")


@case("states.running_downloads_are_listed")
def running_downloads_listed(ctx: Context) -> None:
    """listDownloads lists a running download (for a window that reloaded); once cancelled
    it is gone from the list."""
    http = ctx.need_loopback_downloads()
    peer, project = ctx.peer(timeout=max(ctx.options.timeout, SLOW_DOWNLOAD)), ctx.project()
    item = peer.call("addMediaItem", {"projectId": project, "name": "slow.mp4",
                                      "type": MediaType.VIDEO,
                                      "sourceUrl": http.url("slow", f"{ctx.run_id}-ls.mp4")})
    item_id = item["item"]["id"]
    http.slow_started.clear()
    try:
        rid = peer.send("downloadUrlOnlyItem", {"id": item_id})
        check(http.slow_started.wait(peer.timeout), "the download never reached the URL")
        listed = peer.call("listDownloads", {"projectId": project})["downloads"]
        check([d["id"] for d in listed] == [item_id], f"listDownloads: {listed}")
        peer.call("cancelDownload", {"id": item_id})
        peer.reply(rid)
    finally:
        http.release.set()
    left = peer.call("listDownloads", {"projectId": project})["downloads"]
    check(left == [], f"a cancelled download is still listed: {left}")


@case("states.a_record_the_database_refuses_is_not_claimed_stored", needs_hooks=True)
def refused_record(ctx: Context) -> None:
    """A URL-only add while the database refuses commits: recorded false, recordState not
    stored; nothing says storage is writable meanwhile."""
    peer, project = ctx.peer(), ctx.project()
    peer.call("subscribe", {"projectId": project})
    with ctx.fault(peer, FaultOp.DB_COMMIT, FaultErrno.ENOSPC, count=1000):
        res = peer.call("addMediaItem", {"projectId": project, "name": "u", "type": MediaType.VIDEO,
                                         "sourceUrl": ctx.media_url("states-r")})
        peer.call("ping")
    check(res["recorded"] is False and res["item"]["recordState"] != RecordState.STORED,
          f"recorded {res['recorded']}, recordState {res['item']['recordState']}")
    flicker = [e for e in peer.events if e["event"] == "storageStatusChanged"
               and e["data"]["writable"]]
    check(not flicker, "storageStatusChanged said writable while the database refused")
    peer.call("retryAllUnsaved", {"projectId": project})  # flushes the waiting record
