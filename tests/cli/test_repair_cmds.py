"""retry, retry-all, download, download-all and add --download, against a real sidecar that
downloads from a FAL-like HTTPS host on loopback."""

from __future__ import annotations

import hashlib

from protocol.vocabulary import FaultErrno, FaultOp, ItemStatus, MediaType
from sidecar.client import SyncClient
from sidecar.tools.demo.falserver import FakeFal
from tests.cli.conftest import CliFn, add_bytes

CLIP = b"\0\0\0\x18ftypmp42" + bytes(range(256)) * 400  # ~100 KiB


def unsaved(client: SyncClient, project: str, name: str, data: bytes, item_id: str
            ) -> dict[str, object]:
    client.call("testFault", {"op": FaultOp.BLOB_WRITE, "errno": FaultErrno.ENOSPC})
    item = add_bytes(client, project, name, data, id=item_id)
    assert item["status"] == ItemStatus.UNSAVED
    return item


def test_retry_saves_an_unsaved_item(cli: CliFn, at: list[str], client: SyncClient) -> None:
    unsaved(client, "p1", "edit.mp4", b"edit", "edit")
    r = cli("retry", "edit", "-p", "p1", *at)
    assert r.code == 0, r.err
    assert "✓ saved" in r.out and "edit.mp4" in r.out
    again = cli("retry", "edit", *at)
    assert again.code == 1
    assert "error: conflict" in again.err  # a saved item has nothing to retry


def test_retry_while_storage_still_fails_stays_unsaved(cli: CliFn, at: list[str],
                                                       client: SyncClient) -> None:
    unsaved(client, "p1", "edit.mp4", b"edit", "edit")
    client.call("testFault", {"op": FaultOp.BLOB_WRITE, "errno": FaultErrno.EIO})
    raw = cli("retry", "edit", *at, "--json").json()
    assert raw["durable"] is False
    assert raw["item"]["status"] == ItemStatus.UNSAVED
    assert raw["item"]["storageError"]["errno"] == "EIO"
    r = cli("retry", "edit", *at)  # the fault was used up: this one works
    assert "✓ saved" in r.out


def test_retry_all_saves_every_unsaved_item_of_the_project(cli: CliFn, at: list[str],
                                                           client: SyncClient) -> None:
    unsaved(client, "p1", "a.mp4", b"a", "a")
    unsaved(client, "p1", "b.mp4", b"b", "b")
    unsaved(client, "p2", "c.mp4", b"c", "c")
    r = cli("retry-all", "-p", "p1", *at)
    assert r.code == 0, r.err
    assert "retried 2 item(s) of project p1" in r.out and "✓ saved 2" in r.out
    raw = cli("retry-all", "-p", "p2", *at, "--json").json()
    assert raw["attempted"] == 1 and raw["saved"] == 1 and raw["itemIds"] == ["c"]
    r = cli("retry-all", "-p", "p1", *at)
    assert "nothing to retry" in r.out


def test_add_with_download_draws_progress_and_saves(cli: CliFn, at: list[str],
                                                    fal: FakeFal) -> None:
    url = fal.publish("/files/gen/fox.mp4", CLIP)
    r = cli("add", url, "-p", "p1", "--download", "--id", "fox", *at)
    assert r.code == 0, r.err
    assert "✓ saved" in r.out and "fox.mp4" in r.out
    assert "fox.mp4" in r.err  # the progress bar (stderr), labelled with the item
    raw = cli("get", "fox", *at, "--json").json()["item"]
    assert raw["sha256"] == hashlib.sha256(CLIP).hexdigest()
    assert raw["sourceUrl"] == url


def test_download_saves_a_url_only_item(cli: CliFn, at: list[str], fal: FakeFal,
                                        client: SyncClient) -> None:
    url = fal.publish("/files/gen/owl.mp4", CLIP)
    client.call("addMediaItem", {"id": "owl", "projectId": "p1", "name": "owl.mp4",
                                 "type": MediaType.VIDEO, "sourceUrl": url})
    r = cli("download", "owl", "-p", "p1", *at)
    assert r.code == 0, r.err
    assert "✓ saved" in r.out and "owl.mp4" in r.err
    assert [h.status for h in fal.hits("/files/gen/owl.mp4")] == [200]


def test_download_of_an_expired_url_marks_it_expired(cli: CliFn, at: list[str],
                                                     fal: FakeFal,
                                                     client: SyncClient) -> None:
    url = fal.publish("/files/gen/old.mp4", CLIP)
    client.call("addMediaItem", {"id": "old", "projectId": "p1", "name": "old.mp4",
                                 "type": MediaType.VIDEO, "sourceUrl": url})
    fal.expire("/files/gen/old.mp4")
    r = cli("download", "old", *at, "--json")
    assert r.code == 1
    assert "error: url_expired" in r.err
    assert cli("get", "old", *at, "--json").json()["item"]["status"] == ItemStatus.EXPIRED
    listed = cli("list", "-p", "p1", *at)
    assert "✗ expired" in listed.out


def test_download_all_downloads_every_url_only_item(cli: CliFn, at: list[str], fal: FakeFal,
                                                    client: SyncClient) -> None:
    for name in ("a", "b", "gone"):
        url = fal.publish(f"/files/gen/{name}.mp4", CLIP + name.encode())
        client.call("addMediaItem", {"id": name, "projectId": "p1", "name": f"{name}.mp4",
                                     "type": MediaType.VIDEO, "sourceUrl": url})
    fal.expire("/files/gen/gone.mp4")
    r = cli("download-all", "-p", "p1", *at)
    assert r.code == 0, r.err
    assert "downloaded 3 item(s) of project p1" in r.out
    assert "✓ saved 2" in r.out and "✗ expired 1" in r.out
    raw = cli("list", "-p", "p1", *at, "--json").json()
    assert raw["counts"] == {"saved": 2, "unsaved": 0, "urlOnly": 0, "expired": 1,
                             "lost": 0, "total": 3}
