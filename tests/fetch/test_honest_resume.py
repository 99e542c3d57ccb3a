"""Downloader.fetch continuing a partial file kept across restarts (``resume=Resume(...)``),
against real HTTPS servers on loopback: only the rest is asked for (Range + If-Range), the
hash covers the whole file, a changed file on the server is fetched whole, and what the
first response told is handed to ``learned`` (what the service records for a resume)."""

from __future__ import annotations

import asyncio
import hashlib
import random
from pathlib import Path

import pytest

from sidecar.errors import Cancelled
from sidecar.fetch.api import Resume
from sidecar.fetch.downloader import Downloader
from tests.fetch.server import MediaServer, serve, stall_head

BODY = random.Random(7).randbytes(1024 * 1024 + 333)
SHA = hashlib.sha256(BODY).hexdigest()
KEPT = 400_000


async def test_a_kept_prefix_is_continued_with_a_range_request(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/a.mp4", serve(BODY))
    dest.write_bytes(BODY[:KEPT])
    got = await fetcher.fetch("https://fal.media/a.mp4", dest, resume=Resume(
        total=len(BODY), etag='"v1"', validator='"v1"', mime="video/mp4"))
    assert got.sha256 == SHA and got.size == len(BODY) and dest.read_bytes() == BODY
    [seen] = fal.log.requests
    assert seen.headers["range"] == f"bytes={KEPT}-" and seen.headers["if-range"] == '"v1"'


async def test_a_file_changed_on_the_server_is_fetched_whole(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    new = random.Random(8).randbytes(700_000)
    fal.route("/a.mp4", serve(new, etag='"v2"'))  # If-Range "v1" does not match: a 200
    dest.write_bytes(BODY[:KEPT])
    got = await fetcher.fetch("https://fal.media/a.mp4", dest, resume=Resume(
        total=len(BODY), etag='"v1"', validator='"v1"', mime="video/mp4"))
    assert got.sha256 == hashlib.sha256(new).hexdigest() and dest.read_bytes() == new


async def test_without_a_validator_the_prefix_is_not_trusted(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/a.mp4", serve(BODY))
    dest.write_bytes(b"\xff" * KEPT)  # not even the right bytes
    learned: list[tuple[int | None, str | None, str | None, str]] = []
    got = await fetcher.fetch("https://fal.media/a.mp4", dest, resume=Resume(
        learned=lambda *told: learned.append(told)))
    assert got.sha256 == SHA and dest.read_bytes() == BODY
    assert "range" not in fal.log.requests[0].headers
    assert learned == [(len(BODY), '"v1"', '"v1"', "video/mp4")]


async def test_a_failed_resumable_fetch_leaves_the_file_for_the_caller(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/a.mp4", stall_head(5))
    dest.write_bytes(BODY[:KEPT])
    cancel_after = fetcher.config.read_timeout / 4
    cancel = asyncio.Event()
    asyncio.get_running_loop().call_later(cancel_after, cancel.set)
    with pytest.raises(Cancelled):
        await fetcher.fetch("https://fal.media/a.mp4", dest, cancel=cancel, resume=Resume(
            total=len(BODY), etag='"v1"', validator='"v1"', mime="video/mp4"))
    assert dest.read_bytes() == BODY[:KEPT]  # kept: the service decides (pause vs cancel)
