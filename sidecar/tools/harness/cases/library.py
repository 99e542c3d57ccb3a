"""The library's promises across calls: idempotent adds by id, and project isolation (an
item of project A is never listed, got, removed or retried through project B)."""

from __future__ import annotations

from protocol.vocabulary import ItemStatus, MediaType
from sidecar.tools.harness.context import Context, add_inline, listed_ids
from sidecar.tools.harness.outcome import check
from sidecar.tools.harness.registry import case


@case("idempotency.repeated_add_with_the_same_id")
def repeated_add(ctx: Context) -> None:
    """Adding the same id with the same content again returns the item, created: false."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    data = f"idempotent {item_id}".encode()
    first = add_inline(peer, project, data, item_id=item_id)
    again = add_inline(peer, project, data, item_id=item_id)
    check(first["created"] is True, "the first add did not create")
    check(again["created"] is False, "a repeated add claims to have created the item again")
    for key in ("id", "sha256", "size", "createdAt", "status"):
        check(again["item"][key] == first["item"][key], f"a repeated add changed {key}")
    check(listed_ids(peer, project) == [item_id], "a repeated add listed the item twice")


@case("idempotency.repeated_url_only_add")
def repeated_url_only_add(ctx: Context) -> None:
    """A repeated URL-only registration with the same id is idempotent too."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    params = {"id": item_id, "projectId": project, "name": "r.mp4", "type": MediaType.VIDEO,
              "sourceUrl": ctx.media_url(item_id)}
    first = peer.call("addMediaItem", params)
    again = peer.call("addMediaItem", params)
    check(first["created"] is True and again["created"] is False,
          f"created flags {first['created']}, {again['created']}")
    check(listed_ids(peer, project) == [item_id], "a repeated add listed the item twice")


@case("isolation.list_shows_only_its_project")
def list_isolation(ctx: Context) -> None:
    """Listing project B never shows A's item, and B's counts do not count it."""
    peer = ctx.peer()
    a, b = ctx.project("a"), ctx.project("b")
    item = add_inline(peer, a, f"isolated {a}".encode())["item"]
    add_inline(peer, b, f"isolated {b}".encode())
    check(item["id"] not in listed_ids(peer, b), "project B lists an item of project A")
    for filters in ({"text": "clip"}, {"status": [ItemStatus.SAVED]}, {"type": MediaType.VIDEO}):
        check(item["id"] not in listed_ids(peer, b, **filters),
              f"project B lists an item of project A with filter {filters}")
    counts = peer.call("listMediaItems", {"projectId": b})["counts"]
    check(counts["total"] == 1, f"project B counts {counts['total']} items, not 1")


@case("isolation.get_remove_retry_through_another_project")
def item_isolation(ctx: Context) -> None:
    """get, remove, retry and download naming another project answer not_found; the
    item is untouched."""
    peer = ctx.peer()
    a, b = ctx.project("a"), ctx.project("b")
    item_id = ctx.item_id()
    add_inline(peer, a, f"isolated {item_id}".encode(), item_id=item_id)
    for method in ("getMediaItem", "removeMediaItem", "retrySaveItem", "downloadUrlOnlyItem"):
        peer.error(method, {"id": item_id, "projectId": b}, code="not_found")
    check(listed_ids(peer, a) == [item_id], "the item of project A was touched through B")
    check(peer.call("getMediaItem", {"id": item_id, "projectId": a})["item"]["id"] == item_id,
          "the item is no longer gettable in its own project")
