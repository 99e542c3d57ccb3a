"""Authentication: wrong secret, no signature, stale or future ts, replays, tampered
payloads. Each refused message gets ``unauthorized`` and changes nothing."""

from __future__ import annotations

from protocol.vocabulary import MediaType
from sidecar.tools.harness.context import Context, listed_ids
from sidecar.tools.harness.outcome import check
from sidecar.tools.harness.peer import Json, Payload, Peer, expect_error, now_ms
from sidecar.tools.harness.registry import case

WRONG_KEY = b"not-the-secret-of-this-server-0123456789"


def _add_params(ctx: Context, project: str, item_id: str) -> Json:
    return {"id": item_id, "projectId": project, "name": "a.mp4", "type": MediaType.VIDEO,
            "sourceUrl": ctx.media_url(item_id)}


def _refused(peer: Peer, frames: list[Payload], rid: str, what: str) -> None:
    peer.send_frames(frames, rid, "addMediaItem")
    msg = peer.reply(rid)
    check(msg["type"] == "error", f"{what}: the request succeeded")
    expect_error(msg["error"], "unauthorized", None, what)


def _unchanged(ctx: Context, project: str, item_id: str) -> None:
    peer = ctx.peer()
    peer.error("getMediaItem", {"id": item_id}, code="not_found")
    check(listed_ids(peer, project) == [], "a refused request changed the store")


@case("auth.wrong_secret_refused")
def wrong_secret_refused(ctx: Context) -> None:
    """A request signed with another secret is unauthorized and changes nothing."""
    project, item_id = ctx.project(), ctx.item_id()
    peer = ctx.peer()
    env = peer.envelope("addMediaItem", _add_params(ctx, project, item_id))
    _refused(peer, peer.frames(env, key=WRONG_KEY), env["id"], "wrong secret")
    _unchanged(ctx, project, item_id)


@case("auth.missing_signature_refused")
def missing_signature_refused(ctx: Context) -> None:
    """An empty or truncated signature frame is unauthorized and changes nothing."""
    project, item_id = ctx.project(), ctx.item_id()
    peer = ctx.peer()
    env = peer.envelope("addMediaItem", _add_params(ctx, project, item_id))
    frames = peer.frames(env)
    _refused(peer, [b"", *frames[1:]], env["id"], "empty signature")
    env = peer.envelope("addMediaItem", _add_params(ctx, project, item_id))
    frames = peer.frames(env)
    _refused(peer, [bytes(frames[0])[:16], *frames[1:]], env["id"], "16-byte signature")
    _unchanged(ctx, project, item_id)


@case("auth.stale_and_future_timestamps_refused")
def stale_timestamps_refused(ctx: Context) -> None:
    """A correctly signed request whose ts lies outside the replay window is unauthorized."""
    project, item_id = ctx.project(), ctx.item_id()
    window = int(ctx.limits["replayWindowMs"])
    peer = ctx.peer()
    for ts, what in ((now_ms() - 2 * window - 1000, "stale ts"),
                     (now_ms() + 2 * window + 1000, "future ts")):
        env = peer.envelope("addMediaItem", _add_params(ctx, project, item_id), ts=ts)
        _refused(peer, peer.frames(env), env["id"], what)
    _unchanged(ctx, project, item_id)


@case("auth.replayed_message_refused")
def replayed_message_refused(ctx: Context) -> None:
    """The exact frames of an accepted request, sent again, are refused and change nothing."""
    project, item_id = ctx.project(), ctx.item_id()
    peer = ctx.peer()
    peer.call("addMediaItem", _add_params(ctx, project, item_id))
    remove = peer.envelope("removeMediaItem", {"id": item_id, "projectId": project})
    frames = peer.frames(remove)
    peer.send_frames(frames, remove["id"], "removeMediaItem")
    check(peer.reply(remove["id"])["type"] == "reply", "the first remove failed")
    peer.call("addMediaItem", _add_params(ctx, project, item_id))
    msg = peer.reply(_resend(peer, frames, remove["id"]))
    check(msg["type"] == "error", "a replayed remove was served")
    expect_error(msg["error"], "unauthorized", None, "replayed remove")
    other = ctx.peer()  # a replay from another connection is a replay too
    msg = other.reply(_resend(other, frames, remove["id"]))
    check(msg["type"] == "error", "a remove replayed on another connection was served")
    expect_error(msg["error"], "unauthorized", None, "remove replayed on another connection")
    item = peer.call("getMediaItem", {"id": item_id})["item"]
    check(item["projectId"] == project, "the item changed project")


def _resend(peer: Peer, frames: list[Payload], rid: str) -> str:
    peer.forget(rid)
    peer.send_frames(frames, rid, "removeMediaItem")
    return rid


@case("auth.hello_must_be_signed")
def hello_must_be_signed(ctx: Context) -> None:
    """hello signed with another secret is unauthorized and does not open the session."""
    peer = ctx.peer(hello=False)
    env = peer.envelope("hello", {"protocol": ctx.book.protocol_version})
    peer.send_frames(peer.frames(env, key=WRONG_KEY), env["id"], "hello")
    msg = peer.reply(env["id"])
    check(msg["type"] == "error", "hello with a wrong signature succeeded")
    expect_error(msg["error"], "unauthorized", None, "hello with a wrong signature")
    peer.error("ping", code="not_ready")


@case("auth.tampered_payload_refused")
def tampered_payload_refused(ctx: Context) -> None:
    """Payload frames are signed: the same envelope with other bytes is unauthorized."""
    project, item_id = ctx.project(), ctx.item_id()
    peer = ctx.peer()
    params = {"id": item_id, "projectId": project, "name": "a.bin", "type": MediaType.IMAGE}
    env = peer.envelope("addMediaItem", params)
    frames = peer.frames(env, [b"original bytes"])
    _refused(peer, [frames[0], frames[1], b"tampered bytes"], env["id"], "tampered payload")
    env = peer.envelope("addMediaItem", params)
    frames = peer.frames(env, [b"hello ", b"world"])  # same bytes, other frame lengths
    _refused(peer, [frames[0], frames[1], b"hello", b" world"], env["id"], "re-split payload")
    _unchanged(ctx, project, item_id)


@case("auth.server_signature_verifies")
def server_signature_verifies(ctx: Context) -> None:
    """Replies, including error replies to refused messages, carry the server's signature."""
    peer = ctx.peer()
    env = peer.envelope("ping")
    peer.send_frames(peer.frames(env, key=WRONG_KEY), env["id"], "ping")
    msg = peer.reply(env["id"])  # the peer verifies every signature on arrival
    check(msg["type"] == "error", "a ping signed with another secret was served")
