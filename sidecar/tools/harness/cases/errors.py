"""Documented error codes a black box can provoke without faults or network, each checked
to change nothing. (Session-level codes live in ``session``, ``auth`` and ``frames``.)"""

from __future__ import annotations

from protocol.vocabulary import MediaType
from sidecar.tools.harness.context import Context, add_inline, listed_ids, sha256
from sidecar.tools.harness.outcome import NotApplicable, check
from sidecar.tools.harness.registry import case


@case("errors.not_found")
def not_found(ctx: Context) -> None:
    """get, remove, retry and download of an unknown id answer not_found."""
    peer = ctx.peer()
    missing = ctx.item_id("missing")
    for method in ("getMediaItem", "removeMediaItem", "retrySaveItem", "downloadUrlOnlyItem",
                   "cancelDownload"):
        peer.error(method, {"id": missing}, code="not_found")


@case("errors.conflict_same_id_other_content")
def conflict_same_id(ctx: Context) -> None:
    """An add reusing an id with other content is a conflict; the first item stays."""
    peer = ctx.peer()
    project, item_id = ctx.project(), ctx.item_id()
    add_inline(peer, project, b"first content", item_id=item_id)
    peer.error("addMediaItem", {"id": item_id, "projectId": project, "name": "clip.mp4",
                                "type": MediaType.VIDEO}, [b"other content"], code="conflict")
    item = peer.call("getMediaItem", {"id": item_id})["item"]
    check(item["sha256"] == sha256(b"first content"), "a conflicting add replaced the item")


@case("errors.path_not_allowed")
def path_not_allowed(ctx: Context) -> None:
    """Relative paths, '..' and NUL in sourcePath are refused with path_not_allowed."""
    peer = ctx.peer()
    project = ctx.project()
    for path in ("relative/clip.mp4", "/tmp/../etc/passwd", "/tmp/clip\x00.mp4"):
        peer.error("addMediaItem", {"projectId": project, "name": "clip.mp4",
                                    "type": MediaType.VIDEO, "sourcePath": path},
                   code="path_not_allowed")
    check(listed_ids(peer, project) == [], "a refused sourcePath add was kept")


@case("errors.host_not_allowed")
def host_not_allowed(ctx: Context) -> None:
    """Downloads from a scheme or host that is not allowed are refused before any request."""
    peer = ctx.peer()
    project = ctx.project()
    for url in ("file:///etc/passwd", "ftp://v3.fal.media/files/a.mp4",
                "https://media-sidecar-harness.invalid/a.mp4"):
        peer.error("addMediaItem", {"projectId": project, "name": "a.mp4", "type": MediaType.VIDEO,
                                    "sourceUrl": url, "download": True},
                   code="host_not_allowed")
    check(listed_ids(peer, project) == [], "a refused download was kept")


@case("errors.metadata_over_the_limit")
def metadata_over_the_limit(ctx: Context) -> None:
    """metadata larger than limits.maxMetadataBytes is payload_too_large and kept nowhere."""
    limit = int(ctx.limits["maxMetadataBytes"])
    if limit + 4096 >= int(ctx.limits["maxEnvelopeBytes"]):
        raise NotApplicable("maxMetadataBytes is not below maxEnvelopeBytes")
    peer = ctx.peer()
    project = ctx.project()
    peer.error("addMediaItem", {"projectId": project, "name": "a.mp4", "type": MediaType.VIDEO,
                                "metadata": {"prompt": "x" * (limit + 1)}},
               [b"bytes"], code="payload_too_large")
    check(listed_ids(peer, project) == [], "an add with oversized metadata was kept")


@case("errors.subscribe_to_an_unknown_event")
def subscribe_unknown_event(ctx: Context) -> None:
    """subscribe to an event the protocol does not have is invalid_params."""
    ctx.peer().error("subscribe", {"events": ["itemTeleported"]}, code="invalid_params")
