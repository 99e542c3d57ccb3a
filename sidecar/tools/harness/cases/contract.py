"""What docs/PROTOCOL.md states beyond the schemas, one case per statement: the envelope is
closed and ``type`` is required; the HMAC key is the UTF-8 bytes of the secret (hex-decoding
it fails); hello announces the per-client and per-server bounds and the download cap; the
server-wide bound queues, never ``busy``; metadata is measured as compact JSON and must be
JSON-compatible; the seeds' flag keys are replaced; "same content" means the same bytes and
ids are global; counts ignore the list's filters; error ``data`` shapes; after an oversize
frame the reconnected socket is a new session (``not_ready``: say hello again)."""

from __future__ import annotations

import binascii
import json
import os
import time

from protocol.vocabulary import ItemStatus, MediaType
from sidecar.client.frames import RemoteError
from sidecar.tools.harness.context import Context, add_inline, sha256
from sidecar.tools.harness.outcome import CaseFailed, NotApplicable, check
from sidecar.tools.harness.peer import Json, expect_error, now_ms
from sidecar.tools.harness.registry import case

MAX_FRAME_TO_TRY = 64 * 1024 * 1024  # an oversize frame is only sent below this limit
MAX_DOWNLOAD_TO_TRY = 32 * 1024 * 1024


@case("contract.envelope_is_closed_and_type_is_required")
def envelope_closed(ctx: Context) -> None:
    """An envelope without ``type``, or with a key the protocol does not define, gets
    invalid_request (with its id, which is readable) and changes nothing."""
    peer = ctx.peer()
    for fields, what in (({"method": "ping", "params": {}}, "an envelope without type"),
                         ({"type": "request", "method": "ping", "params": {}, "extra": 1},
                          "an envelope with an unknown key")):
        rid = peer.new_id()
        env: Json = {**fields, "id": rid, "ts": now_ms()}
        peer.send_frames(peer.frames(env), rid, "ping")
        msg = peer.reply_or_anonymous(rid)
        check(msg["type"] == "error", f"{what} was served")
        expect_error(msg["error"], "invalid_request", None, what)
        check(msg["id"] in (rid, None), f"{what}: the error's id is {msg['id']!r}")
    peer.call("ping")


@case("contract.hmac_key_is_the_utf8_bytes_of_the_secret")
def hmac_key_is_utf8(ctx: Context) -> None:
    """The key is the secret's UTF-8 bytes as written in the connection file; a client that
    hex-decodes a hex secret signs with the wrong key and is refused ``unauthorized``."""
    secret = ctx.target.secret
    try:
        decoded = binascii.unhexlify(secret)
    except (binascii.Error, ValueError):
        raise NotApplicable("the server's secret is not hex") from None
    peer = ctx.peer(hello=False)
    rid = peer.send("hello", {"protocol": ctx.book.protocol_version}, key=decoded)
    msg = peer.reply_or_anonymous(rid)
    check(msg["type"] == "error", "a request signed with the hex-decoded secret was served")
    expect_error(msg["error"], "unauthorized", None, "signed with the hex-decoded secret")
    ctx.peer().call("ping")  # the UTF-8 key (every other request of the harness) works


@case("contract.hello_announces_every_bound")
def hello_announces_bounds(ctx: Context) -> None:
    """hello's limits name the per-client bound (maxInFlight), the server-wide bound
    (maxInFlightServer, at least as large), the download cap (maxDownloadBytes) and the
    largest readMediaRange (maxRangeBytes, never above one frame)."""
    limits = ctx.limits
    for key in ("maxInFlight", "maxInFlightServer", "maxDownloadBytes", "maxMetadataBytes",
                "maxEnvelopeBytes", "maxFrameBytes", "maxFrames", "replayWindowMs",
                "maxRangeBytes"):
        check(isinstance(limits.get(key), int) and limits[key] > 0,
              f"limits.{key} is {limits.get(key)!r}")
    check(limits["maxInFlightServer"] >= limits["maxInFlight"],
          "maxInFlightServer is smaller than maxInFlight")
    check(limits["maxRangeBytes"] <= limits["maxFrameBytes"],
          "maxRangeBytes is larger than maxFrameBytes")


