"""add (file by path or inline, stdin, URL), get and remove against a real sidecar."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from protocol.vocabulary import ItemStatus, MediaType
from sidecar.client import SyncClient
from tests.cli.conftest import CliFn, add_bytes, video_file
from tests.support import SidecarProcess


def test_add_a_file_under_an_import_root_by_path(cli: CliFn, at: list[str],
                                                 sidecar: SidecarProcess,
                                                 tmp_path: Path) -> None:
    # The fixture's sidecar has tmp_path as an import root.
    path = video_file(tmp_path, "fox.mp4", b"fox video bytes")
    r = cli("add", str(path), "-p", "p1", *at, "--json")
    assert r.code == 0, r.err
    assert "inline" not in r.err  # went by sourcePath, no fallback
    item = r.json()["item"]
    assert item["status"] == ItemStatus.SAVED and item["name"] == "fox.mp4"
    assert item["type"] == MediaType.VIDEO and item["mimeType"] == "video/mp4"
    assert item["sha256"] == hashlib.sha256(b"fox video bytes").hexdigest()


def test_add_a_file_outside_the_import_roots_sends_its_bytes_inline(
        cli: CliFn, at: list[str]) -> None:
    with tempfile.TemporaryDirectory() as other:  # not under the fixture's import root
        path = video_file(Path(other), "owl.webm", b"owl video bytes")
        r = cli("add", str(path), "-p", "p1", *at, "--json")
        assert r.code == 0, r.err
        assert "sending its bytes inline" in r.err
        item = r.json()["item"]
        assert item["status"] == ItemStatus.SAVED and item["mimeType"] == "video/webm"
        assert item["size"] == len(b"owl video bytes")
        r = cli("add", str(path), "-p", "p1", *at, "--by-path")
        assert r.code == 1
        assert "error: path_not_allowed" in r.err


def test_add_inline_forces_bytes(cli: CliFn, at: list[str], tmp_path: Path) -> None:
    path = video_file(tmp_path, "cat.mp4", b"cat")
    r = cli("add", str(path), "-p", "p1", "--inline", "--id", "cat", *at)
    assert r.code == 0, r.err
    assert "✓ saved" in r.out and "id=cat" in r.out


def test_add_from_stdin(cli: CliFn, at: list[str]) -> None:
    r = cli("add", "-", "-p", "p1", "--name", "voice.wav", *at, "--json",
            stdin=b"RIFF audio bytes")
    assert r.code == 0, r.err
    item = r.json()["item"]
    assert item["type"] == MediaType.AUDIO and item["name"] == "voice.wav"
    assert item["size"] == len(b"RIFF audio bytes")


def test_add_needs_a_type_it_cannot_guess(cli: CliFn, at: list[str]) -> None:
    r = cli("add", "-", "-p", "p1", "--name", "mystery", *at, stdin=b"x")
    assert r.code == 2
    assert "--type" in r.err


def test_add_a_url_registers_it_url_only(cli: CliFn, at: list[str]) -> None:
    url = "https://v3.fal.media/files/monkey/gen-1.mp4"
    r = cli("add", url, "-p", "p1", *at, "--meta", "model=fal-ai/ltx-video",
            "--meta", 'seed=42', "--folder", "f1")
    assert r.code == 0, r.err
    assert "☁ urlOnly" in r.out and "gen-1.mp4" in r.out
    assert "media-sidecar download" in r.out
    r = cli("add", url, "-p", "p1", *at, "--json", "--id", "g2")
    item = r.json()["item"]
    assert item["status"] == ItemStatus.URL_ONLY and item["sourceUrl"] == url


def test_add_a_url_outside_the_allowed_hosts_is_refused(cli: CliFn, at: list[str]) -> None:
    r = cli("add", "https://evil.example/x.mp4", "-p", "p1", *at)
    assert r.code == 1
    assert "error: host_not_allowed" in r.err


def test_get_shows_one_item(cli: CliFn, at: list[str], client: SyncClient) -> None:
    item = add_bytes(client, "p1", "fox.mp4", b"fox", metadata={"prompt": "a fox"})
    r = cli("get", item["id"], *at)
    assert r.code == 0, r.err
    for text in ("✓ saved", "fox.mp4", item["sha256"], "a fox"):
        assert text in r.out
    raw = cli("get", item["id"], "-p", "p1", *at, "--json").json()
    assert raw["item"]["id"] == item["id"]


def test_get_in_another_project_is_not_found(cli: CliFn, at: list[str],
                                             client: SyncClient) -> None:
    item = add_bytes(client, "p1", "fox.mp4", b"fox")
    r = cli("get", item["id"], "-p", "p2", *at)
    assert r.code == 1
    assert "error: not_found" in r.err


def test_remove_deletes_the_item_and_its_bytes(cli: CliFn, at: list[str],
                                               client: SyncClient) -> None:
    item = add_bytes(client, "p1", "fox.mp4", b"fox")
    blob = Path(item["localPath"])
    assert blob.exists()
    r = cli("remove", item["id"], "-p", "p1", *at)
    assert r.code == 0, r.err
    assert "removed" in r.out and "bytes were deleted" in r.out
    assert not blob.exists()
    assert cli("get", item["id"], *at).code == 1
    r = cli("remove", item["id"], *at, "--json")
    assert r.code == 1 and "not_found" in r.err
