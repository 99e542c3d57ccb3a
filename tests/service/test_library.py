"""get / remove / list: project isolation, dedup, filters, sorting, counts and cursors."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.service.caller import Caller


async def test_items_with_the_same_bytes_share_one_blob(caller: Caller) -> None:
    a = await caller.add(b"same bytes", id="a")
    b = await caller.add(b"same bytes", id="b", project="p2")
    assert a["item"]["localPath"] == b["item"]["localPath"]
    blobs = [p for p in (caller.service.store.data_dir / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1


async def test_removing_one_item_keeps_the_shared_blob(caller: Caller) -> None:
    a = await caller.add(b"same bytes", id="a")
    await caller.add(b"same bytes", id="b")
    res = await caller.call("removeMediaItem", id="a", projectId="p1")
    assert res == {"id": "a", "removed": True, "blobDeleted": False}
    assert Path(a["item"]["localPath"]).read_bytes() == b"same bytes"
    res = await caller.call("removeMediaItem", id="b")
    assert res["blobDeleted"] is True
    assert not Path(a["item"]["localPath"]).exists()
    assert [e.name for e in caller.events].count("itemRemoved") == 2


async def test_an_item_of_another_project_is_not_found(caller: Caller) -> None:
    await caller.add(b"secret", id="a", project="p1")
    for method in ("getMediaItem", "removeMediaItem", "retrySaveItem", "cancelDownload"):
        err = await caller.error(method, id="a", projectId="p2")
        assert err.code == "not_found", method
        assert "p1" not in err.message
    assert (await caller.call("getMediaItem", id="a", projectId="p1"))["item"]["id"] == "a"
    listed = await caller.call("listMediaItems", projectId="p2")
    assert listed["items"] == [] and listed["counts"]["total"] == 0


async def test_unknown_ids_are_not_found(caller: Caller) -> None:
    for method in ("getMediaItem", "removeMediaItem", "retrySaveItem",
                   "downloadUrlOnlyItem"):
        err = await caller.error(method, id="nope")
        assert err.code in ("not_found", "download_failed"), method


async def test_list_filters_by_type_status_folder_and_text(caller: Caller) -> None:
    await caller.add(b"1", id="v1", name="Sunset clip", metadata={"prompt": "Golden HOUR"},
                     folderIds=["f1"])
    await caller.add(b"2", id="i1", type="image", name="Poster", folderIds=["f1", "f2"])
    await caller.add(b"3", id="a1", type="audio", name="Theme", metadata={"prompt": "sunset"})
    caller.service.faults.arm("blobWrite", "EAGAIN")
    await caller.add(b"4", id="v2", name="Second video")

    async def ids(**filters: object) -> set[str]:
        res = await caller.call("listMediaItems", projectId="p1", **filters)
        assert res["counts"]["total"] == 4  # counts ignore filters
        return {i["id"] for i in res["items"]}

    assert await ids(type="video") == {"v1", "v2"}
    assert await ids(status=["unsaved"]) == {"v2"}
    assert await ids(status=["saved", "unsaved"]) == {"v1", "v2", "i1", "a1"}
    assert await ids(status=[]) == set()
    assert await ids(folderId="f1") == {"v1", "i1"}
    assert await ids(folderId="f2") == {"i1"}
    assert await ids(text="SUNSET") == {"v1", "a1"}
    assert await ids(text="golden hour") == {"v1"}
    assert await ids(text="%") == set()
    assert await ids(type="video", text="second") == {"v2"}


@pytest.mark.parametrize("sort", ["createdAt", "updatedAt", "name", "size"])
@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_pages_cover_every_item_once_in_order(caller: Caller, sort: str, order: str
                                                    ) -> None:
    names = ["b", "A", "c", "a", "B", "d", "C"]
    for i, name in enumerate(names):
        await caller.add(os.urandom(10 + (i * 7) % 5), id=f"i{i}", name=name)
    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        params: dict[str, object] = {"projectId": "p1", "sort": sort, "order": order,
                                     "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await caller.call("listMediaItems", **params)
        seen.extend(page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert sorted(str(i["id"]) for i in seen) == sorted(f"i{i}" for i in range(len(names)))
    field = {"createdAt": "createdAt", "updatedAt": "updatedAt", "name": "name",
             "size": "size"}[sort]

    def key(i: dict[str, object]) -> tuple[object, str]:
        v = i[field]
        return (v.casefold() if isinstance(v, str) else v, str(i["id"]))

    keys = [key(i) for i in seen]
    assert keys == sorted(keys, reverse=order == "desc")


async def test_paging_is_stable_under_concurrent_inserts(caller: Caller) -> None:
    for i in range(40):
        await caller.add(f"old {i}".encode(), id=f"old{i:02d}")
    original = {f"old{i:02d}" for i in range(40)}

    async def writer(tag: str) -> None:
        for i in range(40):
            await caller.add(f"new {tag} {i}".encode(), id=f"new-{tag}-{i:02d}")
            await asyncio.sleep(0)

    for order in ("desc", "asc"):
        seen: list[str] = []
        task = asyncio.create_task(writer(order))
        cursor = None
        while True:
            params: dict[str, object] = {"projectId": "p1", "order": order, "limit": 7}
            if cursor:
                params["cursor"] = cursor
            page = await caller.call("listMediaItems", **params)
            seen.extend(str(i["id"]) for i in page["items"])
            cursor = page["nextCursor"]
            await asyncio.sleep(0)
            if cursor is None:
                break
        await task
        old_seen = [i for i in seen if i.startswith("old")]
        assert sorted(old_seen) == sorted(original), order
        assert len(seen) == len(set(seen)), order


async def test_a_cursor_from_other_filters_is_invalid_params(caller: Caller) -> None:
    for i in range(3):
        await caller.add(f"{i}".encode(), id=f"i{i}")
    page = await caller.call("listMediaItems", projectId="p1", limit=1)
    err = await caller.error("listMediaItems", projectId="p1", limit=1, sort="name",
                             cursor=page["nextCursor"])
    assert err.code == "invalid_params" and err.field == "params.cursor"
    err = await caller.error("listMediaItems", projectId="p2", cursor=page["nextCursor"])
    assert err.code == "invalid_params"
    err = await caller.error("listMediaItems", projectId="p1", cursor="garbage!!")
    assert err.code == "invalid_params" and err.field == "params.cursor"


async def test_list_requires_a_project(caller: Caller) -> None:
    err = await caller.error("listMediaItems")
    assert err.code == "invalid_params" and err.field == "params.projectId"
