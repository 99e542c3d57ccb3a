"""Storage faults, injected through the test-only ``testFault`` method: an item is never
lost, the reply and the events say honestly what happened, and retries save it.

Faults are injected for many operations (not one) while the failure is observed, so a
server that retries in the background cannot turn the item saved under the harness's
feet; they are cleared before the retry that must succeed.
"""

from __future__ import annotations

from protocol.vocabulary import ErrorType, FaultErrno, FaultOp, ItemStatus
from sidecar.client.frames import RemoteError
from sidecar.tools.harness.context import Context, add_inline, listed_ids, sha256
from sidecar.tools.harness.outcome import check
from sidecar.tools.harness.peer import Json, Peer
from sidecar.tools.harness.registry import case

MANY = 1000


def _check_unsaved(item: Json, what: str) -> None:
    check(item["status"] == ItemStatus.UNSAVED, f"{what}: status {item['status']}, not unsaved")
    check(item["durable"] is False, f"{what}: an unsaved item claims to be durable")
    check(item["storageError"] is not None, f"{what}: an unsaved item has no storageError")
    check(item["metadata"].get("unsaved") is True, f"{what}: metadata.unsaved is not true")


def _retry_saves(peer: Peer, item_id: str) -> Json:
    """retrySaveItem once storage works: the item comes back saved. A server that retries
    in the background may have saved it first; then the retry is a conflict and the item
    must already be saved."""
    try:
        result = peer.call("retrySaveItem", {"id": item_id})
    except RemoteError as exc:
        if exc.code != "conflict":
            raise
        item: Json = peer.call("getMediaItem", {"id": item_id})["item"]
        check(item["status"] == ItemStatus.SAVED, f"retry was a conflict, yet the item is "
              f"{item['status']}")
        return item
    check(result["durable"] is result["item"]["durable"], "reply and item disagree on durable")
    saved: Json = result["item"]
    check(saved["status"] == ItemStatus.SAVED and saved["durable"] is True,
          f"retry after the fault cleared left the item {saved['status']}")
    return saved


def _listed_status(peer: Peer, project: str, item_id: str) -> str:
    page = peer.call("listMediaItems", {"projectId": project})
    for item in page["items"]:
        if item["id"] == item_id:
            return str(item["status"])
    return "not listed"


@case("faults.test_hooks_announced_consistently")
def hooks_consistent(ctx: Context) -> None:
    """testFault is served exactly when hello lists it; otherwise it is unknown_method."""
    peer = ctx.peer()
    if ctx.has_test_hooks:
        check(peer.call("testFault", {"op": FaultOp.CLEAR})["active"] == {},
              "clearing faults left some active")
    else:
        peer.error("testFault", {"op": FaultOp.CLEAR}, code="unknown_method")


@case("faults.write_failure_keeps_item_unsaved_and_retry_saves_it", needs_hooks=True)
def write_failure_then_retry(ctx: Context) -> None:
    """A failing blob write keeps the item listed as unsaved (reply, event, list, counts);
    once storage works, retrySaveItem saves it durably."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    data = f"unsaved {item_id}".encode()
    peer.call("subscribe", {"projectId": project})
    with ctx.fault(peer, FaultOp.BLOB_WRITE, FaultErrno.EIO, MANY):
        result = add_inline(peer, project, data, item_id=item_id)
        check(result["durable"] is False, "the reply claims a failed save is durable")
        _check_unsaved(result["item"], "reply")
        event = peer.event("itemUnsaved")
        check(event["data"]["item"]["id"] == item_id, "itemUnsaved names another item")
        check(_listed_status(peer, project, item_id) == ItemStatus.UNSAVED,
              "the unsaved item is not listed as unsaved")
        counts = peer.call("listMediaItems", {"projectId": project})["counts"]
        check(counts["unsaved"] == 1, f"counts.unsaved is {counts['unsaved']}, not 1")
    item = _retry_saves(peer, item_id)
    check(item["sha256"] == sha256(data), "the retried item's sha256 is not the bytes'")
    check(item["storageError"] is None, "a saved item still carries its storageError")
    saved = peer.event("itemSaved")
    check(saved["data"]["item"]["id"] == item_id, "itemSaved names another item")


@case("faults.blocked_storage_with_a_url_keeps_item_url_only", needs_hooks=True)
def blocked_with_url(ctx: Context) -> None:
    """No space left and a source URL known: the item is kept as urlOnly, and says why."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    url = ctx.media_url(item_id)
    peer.call("subscribe", {"projectId": project})
    with ctx.fault(peer, FaultOp.BLOB_WRITE, FaultErrno.ENOSPC, MANY):
        result = add_inline(peer, project, f"blocked {item_id}".encode(), item_id=item_id,
                            sourceUrl=url)
        # checked while storage still fails: a server may fetch the URL once it works
        check(_listed_status(peer, project, item_id) == ItemStatus.URL_ONLY,
              "not listed as urlOnly")
    item = result["item"]
    check(item["status"] == ItemStatus.URL_ONLY, f"status {item['status']}, not urlOnly")
    check(result["durable"] is False and item["durable"] is False, "claims to be durable")
    check(item["sourceUrl"] == url, "the source URL was not kept")
    check(item["metadata"].get("urlOnly") is True, "metadata.urlOnly is not true")
    error = item["storageError"]
    check(error is not None and error["errorType"] == ErrorType.STORAGE_BLOCKED,
          f"storageError {error} is not StorageBlocked")
    event = peer.event("itemUrlOnly")
    check(event["data"]["item"]["id"] == item_id, "itemUrlOnly names another item")


