"""addMediaItem: byte sources, idempotency, conflicts, events, and bad input."""

from __future__ import annotations

from pathlib import Path

from sidecar.settings import Settings
from tests.service.caller import Caller, sha


async def test_add_inline_bytes_saves_a_durable_blob(caller: Caller) -> None:
    data = b"video bytes" * 1000
    res = await caller.add(data, name="AI: a cat", metadata={"prompt": "a cat", "model": "ltx"})
    item = res["item"]
    assert res["created"] is True and res["durable"] is True
    assert item["status"] == "saved" and item["durable"] is True
    assert item["sha256"] == sha(data) and item["size"] == len(data)
    assert Path(item["localPath"]).read_bytes() == data
    assert item["metadata"] == {"prompt": "a cat", "model": "ltx", "unsaved": False,
                                "urlOnly": False}
    assert [e.name for e in caller.events] == ["itemAdded", "itemSaved"]


async def test_add_generates_an_id_when_none_is_given(caller: Caller) -> None:
    a = await caller.add(b"a")
    b = await caller.add(b"b")
    assert a["item"]["id"] != b["item"]["id"]


async def test_repeated_add_with_same_content_is_idempotent(caller: Caller) -> None:
    first = await caller.add(b"same", id="item-1")
    again = await caller.add(b"same", id="item-1")
    assert first["created"] is True and again["created"] is False
    assert again["item"]["createdAt"] == first["item"]["createdAt"]
    assert len(caller.named("itemAdded")) == 1


async def test_repeated_add_with_other_content_is_a_conflict(caller: Caller) -> None:
    await caller.add(b"one", id="item-1")
    err = await caller.error("addMediaItem", [b"two"], id="item-1", projectId="p1", name="x",
                             type="video")
    assert err.code == "conflict"


async def test_reusing_an_id_from_another_project_is_a_conflict(caller: Caller) -> None:
    await caller.add(b"one", id="item-1", project="p1")
    err = await caller.error("addMediaItem", [b"one"], id="item-1", projectId="p2", name="x",
                             type="video")
    assert err.code == "conflict"


async def test_url_only_registration_is_listed_but_not_durable(caller: Caller) -> None:
    res = await caller.call("addMediaItem", projectId="p1", name="remote", type="video",
                            sourceUrl="https://v3.fal.media/files/a.mp4")
    item = res["item"]
    assert res["durable"] is False and item["status"] == "urlOnly"
    assert item["storageError"] is None and item["metadata"]["urlOnly"] is True
    again = await caller.call("addMediaItem", id=item["id"], projectId="p1", name="remote",
                              type="video", sourceUrl="https://v3.fal.media/files/a.mp4")
    assert again["created"] is False


async def test_bytes_for_a_url_only_item_save_it(caller: Caller) -> None:
    url = "https://v3.fal.media/files/b.mp4"
    await caller.call("addMediaItem", id="u1", projectId="p1", name="remote", type="video",
                      sourceUrl=url)
    res = await caller.add(b"the video", id="u1", sourceUrl=url)
    assert res["created"] is False and res["item"]["status"] == "saved"
    assert res["item"]["sourceUrl"] == url


async def test_expected_sha256_mismatch_is_invalid_params(caller: Caller) -> None:
    err = await caller.error("addMediaItem", [b"data"], projectId="p1", name="x", type="video",
                             expectedSha256="0" * 64)
    assert err.code == "invalid_params" and err.field == "params.expectedSha256"


async def test_add_without_any_source_names_the_missing_field(caller: Caller) -> None:
    err = await caller.error("addMediaItem", projectId="p1", name="x", type="video")
    assert err.code == "invalid_params" and err.field == "params.sourceUrl"


async def test_payload_and_source_path_together_are_refused(caller: Caller, tmp_path: Path
                                                            ) -> None:
    f = tmp_path / "imports" / "a.mp4"
    f.write_bytes(b"x")
    err = await caller.error("addMediaItem", [b"data"], projectId="p1", name="x", type="video",
                             sourcePath=str(f))
    assert err.code == "invalid_params" and err.field == "params.sourcePath"


async def test_download_without_url_is_refused(caller: Caller) -> None:
    err = await caller.error("addMediaItem", projectId="p1", name="x", type="video",
                             download=True)
    assert err.code == "invalid_params" and err.field == "params.download"


async def test_huge_metadata_is_payload_too_large(caller: Caller, settings: Settings) -> None:
    big = "x" * (settings.store.max_metadata_bytes + 1)
    err = await caller.error("addMediaItem", [b"d"], projectId="p1", name="x", type="video",
                             metadata={"prompt": big})
    assert err.code == "payload_too_large" and err.field == "params.metadata"
    listed = await caller.call("listMediaItems", projectId="p1")
    assert listed["items"] == []


async def test_binary_metadata_values_are_invalid_params(caller: Caller) -> None:
    err = await caller.error("addMediaItem", [b"d"], projectId="p1", name="x", type="video",
                             metadata={"thumb": b"\x00\x01"})
    assert err.code == "invalid_params" and err.field == "params.metadata"


async def test_nul_in_name_is_invalid_params(caller: Caller) -> None:
    err = await caller.error("addMediaItem", [b"d"], projectId="p1", name="a\0b", type="video")
    assert err.code == "invalid_params" and err.field == "params.name"


async def test_wrong_types_are_invalid_params(caller: Caller) -> None:
    err = await caller.error("addMediaItem", [b"d"], projectId="p1", name=5, type="video")
    assert err.code == "invalid_params" and err.field == "params.name"
    err = await caller.error("addMediaItem", [b"d"], projectId="../p", name="x", type="video")
    assert err.code == "invalid_params" and err.field == "params.projectId"


async def test_a_name_is_a_display_name_never_a_file_name(caller: Caller, tmp_path: Path
                                                          ) -> None:
    before = sorted(p for p in tmp_path.rglob("*") if "data" not in p.parts)
    res = await caller.add(b"bytes", name="../../../../etc/evil.mp4")
    assert res["item"]["name"] == "../../../../etc/evil.mp4"
    assert Path(res["item"]["localPath"]).is_relative_to(tmp_path / "data" / "blobs")
    after = sorted(p for p in tmp_path.rglob("*") if "data" not in p.parts)
    assert after == before


async def test_seed_flags_sent_by_the_client_are_not_stored(caller: Caller) -> None:
    res = await caller.add(b"d", metadata={"unsaved": True, "urlOnly": True, "keep": 1})
    assert res["item"]["metadata"] == {"keep": 1, "unsaved": False, "urlOnly": False}


async def test_host_outside_the_allowlist_is_refused_by_scheme(caller: Caller) -> None:
    err = await caller.error("addMediaItem", projectId="p1", name="x", type="video",
                             sourceUrl="file:///etc/passwd")
    assert err.code == "host_not_allowed"


async def test_concurrent_adds_of_one_id_create_it_once(caller: Caller) -> None:
    import asyncio

    results = await asyncio.gather(*(caller.add(b"same bytes", id="race") for _ in range(8)))
    assert sorted(r["created"] for r in results) == [False] * 7 + [True]
    assert len(caller.named("itemAdded")) == 1
    listed = await caller.call("listMediaItems", projectId="p1")
    assert listed["counts"]["total"] == 1