@case("contract.server_bound_queues_never_busy")
def server_bound_queues(ctx: Context) -> None:
    """More requests in flight over all clients than maxInFlightServer (each client within
    its own maxInFlight) are all answered: beyond the server bound they wait, never busy."""
    per_client = int(ctx.limits["maxInFlight"])
    total = int(ctx.limits["maxInFlightServer"]) + per_client
    if total > 2048:
        raise NotApplicable(f"the bounds are too large to exceed here ({total})")
    project = ctx.project("queue")
    peers = [ctx.peer() for _ in range(-(-total // per_client))]
    sent: list[tuple[int, str]] = []
    for i in range(total):
        who = i % len(peers)
        sent.append((who, peers[who].send("listMediaItems", {"projectId": project,
                                                             "limit": 1})))
    busy = 0
    for who, rid in sent:
        msg = peers[who].reply(rid, timeout=max(ctx.options.timeout, 60.0))
        if msg["type"] == "error":
            check(msg["error"]["code"] == "busy", f"unexpected error {msg['error']}")
            busy += 1
    check(busy == 0, f"{busy} of {total} requests answered busy (the server bound must queue)")


@case("contract.metadata_is_measured_as_compact_json")
def metadata_compact_json(ctx: Context) -> None:
    """Metadata whose compact JSON (no spaces, UTF-8) is exactly maxMetadataBytes is accepted,
    one byte more is payload_too_large with data {limit, size}; values JSON cannot carry
    (bytes) are invalid_params on params.metadata."""
    limit = int(ctx.limits["maxMetadataBytes"])
    peer = ctx.peer()
    project = ctx.project("meta")
    overhead = len(json.dumps({"k": ""}, separators=(",", ":")))
    exact = {"k": "é" * ((limit - overhead) // 2) + "x" * ((limit - overhead) % 2)}
    check(len(json.dumps(exact, separators=(",", ":"), ensure_ascii=False).encode()) == limit,
          "harness arithmetic")
    add_inline(peer, project, os.urandom(64), metadata=exact)
    over = {"k": exact["k"] + "x"}
    body = peer.error("addMediaItem", {"projectId": project, "name": "m", "type": MediaType.IMAGE,
                                       "metadata": over}, [b"m"],
                      code="payload_too_large", field="params.metadata")
    check(body.get("data") == {"limit": limit, "size": limit + 1},
          f"payload_too_large data is {body.get('data')!r}, not {{limit, size}}")
    peer.error("addMediaItem", {"projectId": project, "name": "b", "type": MediaType.IMAGE,
                                "metadata": {"raw": b"\x00\x01"}}, [b"b"],
               code="invalid_params")


@case("contract.seed_flag_keys_in_metadata_are_replaced")
def reserved_metadata_keys(ctx: Context) -> None:
    """metadata.unsaved, .urlOnly and .storageError are derived from the item's status: values
    sent by a client are replaced; other keys are kept as sent."""
    peer = ctx.peer()
    result = add_inline(peer, ctx.project("flags"), os.urandom(64), metadata={
        "unsaved": True, "urlOnly": True, "storageError": {"message": "forged"},
        "mine": {"a": 1}})
    meta = result["item"]["metadata"]
    check(result["item"]["status"] == ItemStatus.SAVED, "the item was not saved")
    check(meta.get("unsaved") is False and meta.get("urlOnly") is False,
          f"the flags were not replaced: {meta}")
    check(meta.get("storageError") in (None, {}) or "forged" not in json.dumps(meta),
          f"storageError was kept as sent: {meta}")
    check(meta.get("mine") == {"a": 1}, f"a client key was not kept: {meta}")


@case("contract.same_content_means_the_same_bytes_and_ids_are_global")
def same_content_is_bytes(ctx: Context) -> None:
    """A repeated add with the same id and bytes is idempotent even when other fields differ
    (the item is returned unchanged, created false); other bytes are conflict; the same id
    in another project is conflict, whatever the bytes."""
    peer = ctx.peer()
    project, item_id, data = ctx.project("same"), ctx.item_id("same"), os.urandom(256)
    first = add_inline(peer, project, data, item_id=item_id, name="first.mp4")
    again = add_inline(peer, project, data, item_id=item_id, name="renamed.mp4",
                       metadata={"x": 1})
    check(again["created"] is False, "a repeated add created a new item")
    check(again["item"]["name"] == first["item"]["name"] == "first.mp4",
          "a repeated add changed the item's other fields")
    peer.error("addMediaItem", {"id": item_id, "projectId": project, "name": "x",
                                "type": MediaType.VIDEO}, [os.urandom(256)],
               code="conflict", field="params.id")
    peer.error("addMediaItem", {"id": item_id, "projectId": ctx.project("other"),
                                "name": "x", "type": MediaType.VIDEO}, [data],
               code="conflict", field="params.id")
    check(sha256(data) == first["item"]["sha256"], "sha256 of the first add")


@case("contract.counts_ignore_the_list_filters")
def counts_ignore_filters(ctx: Context) -> None:
    """listMediaItems' counts are the whole project's by status, whatever the filters,
    page size or cursor."""
    peer = ctx.peer()
    project = ctx.project("counts")
    for i in range(3):
        kind = MediaType.IMAGE if i else MediaType.VIDEO
        add_inline(peer, project, os.urandom(32 + i), type=kind)
    peer.call("addMediaItem", {"projectId": project, "name": "u", "type": MediaType.AUDIO,
                               "sourceUrl": ctx.media_url("counts")})
    whole = peer.call("listMediaItems", {"projectId": project})["counts"]
    check(whole["total"] == 4 and whole["saved"] == 3 and whole["urlOnly"] == 1,
          f"counts of the whole project {whole}")
    for filters in ({"type": MediaType.IMAGE}, {"status": [ItemStatus.URL_ONLY]},
                    {"text": "zzz-nothing"}, {"limit": 1}, {"folderId": "none"}):
        got = peer.call("listMediaItems", {"projectId": project, **filters})["counts"]
        check(got == whole, f"counts with filters {filters} are {got}, not {whole}")


@case("contract.error_data_shapes")
def error_data_shapes(ctx: Context) -> None:
    """Error ``data`` is a map of the documented shape, or null: version_mismatch {server},
    invalid_params / not_found null."""
    peer = ctx.peer(hello=False)
    body = peer.error("hello", {"protocol": "999.0.0"}, code="version_mismatch")
    data = body.get("data")
    check(isinstance(data, dict) and isinstance(data.get("server"), str),
          f"version_mismatch data is {data!r}, not {{server}}")
    peer = ctx.peer()
    body = peer.error("getMediaItem", {"id": ctx.item_id("none")}, code="not_found")
    check(body.get("data") is None, f"not_found data is {body.get('data')!r}, not null")
    body = peer.error("listMediaItems", {"projectId": 7}, code="invalid_params")
    check(body.get("data") is None, f"invalid_params data is {body.get('data')!r}")


@case("contract.download_over_the_cap_is_payload_too_large")
def download_cap(ctx: Context) -> None:
    """A download larger than maxDownloadBytes answers payload_too_large (nothing saved)."""
    cap = int(ctx.limits["maxDownloadBytes"])
    if cap > MAX_DOWNLOAD_TO_TRY:
        raise NotApplicable(f"maxDownloadBytes {cap} is too large to exceed here")
    http = ctx.need_loopback_downloads()
    url = http.publish(f"{ctx.run_id}-big.mp4", os.urandom(cap + 1))
    peer = ctx.peer(timeout=max(ctx.options.timeout, 60.0))
    project = ctx.project("cap")
    peer.error("addMediaItem", {"projectId": project, "name": "big.mp4", "type": MediaType.VIDEO,
                                "sourceUrl": url, "download": True},
               code="payload_too_large")
    page = peer.call("listMediaItems", {"projectId": project})
    check(page["counts"]["saved"] == 0, "an oversize download was saved")


@case("contract.after_an_oversize_frame_say_hello_again")
def oversize_frame_new_session(ctx: Context) -> None:
    """A frame over maxFrameBytes makes libzmq drop the connection; the client socket
    reconnects by itself as a new session, whose requests get not_ready until it says hello
    again (then it is served)."""
    limit = int(ctx.limits["maxFrameBytes"])
    if limit > MAX_FRAME_TO_TRY:
        raise NotApplicable(f"maxFrameBytes {limit} is too large to exceed here")
    peer = ctx.peer()
    peer.call("ping")
    env = peer.envelope("addMediaItem", {"projectId": ctx.project("big"), "name": "x",
                                         "type": MediaType.VIDEO})
    peer.send_frames(peer.frames(env, [bytes(limit + 1)]))  # no reply: the link is dropped
    deadline = time.monotonic() + max(ctx.options.timeout, 10.0)
    code = None
    while time.monotonic() < deadline:
        rid = peer.send("storageStatus")
        try:
            msg = peer.reply(rid, timeout=1.0)
        except CaseFailed:  # lost while the socket reconnected: try again
            peer.forget(rid)
            continue
        code = msg["error"]["code"] if msg["type"] == "error" else "ok"
        break
    check(code == "not_ready", f"after an oversize frame a request got {code!r}, "
          "not not_ready (a new session)")
    peer.hello()
    try:
        peer.call("storageStatus")
    except RemoteError as exc:
        raise CaseFailed(f"after saying hello again: {exc}") from exc
