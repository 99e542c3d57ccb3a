"""A folder filter never crosses projects: every filter keeps the project clause.

Folder ids are the app's, so two projects may use the same one. Listing one project's
folder, alone or combined with the other filters, pages and cursors, must show only that
project's items and count only them (counts ignore the filters but never the project).
"""

from __future__ import annotations

from typing import Any

from tests.service.caller import Caller

URL = "https://v3.fal.media/files/x.mp4"


async def _setup(caller: Caller) -> None:
    for project in ("p1", "p2"):
        for i in range(3):
            await caller.add(f"{project}-{i}".encode(), id=f"{project}-v{i}", project=project,
                             name=f"Clip {i}", folderIds=["shared", f"{project}-own"])
        await caller.call("addMediaItem", id=f"{project}-url", projectId=project,
                          name="Clip url", type="video", sourceUrl=URL, folderIds=["shared"])
    await caller.add(b"p2 image", id="p2-img", project="p2", type="image", name="Clip img",
                     folderIds=["shared"])


async def _all_ids(caller: Caller, **params: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(20):
        res = await caller.call("listMediaItems", cursor=cursor, limit=2, **params)
        ids += [it["id"] for it in res["items"]]
        assert all(it["projectId"] == params["projectId"] for it in res["items"]), res
        cursor = res["nextCursor"]
        if cursor is None:
            return ids
    raise AssertionError("pagination did not end")


async def test_folder_filter_lists_only_the_projects_items(caller: Caller) -> None:
    await _setup(caller)
    combos: list[dict[str, Any]] = [
        {}, {"type": "video"}, {"status": ["saved"]}, {"status": ["urlOnly"]},
        {"text": "clip"}, {"sort": "name", "order": "desc"},
        {"type": "video", "status": ["saved", "urlOnly"], "text": "clip"},
    ]
    for extra in combos:
        got = await _all_ids(caller, projectId="p1", folderId="shared", **extra)
        assert got, extra
        assert all(i.startswith("p1-") for i in got), (extra, got)
    got = await _all_ids(caller, projectId="p1", folderId="shared")
    assert sorted(got) == ["p1-url", "p1-v0", "p1-v1", "p1-v2"]
    res = await caller.call("listMediaItems", projectId="p1", folderId="shared")
    counts = {k: res["counts"][k] for k in ("saved", "unsaved", "urlOnly", "expired", "total")}
    assert counts == {"saved": 3, "unsaved": 0, "urlOnly": 1, "expired": 0, "total": 4}
    # a folder only the other project uses lists nothing here
    assert await _all_ids(caller, projectId="p1", folderId="p2-own") == []


async def test_folder_filter_keeps_the_project_for_records_the_database_refused(
        caller: Caller) -> None:
    await _setup(caller)
    caller.service.faults.arm("dbCommit", "EROFS", count=4)
    await caller.call("addMediaItem", id="p2-pending", projectId="p2", name="Clip pending",
                      type="video", sourceUrl=URL, folderIds=["shared"])
    got = await _all_ids(caller, projectId="p1", folderId="shared")
    assert sorted(got) == ["p1-url", "p1-v0", "p1-v1", "p1-v2"]
    theirs = await _all_ids(caller, projectId="p2", folderId="shared")
    assert "p2-pending" in theirs and all(i.startswith("p2-") for i in theirs)
