"""addMediaItem.sourcePath: only regular files under the import roots; nothing is written
outside the data dir, whatever the path says."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.service.caller import Caller, sha


def snapshot(root: Path, data_dir: Path) -> list[tuple[str, int]]:
    return sorted((str(p), p.stat().st_size if p.is_file() else -1) for p in root.rglob("*")
                  if not p.is_relative_to(data_dir))


async def test_a_file_under_an_import_root_is_copied_streaming(caller: Caller, tmp_path: Path
                                                               ) -> None:
    src = tmp_path / "imports" / "render.mp4"
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk
    src.write_bytes(data)
    res = await caller.call("addMediaItem", projectId="p1", name="render", type="video",
                            sourcePath=str(src), expectedSha256=sha(data))
    item = res["item"]
    assert item["status"] == "saved" and item["sha256"] == sha(data)
    assert item["size"] == len(data)
    assert Path(item["localPath"]).read_bytes() == data
    assert src.read_bytes() == data  # the source is left alone
    again = await caller.call("addMediaItem", id=item["id"], projectId="p1", name="render",
                              type="video", sourcePath=str(src))
    assert again["created"] is False


async def test_no_symlink_below_the_root_is_followed_even_one_pointing_inside(
        caller: Caller, tmp_path: Path) -> None:
    real = tmp_path / "imports" / "real.mp4"
    real.write_bytes(b"real")
    link = tmp_path / "imports" / "link.mp4"
    link.symlink_to(real)
    (tmp_path / "imports" / "dirlink").symlink_to(tmp_path / "imports")
    for path in (link, tmp_path / "imports" / "dirlink" / "real.mp4"):
        err = await caller.error("addMediaItem", projectId="p1", name="x", type="video",
                                 sourcePath=str(path))
        assert err.code == "path_not_allowed" and "symlink" in err.message
    res = await caller.call("addMediaItem", projectId="p1", name="x", type="video",
                            sourcePath=str(real))
    assert res["item"]["sha256"] == sha(b"real")


@pytest.mark.parametrize("make_path", [
    pytest.param(lambda t: "relative/file.mp4", id="relative"),
    pytest.param(lambda t: str(t / "imports" / ".." / "imports" / "ok.mp4"), id="dotdot"),
    pytest.param(lambda t: str(t / "imports" / "ok.mp4") + "\0.png", id="nul"),
    pytest.param(lambda t: "/etc/passwd", id="outside-root"),
    pytest.param(lambda t: str(t / "outside.mp4"), id="sibling-of-root"),
    pytest.param(lambda t: str(t / "imports" / "escape.mp4"), id="symlink-escaping-root"),
    pytest.param(lambda t: str(t / "imports"), id="directory"),
    pytest.param(lambda t: str(t / "imports" / "fifo"), id="fifo"),
    pytest.param(lambda t: str(t / "imports" / "missing.mp4"), id="missing"),
    pytest.param(lambda t: str(t / "imports-evil" / "x.mp4"), id="prefix-lookalike-root"),
])
async def test_bad_source_paths_are_refused_and_nothing_is_written(
        caller: Caller, tmp_path: Path, make_path: object) -> None:
    imports = tmp_path / "imports"
    (imports / "ok.mp4").write_bytes(b"ok")
    (tmp_path / "outside.mp4").write_bytes(b"secret")
    (imports / "escape.mp4").symlink_to(tmp_path / "outside.mp4")
    os.mkfifo(imports / "fifo")
    (tmp_path / "imports-evil").mkdir()
    (tmp_path / "imports-evil" / "x.mp4").write_bytes(b"evil")
    data_dir = caller.service.store.data_dir
    before = snapshot(tmp_path, data_dir)
    raw = make_path(tmp_path)  # type: ignore[operator]
    err = await caller.error("addMediaItem", projectId="p1", name="x", type="video",
                             sourcePath=raw)
    assert err.code == "path_not_allowed" and err.field == "params.sourcePath"
    assert snapshot(tmp_path, data_dir) == before
    listed = await caller.call("listMediaItems", projectId="p1")
    assert listed["items"] == []
    assert [p for p in (data_dir / "blobs").rglob("*") if p.is_file()] == []


async def test_an_import_that_cannot_be_stored_is_held_from_the_file(caller: Caller,
                                                                     tmp_path: Path) -> None:
    src = tmp_path / "imports" / "big.mp4"
    data = os.urandom(2 * 1024 * 1024 + 5)
    src.write_bytes(data)
    caller.service.faults.arm("blobWrite", "ENOSPC")
    res = await caller.call("addMediaItem", id="f1", projectId="p1", name="x", type="video",
                            sourcePath=str(src))
    assert res["item"]["status"] == "unsaved" and res["item"]["sha256"] == sha(data)
    src.unlink()  # a retry needs nothing from the client
    retried = await caller.call("retrySaveItem", id="f1")
    assert sha(Path(retried["item"]["localPath"]).read_bytes()) == sha(data)
