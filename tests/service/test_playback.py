"""Playback through a real sidecar process over real sockets: getMediaSource says where an
item's bytes are, readMediaRange returns them (one signed payload frame), for saved items,
unsaved ones (held in memory or spilled after a real ENOSPC on a tmpfs), and an item saved
while it is being read. Every range edge, the errors a player must tell apart, and the
recorded mimeType of each container (whatever the name says)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from sidecar.client import Client, RemoteError
from tests.media_files import KINDS
from tests.support import SidecarProcess, mounted_tmpfs, spawn_sidecar

KIB, MIB = 1 << 10, 1 << 20


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
async def client(sidecar: SidecarProcess) -> AsyncIterator[Client]:
    c = await Client.connect(sidecar.connection_file, timeout=20)
    try:
        yield c
    finally:
        await c.close()


async def add(c: Client, data: bytes, project: str = "p1", **params: Any) -> dict[str, Any]:
    params.setdefault("name", "clip")
    params.setdefault("type", "video")
    result = await c.call("addMediaItem", {"projectId": project, **params}, [data])
    item: dict[str, Any] = result["item"]
    return item


async def source(c: Client, item_id: str, project: str = "p1") -> dict[str, Any]:
    return await c.call("getMediaSource", {"projectId": project, "id": item_id})


async def error(c: Client, method: str, **params: Any) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        await c.call(method, params)
    return caught.value


async def read_all(c: Client, item_id: str, size: int, step: int, project: str = "p1"
                   ) -> bytes:
    out = bytearray()
    while len(out) < size:
        result, chunk = await c.read_range(project, item_id, len(out), step)
        assert result["offset"] == len(out) and result["length"] == len(chunk) > 0
        out += chunk
    return bytes(out)


# saved items ------------------------------------------------------------------------------
async def test_a_saved_item_plays_from_its_blob(client: Client,
                                                media_files: dict[str, bytes]) -> None:
    data = media_files["clip.webm"]
    item = await add(client, data, id="v1", name="holiday.mp4")  # the name lies
    src = await source(client, "v1")
    assert src == {"id": "v1", "projectId": "p1", "status": "saved", "size": len(data),
                   "mimeType": "video/webm", "sha256": sha(data), "path": item["localPath"],
                   "sourceUrl": None, "bytes": "file"}
    assert Path(src["path"]).read_bytes() == data
    assert await read_all(client, "v1", len(data), 1000) == data


async def test_every_range_edge(client: Client) -> None:
    data = os.urandom(300 * KIB + 7)
    size = len(data)
    await add(client, data, id="r1")
    limit = int(client.hello_result["limits"]["maxRangeBytes"])  # type: ignore[index]
    assert limit == 4 * MIB

    first, byte0 = await client.read_range("p1", "r1", 0, 1)
    assert byte0 == data[:1] and first == {"offset": 0, "length": 1, "size": size,
                                           "sha256": sha(data)}
    last, tail = await client.read_range("p1", "r1", size - 1, 1)
    assert tail == data[-1:] and last["length"] == 1
    across, end = await client.read_range("p1", "r1", size - 10, 64 * KIB)
    assert end == data[-10:] and across["length"] == 10  # shorter only at the end
    whole, everything = await client.read_range("p1", "r1", 0, limit)
    assert everything == data and whole["length"] == size
    middle, part = await client.read_range("p1", "r1", 12345, 54321)
    assert part == data[12345:12345 + 54321] and middle["length"] == 54321

    past = await error(client, "readMediaRange", projectId="p1", id="r1", offset=size,
                       length=1)
    assert (past.code, past.field, past.data) == ("invalid_params", "params.offset",
                                                  {"size": size})
    zero = await error(client, "readMediaRange", projectId="p1", id="r1", offset=0, length=0)
    assert (zero.code, zero.field) == ("invalid_params", "params.length")
    over = await error(client, "readMediaRange", projectId="p1", id="r1", offset=0,
                       length=limit + 1)
    assert (over.code, over.field) == ("invalid_params", "params.length")
    assert over.data == {"maxRangeBytes": limit}
    negative = await error(client, "readMediaRange", projectId="p1", id="r1", offset=-1,
                           length=1)
    assert (negative.code, negative.field) == ("invalid_params", "params.offset")
    # the sidecar still serves, and the item is unchanged
    assert (await client.read_range("p1", "r1", 0, limit))[1] == data


async def test_a_reply_payload_is_signed_like_a_request_payload(client: Client) -> None:
    """The client verifies each reply's signature over its payload (the lengths and sha256
    of the frames are signed): a good range reply passed that check (one that fails it is
    dropped, and the call would time out; tests/client/test_frames.py shows the refusal)."""
    data = os.urandom(5000)
    await add(client, data, id="s1")
    _, chunk = await client.read_range("p1", "s1", 100, 200)
    assert chunk == data[100:300]


async def test_other_projects_unknown_removed_and_url_only_items(client: Client) -> None:
    data = os.urandom(2048)
    await add(client, data, id="mine", project="p1")
    for method, extra in (("getMediaSource", {}), ("readMediaRange",
                                                   {"offset": 0, "length": 1})):
        other = await error(client, method, projectId="p2", id="mine", **extra)
        assert (other.code, other.field) == ("not_found", "params.id")
        assert "mine" in other.message and "p2" in other.message
        unknown = await error(client, method, projectId="p1", id="nobody", **extra)
        assert unknown.code == "not_found"

    url = "https://v3.fal.media/files/elephant/clip.mp4"
    await client.call("addMediaItem", {"id": "u1", "projectId": "p1", "name": "gen.mp4",
                                       "type": "video", "sourceUrl": url})
    src = await source(client, "u1")
    assert (src["status"], src["bytes"], src["path"], src["sourceUrl"]) == (
        "urlOnly", "none", None, url)
    none = await error(client, "readMediaRange", projectId="p1", id="u1", offset=0, length=1)
    assert (none.code, none.data) == ("no_local_bytes", {"status": "urlOnly"})

    await client.call("removeMediaItem", {"projectId": "p1", "id": "mine"})
    gone = await error(client, "readMediaRange", projectId="p1", id="mine", offset=0,
                       length=1)
    assert gone.code == "not_found"
    assert (await error(client, "getMediaSource", projectId="p1", id="mine")).code == \
        "not_found"


# mimeType ---------------------------------------------------------------------------------
async def test_each_container_is_recorded_with_its_type_whatever_its_name(
        client: Client, sidecar: SidecarProcess, media_files: dict[str, bytes]) -> None:
    for n, kind in enumerate(KINDS):
        data = media_files[kind.name]
        inline = await add(client, data, id=f"in{n}", name="lying-name.mp4")
        assert inline["mimeType"] == kind.mime, kind.name
        imported = sidecar.data_dir.parent / f"import-{n}.mp3"  # a lying extension
        imported.write_bytes(data)
        by_path = (await client.call("addMediaItem", {
            "id": f"path{n}", "projectId": "p1", "name": "x.mp3", "type": "video",
            "sourcePath": str(imported)}))["item"]
        assert by_path["mimeType"] == kind.mime, kind.name
        assert (await source(client, f"path{n}"))["mimeType"] == kind.mime


async def test_a_contradicting_client_type_loses_a_precise_one_is_kept(
        client: Client, media_files: dict[str, bytes]) -> None:
    webm = media_files["clip.webm"]
    wrong = await add(client, webm, id="m1", mimeType="video/mp4")
    assert wrong["mimeType"] == "video/webm"
    precise = await add(client, webm + b"\0", id="m2", mimeType="audio/webm")
    assert precise["mimeType"] == "audio/webm"
    unknown = await add(client, b"FLV\x01\x05" + os.urandom(100), id="m3",
                        mimeType="video/x-flv")
    assert unknown["mimeType"] == "video/x-flv"
    nothing = await add(client, os.urandom(100), id="m4")
    assert nothing["mimeType"] == "application/octet-stream"


# unsaved items (a real ENOSPC) ------------------------------------------------------------
@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(data dir, ballast): a 4 MiB tmpfs holding the data dir, nearly filled."""
    with mounted_tmpfs(tmp_path / "mnt", "4m") as mnt:
        yield mnt / "data", mnt / "ballast"


