"""Concurrency: pipelined requests answered in completion order and correlated by id, and
pagination that stays stable while items are inserted."""

from __future__ import annotations

import os

from protocol.vocabulary import MediaType, SortKey, SortOrder
from sidecar.tools.harness.context import Context, add_inline
from sidecar.tools.harness.outcome import CaseFailed, check
from sidecar.tools.harness.registry import case

PINGS = 16


@case("pipelining.fast_pings_overtake_a_slow_add")
def pings_overtake(ctx: Context) -> None:
    """Pings sent after a large add are answered before it: a slow request blocks nothing.
    (Tried with growing sizes, so a very fast server is not mistaken for a serial one.)"""
    peer = ctx.peer(timeout=max(ctx.options.timeout, 60.0))
    project = ctx.project()
    size = max(ctx.options.large_bytes // 2, 1 << 20)
    for _ in range(3):
        data = os.urandom(size)
        slow = peer.send("addMediaItem", {"projectId": project, "name": "slow.bin",
                                          "type": MediaType.VIDEO}, [data])
        pings = [peer.send("ping") for _ in range(PINGS)]
        reply = peer.reply(slow)
        check(reply["type"] == "reply", f"the slow add failed: {reply.get('error')}")
        for rid in pings:
            check(peer.reply(rid)["type"] == "reply", "a pipelined ping failed")
        order = [rid for rid in peer.arrivals if rid == slow or rid in pings]
        if order.index(slow) > 0:
            return
        size *= 2
    raise CaseFailed(f"{PINGS} pings sent after a {size // 2} byte add were all answered "
                     "after it: requests look served one at a time")


@case("pipelining.replies_correlate_by_id")
def replies_correlate(ctx: Context) -> None:
    """Many pipelined requests on one connection each get their own reply."""
    peer = ctx.peer()
    projects = [ctx.project(f"c{i}") for i in range(8)]
    items = {p: add_inline(peer, p, f"corr {p}".encode())["item"]["id"] for p in projects}
    sent = {peer.send("listMediaItems", {"projectId": p}): p for p in projects}
    sent.update({peer.send("getMediaItem", {"id": items[p]}): p for p in projects})
    for rid, project in sent.items():
        msg = peer.reply(rid)
        check(msg["type"] == "reply", f"request {rid} failed: {msg.get('error')}")
        result = msg["result"]
        got = result["item"]["projectId"] if "item" in result else (
            result["items"][0]["projectId"] if result["items"] else None)
        check(got == project, f"reply {rid} answers for {got}, not {project}")


@case("pagination.stable_under_concurrent_inserts")
def stable_pagination(ctx: Context) -> None:
    """Paging with a cursor while items are inserted returns every earlier item exactly
    once, and the pages never repeat an item."""
    peer, writer = ctx.peer(), ctx.peer()
    project = ctx.project()
    before = [add_inline(writer, project, f"page {project} {i}".encode(),
                         name=f"item-{i:02d}.mp4")["item"]["id"] for i in range(9)]
    for sort in (SortKey.CREATED_AT, SortKey.NAME):
        for order in (SortOrder.DESC, SortOrder.ASC):
            seen: list[str] = []
            cursor = None
            for page_no in range(100):
                params: dict[str, object] = {"projectId": project, "limit": 2, "sort": sort,
                                             "order": order}
                if cursor is not None:
                    params["cursor"] = cursor
                page = peer.call("listMediaItems", params)
                seen += [i["id"] for i in page["items"]]
                if page_no < 3:  # insert while the listing is under way
                    add_inline(writer, project, f"new {project} {sort}{order}{page_no}".encode(),
                               name=f"item-{page_no:02d}b.mp4")
                cursor = page["nextCursor"]
                if cursor is None:
                    break
            dupes = {i for i in seen if seen.count(i) > 1}
            check(not dupes, f"sort {sort} {order}: items listed twice: {sorted(dupes)}")
            missing = set(before) - set(seen)
            check(not missing, f"sort {sort} {order}: earlier items skipped: {sorted(missing)}")
