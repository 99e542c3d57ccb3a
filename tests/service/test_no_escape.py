"""Whatever fails at the OS seam, every method answers with a typed error or a truthful
result: no OSError or sqlite3 error ever escapes to dispatch, and the store stays usable."""

from __future__ import annotations

import pytest

from sidecar.errors import SidecarError
from sidecar.store.osio import FAULT_OPS
from tests.service.caller import Caller

URL = "https://v3.fal.media/files/x.mp4"


@pytest.mark.parametrize("op", FAULT_OPS)
@pytest.mark.parametrize("errno_name", ["ENOSPC", "EIO", "EAGAIN", "EROFS"])
async def test_faults_anywhere_only_ever_give_typed_answers(caller: Caller, op: str,
                                                            errno_name: str) -> None:
    await caller.add(b"saved first", id="s0")
    caller.service.faults.arm(op, errno_name, count=3)
    calls: list[tuple[str, list[bytes], dict[str, object]]] = [
        ("addMediaItem", [b"one"], {"id": "a1", "projectId": "p1", "name": "a",
                                    "type": "video"}),
        ("addMediaItem", [b"two"], {"id": "a2", "projectId": "p1", "name": "b",
                                    "type": "video", "sourceUrl": URL}),
        ("addMediaItem", [], {"id": "a3", "projectId": "p1", "name": "c", "type": "video",
                              "sourceUrl": URL}),
        ("retrySaveItem", [], {"id": "a1"}),
        ("retryAllUnsaved", [], {"projectId": "p1"}),
        ("listMediaItems", [], {"projectId": "p1", "text": "a"}),
        ("getMediaItem", [], {"id": "a2"}),
        ("storageStatus", [], {}),
        ("removeMediaItem", [], {"id": "s0"}),
        ("removeMediaItem", [], {"id": "a3"}),
    ]
    for method, payloads, params in calls:
        try:
            res = await caller.call(method, payloads, **params)
        except SidecarError:
            continue
        if method == "addMediaItem":
            item = res["item"]
            assert res["durable"] is (item["status"] == "saved")
            if item["status"] == "saved":
                assert item["storageError"] is None
            if item["status"] == "unsaved":
                assert item["storageError"] is not None
    caller.service.faults.clear()
    await caller.call("retryAllUnsaved", projectId="p1")
    listed = await caller.call("listMediaItems", projectId="p1")
    for item in listed["items"]:
        assert item["status"] in ("saved", "urlOnly"), item