@case("faults.blocked_storage_without_a_url_keeps_item_unsaved", needs_hooks=True)
def blocked_without_url(ctx: Context) -> None:
    """No space left and no URL: the bytes are held and the item is listed as unsaved."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    with ctx.fault(peer, FaultOp.BLOB_WRITE, FaultErrno.ENOSPC, MANY):
        result = add_inline(peer, project, f"held {item_id}".encode(), item_id=item_id)
        _check_unsaved(result["item"], "reply")
        error = result["item"]["storageError"]
        check(error["errorType"] == ErrorType.STORAGE_BLOCKED, f"errorType {error['errorType']}")
        check(_listed_status(peer, project, item_id) == ItemStatus.UNSAVED,
              "not listed as unsaved")
    _retry_saves(peer, item_id)


@case("faults.retry_that_fails_again_stays_unsaved", needs_hooks=True)
def retry_fails_again(ctx: Context) -> None:
    """A retry while storage still fails keeps the item unsaved with a fresh error."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    with ctx.fault(peer, FaultOp.BLOB_WRITE, FaultErrno.EAGAIN, MANY):
        first = add_inline(peer, project, f"try twice {item_id}".encode(), item_id=item_id)["item"]
        _check_unsaved(first, "reply")
        again = peer.call("retrySaveItem", {"id": item_id})
        _check_unsaved(again["item"], "failed retry")
        check(again["durable"] is False, "a failed retry claims durability")
        check(again["item"]["storageError"]["timestamp"] >= first["storageError"]["timestamp"],
              "the failed retry did not refresh storageError")
    check(listed_ids(peer, project) == [item_id], "the item was lost by a failed retry")
    _retry_saves(peer, item_id)


@case("faults.retry_all_unsaved_saves_every_item", needs_hooks=True)
def retry_all(ctx: Context) -> None:
    """retryAllUnsaved saves every unsaved item of the project and says how many."""
    peer = ctx.peer()
    project = ctx.project()
    with ctx.fault(peer, FaultOp.BLOB_WRITE, FaultErrno.EIO, MANY):
        ids = {add_inline(peer, project, f"all {i} {project}".encode())["item"]["id"]
               for i in range(3)}
    result = peer.call("retryAllUnsaved", {"projectId": project})
    # a server retrying in the background may have saved some already
    check(0 < result["attempted"] <= 3 or _all_saved(peer, project),
          f"attempted {result['attempted']} of 3 unsaved items")
    check(result["saved"] == result["attempted"],
          f"attempted {result['attempted']}, saved {result['saved']}")
    check(set(result["itemIds"]) <= ids and len(result["itemIds"]) == result["attempted"],
          f"itemIds {result['itemIds']} do not name the retried items")
    counts = peer.call("listMediaItems", {"projectId": project})["counts"]
    check(counts["unsaved"] == 0 and counts["saved"] == 3, f"counts after retry: {counts}")


def _all_saved(peer: Peer, project: str) -> bool:
    counts = peer.call("listMediaItems", {"projectId": project})["counts"]
    return bool(counts["saved"] == counts["total"])


@case("faults.fsync_failure_is_never_claimed_durable", needs_hooks=True)
def fsync_failure(ctx: Context) -> None:
    """A failed fsync is not durable: the item is unsaved, and a retry rewrites it."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    data = f"fsync {item_id}".encode()
    with ctx.fault(peer, FaultOp.BLOB_FSYNC, FaultErrno.EIO, MANY):
        result = add_inline(peer, project, data, item_id=item_id)
        check(result["durable"] is False, "an add whose fsync failed claims durability")
        _check_unsaved(result["item"], "reply")
    item = _retry_saves(peer, item_id)
    check(item["sha256"] == sha256(data), "retry after a failed fsync saved other bytes")


@case("faults.database_failure_keeps_item_listed", needs_hooks=True)
def database_failure(ctx: Context) -> None:
    """When the metadata commit fails the item is still answered, listed and gettable."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    with ctx.fault(peer, FaultOp.DB_COMMIT, FaultErrno.EIO, MANY):
        add_inline(peer, project, f"db {item_id}".encode(), item_id=item_id)
        check(item_id in listed_ids(peer, project), "the item is not listed")
        peer.call("getMediaItem", {"id": item_id})
    check(item_id in listed_ids(peer, project), "the item vanished once the database recovered")
