"""Malformed and oversized messages: each gets a typed error (``id: null`` when no id can
be read) and neither stops the server nor changes the store."""

from __future__ import annotations

from protocol.vocabulary import MediaType
from sidecar.tools.harness.context import Context, listed_ids
from sidecar.tools.harness.outcome import check
from sidecar.tools.harness.peer import Json, Peer, expect_error, now_ms
from sidecar.tools.harness.registry import case
from sidecar.wire.codec import encode


def _still_serving(ctx: Context, peer: Peer) -> None:
    peer.call("ping")
    ctx.peer().call("ping")


def _anonymous_error(peer: Peer, envelope: bytes, code: str, what: str) -> None:
    peer.send_frames(peer.frames(envelope))
    msg = peer.anonymous()
    check(msg["id"] is None, f"{what}: error id is {msg['id']!r}, not null")
    expect_error(msg["error"], code, None, what)


@case("frames.bad_msgpack")
def bad_msgpack(ctx: Context) -> None:
    """Undecodable envelopes (reserved byte, truncated, trailing bytes) get invalid_request."""
    peer = ctx.peer()
    full = encode(peer.envelope("ping"))
    for raw, what in ((b"\xc1", "byte 0xc1"), (full[:10], "truncated envelope"),
                      (full + b"\xc0", "trailing bytes")):
        _anonymous_error(peer, raw, "invalid_request", what)
    _still_serving(ctx, peer)


@case("frames.envelope_not_a_map")
def envelope_not_a_map(ctx: Context) -> None:
    """An envelope that is an array, a string or a number gets invalid_request."""
    peer = ctx.peer()
    for value, what in ((b"\x93\x01\x02\x03", "array"),
                        (b"\xa4ping", "string"), (b"\x2a", "integer")):
        _anonymous_error(peer, value, "invalid_request", f"envelope that is an {what}")
    _still_serving(ctx, peer)


@case("frames.missing_and_wrong_typed_fields")
def missing_fields(ctx: Context) -> None:
    """A missing or wrong-typed envelope field gets invalid_request, with the id if readable."""
    peer = ctx.peer()
    _anonymous_error(peer, encode({"type": "request", "method": "ping", "params": {},
                                   "ts": now_ms()}), "invalid_request", "envelope without id")
    cases: list[tuple[Json, str]] = [
        ({"type": "request", "params": {}}, "envelope without method"),
        ({"type": "request", "method": "ping", "params": ["x"]}, "params that is an array"),
        ({"type": "request", "method": 7, "params": {}}, "method that is an integer"),
        ({"type": "reply", "method": "ping", "params": {}}, "type reply from a client"),
    ]
    for fields, what in cases:
        rid = peer.new_id()
        env = {**fields, "id": rid, "ts": now_ms()}
        peer.send_frames(peer.frames(env), rid)
        msg = peer.reply(rid)
        check(msg["type"] == "error", f"{what}: accepted")
        expect_error(msg["error"], "invalid_request", None, what)
    _still_serving(ctx, peer)


@case("frames.too_few_frames")
def too_few_frames(ctx: Context) -> None:
    """A message of a single frame gets invalid_request with id null."""
    peer = ctx.peer()
    peer.send_frames([encode(peer.envelope("ping"))])
    msg = peer.anonymous()
    expect_error(msg["error"], "invalid_request", None, "single-frame message")
    _still_serving(ctx, peer)


@case("frames.envelope_over_the_limit")
def envelope_over_the_limit(ctx: Context) -> None:
    """An envelope over limits.maxEnvelopeBytes gets payload_too_large and changes nothing."""
    peer = ctx.peer()
    project = ctx.project()
    limit = int(ctx.limits["maxEnvelopeBytes"])
    env = peer.envelope("addMediaItem", {
        "projectId": project, "name": "a.mp4", "type": MediaType.VIDEO,
        "sourceUrl": ctx.media_url("oversized"),
        "metadata": {"pad": "x" * limit}})
    peer.send_frames(peer.frames(env), env["id"], "addMediaItem")
    msg = peer.reply_or_anonymous(env["id"])
    check(msg["type"] == "error", "an oversized envelope was accepted")
    expect_error(msg["error"], "payload_too_large", None, "oversized envelope")
    check(listed_ids(peer, project) == [], "an oversized add was kept")
    _still_serving(ctx, peer)


@case("frames.too_many_frames")
def too_many_frames(ctx: Context) -> None:
    """More payload frames than limits.maxFrames get payload_too_large and change nothing."""
    peer = ctx.peer()
    project = ctx.project()
    count = int(ctx.limits["maxFrames"]) + 1
    env = peer.envelope("addMediaItem", {"projectId": project, "name": "a.bin",
                                         "type": MediaType.IMAGE})
    peer.send_frames(peer.frames(env, [b"x"] * count), env["id"], "addMediaItem")
    msg = peer.reply_or_anonymous(env["id"])
    check(msg["type"] == "error", f"{count} payload frames were accepted")
    expect_error(msg["error"], "payload_too_large", None, f"{count} payload frames")
    check(listed_ids(peer, project) == [], "an add with too many frames was kept")
    _still_serving(ctx, peer)