def fill(path: Path) -> None:
    with path.open("wb") as f, contextlib.suppress(OSError):
        for _ in range(64):
            f.write(b"\0" * (64 * KIB))
            f.flush()
        while True:
            f.write(b"\0" * 4096)
            f.flush()


@pytest.mark.root
async def test_unsaved_items_play_from_memory_and_spill_and_keep_playing_when_saved(
        tmp_path: Path, full_disk: tuple[Path, Path], media_files: dict[str, bytes]) -> None:
    data_dir, ballast = full_disk
    spill = tmp_path / "spill"
    proc = spawn_sidecar(tmp_path, "--enable-test-hooks", data_dir=data_dir, env={
        "MEDIA_SIDECAR_HOLD_MEMORY_BUDGET": str(1 * MIB),
        "MEDIA_SIDECAR_SPILL_DIR": str(spill), "MEDIA_SIDECAR_AUTO_RETRY": "0"})
    try:
        c = await Client.connect(proc.connection_file, timeout=20)
        try:
            await add(c, b"fits", id="before")
            fill(ballast)
            held = os.urandom(600 * KIB)
            spilled = os.urandom(700 * KIB)  # beyond the 1 MiB memory budget: a spill file
            for item_id, data in (("held", held), ("spilled", spilled)):
                item = await add(c, data, id=item_id)
                assert item["status"] == "unsaved", item
                assert item["storageError"]["errno"] == "ENOSPC"
            typed = await add(c, media_files["clip.webm"], id="typed", name="song.mp3")
            assert (typed["status"], typed["mimeType"]) == ("unsaved", "video/webm")
            assert (await source(c, "typed"))["mimeType"] == "video/webm"

            in_memory = await source(c, "held")
            assert (in_memory["status"], in_memory["bytes"], in_memory["path"]) == (
                "unsaved", "memory", None)
            assert in_memory["size"] == len(held) and in_memory["sha256"] == sha(held)
            on_spill = await source(c, "spilled")
            assert (on_spill["status"], on_spill["bytes"]) == ("unsaved", "file")
            spill_path = Path(on_spill["path"])
            assert spill_path.is_relative_to(spill) and spill_path.read_bytes() == spilled
            assert await read_all(c, "held", len(held), 64 * KIB) == held
            assert await read_all(c, "spilled", len(spilled), 100 * KIB) == spilled

            # Space comes back; each item is saved while a player reads it.
            ballast.unlink()
            for item_id, data in (("held", held), ("spilled", spilled)):
                half = len(data) // 2
                _, first = await c.read_range("p1", item_id, 0, half)  # from the held copy
                retried = await c.call("retrySaveItem", {"projectId": "p1", "id": item_id})
                assert retried["item"]["status"] == "saved"
                rest = bytearray()  # the same player goes on reading: now from the blob
                while half + len(rest) < len(data):
                    rest += (await c.read_range("p1", item_id, half + len(rest), 64 * KIB))[1]
                assert sha(first + rest) == sha(data)
                after = await source(c, item_id)
                assert (after["status"], after["bytes"]) == ("saved", "file")
                assert Path(after["path"]).is_relative_to(data_dir)
                assert Path(after["path"]).read_bytes() == data
                assert await read_all(c, item_id, len(data), 256 * KIB) == data
            assert not spill_path.exists()  # the held copy was released once saved

            # And a save racing a player that reads in small steps: still the same bytes.
            fill(ballast)
            racing = os.urandom(900 * KIB)
            assert (await add(c, racing, id="racing"))["status"] == "unsaved"
            ballast.unlink()
            read, retried = await asyncio.gather(
                read_all(c, "racing", len(racing), 8 * KIB),
                c.call("retrySaveItem", {"projectId": "p1", "id": "racing"}))
            assert retried["item"]["status"] == "saved" and sha(read) == sha(racing)
        finally:
            await c.close()
    finally:
        proc.stop()
