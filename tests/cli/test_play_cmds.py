"""source and read against a real sidecar: where an item's bytes are, and the bytes
themselves through readMediaRange (several ranges, checked against the sha256)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from protocol.vocabulary import ByteLocation, MediaType
from sidecar.client import SyncClient
from tests.cli.conftest import CliFn


def test_source_and_read_a_saved_item(cli: CliFn, at: list[str], client: SyncClient,
                                      tmp_path: Path, media_files: dict[str, bytes]) -> None:
    webm = media_files["clip.webm"]
    big = webm + os.urandom(9 * 1024 * 1024)  # more than two 4 MiB ranges
    client.call("addMediaItem", {"id": "v", "projectId": "p1", "name": "v.mp4",
                                 "type": MediaType.VIDEO}, [big])
    r = cli("source", "v", "-p", "p1", *at, "--json")
    assert r.code == 0, r.err
    src = r.json()
    assert (src["bytes"], src["mimeType"], src["size"]) == (ByteLocation.FILE, "video/webm",
                                                            len(big))
    human = cli("source", "v", "-p", "p1", *at)
    assert "saved · bytes: file" in human.out and src["path"] in human.out

    out = tmp_path / "copy.webm"
    r = cli("read", "v", "-p", "p1", *at, "-o", str(out))
    assert r.code == 0, r.err
    assert out.read_bytes() == big and "sha256 matches" in r.err
    r = cli("read", "v", "-p", "p1", *at, "--offset", "10", "--length", "20", "-o", str(out))
    assert r.code == 0 and out.read_bytes() == big[10:30]
    assert hashlib.sha256(out.read_bytes()).hexdigest() != src["sha256"]


def test_read_refuses_what_has_no_bytes(cli: CliFn, at: list[str], client: SyncClient,
                                        tmp_path: Path) -> None:
    client.call("addMediaItem", {"id": "u", "projectId": "p1", "name": "u.mp4",
                                 "type": MediaType.VIDEO,
                                 "sourceUrl": "https://v3.fal.media/files/u.mp4"})
    r = cli("read", "u", "-p", "p1", *at, "-o", str(tmp_path / "x"))
    assert r.code == 1 and "has no local bytes (urlOnly)" in r.err
    r = cli("source", "u", "-p", "p1", *at)
    assert r.code == 0 and "urlOnly · bytes: none" in r.out
    r = cli("source", "u", "-p", "other", *at)
    assert r.code == 1 and "error: not_found" in r.err
    client.call("addMediaItem",
                {"id": "s", "projectId": "p1", "name": "s", "type": MediaType.VIDEO}, [b"12345"])
    r = cli("read", "s", "-p", "p1", *at, "--offset", "5")
    assert r.code == 2 and "not below the item's size 5" in r.err
