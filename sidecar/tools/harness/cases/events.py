"""Events: subscribe, filters by name and project, seq growing by one, fan-out to other
connections, unsubscribe. Absence is shown by order (a later event arrives first), never
by waiting."""

from __future__ import annotations

from sidecar.tools.harness.context import Context, add_inline
from sidecar.tools.harness.outcome import check
from sidecar.tools.harness.peer import Json, Peer
from sidecar.tools.harness.registry import case


def _first_event(peer: Peer, name: str) -> Json:
    """The first event called ``name`` received on ``peer`` (earlier ones of other names
    are dropped)."""
    while True:
        event = peer.event(name) if not peer.events else peer.events.popleft()
        if event["event"] == name:
            return event


@case("events.add_emits_itemAdded_with_the_next_seq")
def add_emits_item_added(ctx: Context) -> None:
    """After subscribe (seq s), an add emits itemAdded with seq s+1 and the added item."""
    peer = ctx.peer()
    seq = peer.call("subscribe", {"events": ["itemAdded"]})["seq"]
    item = add_inline(peer, ctx.project(), b"event bytes")["item"]
    event = peer.event("itemAdded")
    check(event["seq"] == seq + 1, f"itemAdded has seq {event['seq']}, not {seq + 1}")
    got = event["data"]["item"]
    check(got["id"] == item["id"] and got["projectId"] == item["projectId"],
          "itemAdded carries another item")


@case("events.seq_grows_by_one")
def seq_grows_by_one(ctx: Context) -> None:
    """Several events on one connection have consecutive seq numbers."""
    peer = ctx.peer()
    start = peer.call("subscribe", {"events": ["itemAdded", "itemRemoved"]})["seq"]
    project = ctx.project()
    item = add_inline(peer, project, b"seq 1")["item"]
    peer.call("removeMediaItem", {"id": item["id"]})
    add_inline(peer, project, b"seq 2")
    seqs = [peer.event("itemAdded")["seq"], peer.event("itemRemoved")["seq"],
            peer.event("itemAdded")["seq"]]
    check(sorted(seqs) == [start + 1, start + 2, start + 3], f"seqs {seqs} after {start}")


@case("events.project_filter")
def project_filter(ctx: Context) -> None:
    """A subscription to project A never receives events of project B."""
    peer = ctx.peer()
    a, b = ctx.project("a"), ctx.project("b")
    peer.call("subscribe", {"projectId": a})
    add_inline(peer, b, b"for b")
    mine = add_inline(peer, a, b"for a")["item"]
    event = _first_event(peer, "itemAdded")
    check(event["data"]["item"]["projectId"] == a,
          f"a subscription to {a} received an event of {event['data']['item']['projectId']}")
    check(event["data"]["item"]["id"] == mine["id"], "itemAdded carries another item")


@case("events.name_filter")
def name_filter(ctx: Context) -> None:
    """A subscription to itemRemoved does not receive itemAdded."""
    peer = ctx.peer()
    peer.call("subscribe", {"events": ["itemRemoved"]})
    project = ctx.project()
    item = add_inline(peer, project, b"name filter")["item"]
    peer.call("removeMediaItem", {"id": item["id"]})
    event = peer.event("itemRemoved")
    check((event["data"]["id"], event["data"]["projectId"]) == (item["id"], project),
          f"itemRemoved data {event['data']}")
    check(not any(e["event"] == "itemAdded" for e in peer.events),
          "a subscription to itemRemoved received itemAdded")


@case("events.other_connections_receive_events")
def fan_out(ctx: Context) -> None:
    """An add on one connection is announced to another subscribed connection."""
    watcher, actor = ctx.peer(), ctx.peer()
    project = ctx.project()
    watcher.call("subscribe", {"projectId": project})
    item = add_inline(actor, project, b"fan out")["item"]
    event = watcher.event("itemAdded")
    check(event["data"]["item"]["id"] == item["id"], "the watcher got another item's event")


@case("events.unsubscribe_stops_events")
def unsubscribe_stops(ctx: Context) -> None:
    """After unsubscribe no event is sent; after a new subscribe they flow again."""
    peer = ctx.peer()
    project = ctx.project()
    peer.call("subscribe", {"projectId": project})
    peer.call("unsubscribe")
    quiet = add_inline(peer, project, b"while unsubscribed")["item"]
    peer.call("subscribe", {"projectId": project})
    loud = add_inline(peer, project, b"after subscribing again")["item"]
    event = _first_event(peer, "itemAdded")
    check(event["data"]["item"]["id"] != quiet["id"],
          "an event was sent to an unsubscribed connection")
    check(event["data"]["item"]["id"] == loud["id"], "itemAdded carries another item")
