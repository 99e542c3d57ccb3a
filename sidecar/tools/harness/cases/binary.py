"""Large binary payloads: bytes travel as raw frames and arrive intact (sha256 checked)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from protocol.vocabulary import ItemStatus
from sidecar.tools.harness.context import Context, add_inline, sha256
from sidecar.tools.harness.outcome import check
from sidecar.tools.harness.registry import case


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@case("binary.large_inline_payload")
def large_inline_payload(ctx: Context) -> None:
    """A large inline add (32 MiB by default) is saved with the right size and sha256, and
    expectedSha256 is honoured."""
    size = ctx.options.large_bytes
    data = os.urandom(size)
    digest = sha256(data)
    peer = ctx.peer(timeout=max(ctx.options.timeout, 120.0))
    result = add_inline(peer, ctx.project(), data, name="large.mp4", expectedSha256=digest)
    item = result["item"]
    check(item["size"] == size, f"size {item['size']}, not {size}")
    check(item["sha256"] == digest, "sha256 of the stored item is not the sent bytes'")
    check(item["status"] == ItemStatus.SAVED and result["durable"] is True,
          "the large add is not saved")
    path = Path(str(item["localPath"]))
    if path.is_file() and os.access(path, os.R_OK):  # only when the server is on this host
        check(_file_sha256(path) == digest, "the blob on disk differs from the sent bytes")


@case("binary.payload_split_across_many_frames")
def many_frames(ctx: Context) -> None:
    """Up to limits.maxFrames payload frames are joined in order."""
    count = int(ctx.limits["maxFrames"])
    data = b"".join(os.urandom(4096) for _ in range(count))
    item = add_inline(ctx.peer(), ctx.project(), data, chunks=count)["item"]
    check(item["sha256"] == sha256(data), f"{count} frames were not joined in order")
