"""list: the table with badges, counts and banner; filters; paging; projects apart; --json."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.vocabulary import FaultErrno, FaultOp, MediaType
from sidecar.client import SyncClient
from tests.cli.conftest import CliFn, add_bytes


@pytest.fixture
def library(client: SyncClient) -> dict[str, dict[str, Any]]:
    """p1: two saved videos (one in folder f1), an image, one unsaved, one urlOnly;
    p2: one video."""
    items = {
        "fox": add_bytes(client, "p1", "fox.mp4", b"fox", id="fox", folderIds=["f1"]),
        "owl": add_bytes(client, "p1", "owl.mp4", b"owl", id="owl"),
        "poster": add_bytes(client, "p1", "poster.png", b"png", id="poster", type=MediaType.IMAGE),
    }
    client.call("testFault", {"op": FaultOp.BLOB_WRITE, "errno": FaultErrno.ENOSPC})
    items["edit"] = add_bytes(client, "p1", "fox-edit.mp4", b"edit", id="edit")
    items["link"] = client.call("addMediaItem", {
        "id": "link", "projectId": "p1", "name": "link.mp4", "type": MediaType.VIDEO,
        "sourceUrl": "https://v3.fal.media/files/x/link.mp4"})["item"]
    items["other"] = add_bytes(client, "p2", "trailer.mp4", b"trailer", id="other")
    return items


def test_list_shows_a_table_with_badges_counts_and_the_unsaved_banner(
        cli: CliFn, at: list[str], library: dict[str, Any]) -> None:
    r = cli("list", "-p", "p1", *at)
    assert r.code == 0, r.err
    for name in ("fox.mp4", "owl.mp4", "poster.png", "fox-edit.mp4", "link.mp4"):
        assert name in r.out
    assert "trailer.mp4" not in r.out
    for badge in ("✓ saved", "! unsaved", "☁ urlOnly"):
        assert badge in r.out
    assert "ENOSPC" in r.out  # the unsaved item's problem is shown
    assert "✓ saved 3" in r.out and "! unsaved 1" in r.out and "☁ urlOnly 1" in r.out
    assert "total 5" in r.out
    assert "You have 1 unsaved item" in r.out
    assert "retry-all -p p1" in r.out


def test_list_json_is_the_raw_result(cli: CliFn, at: list[str],
                                     library: dict[str, Any]) -> None:
    raw = cli("list", "-p", "p1", *at, "--json").json()
    assert raw["projectId"] == "p1"
    assert {i["id"] for i in raw["items"]} == {"fox", "owl", "poster", "edit", "link"}
    assert raw["counts"] == {"saved": 3, "unsaved": 1, "urlOnly": 1, "expired": 0, "lost": 0,
                             "total": 5}
    assert raw["nextCursor"] is None


def test_another_projects_items_are_never_listed(cli: CliFn, at: list[str],
                                                 library: dict[str, Any]) -> None:
    raw = cli("list", "-p", "p2", *at, "--json").json()
    assert [i["id"] for i in raw["items"]] == ["other"]
    assert raw["counts"]["total"] == 1
    r = cli("list", "-p", "p2", *at)
    assert "You have" not in r.out and "fox.mp4" not in r.out


def test_several_projects_give_one_table_each(cli: CliFn, at: list[str],
                                              library: dict[str, Any]) -> None:
    r = cli("list", "-p", "p1", "-p", "p2", *at)
    assert r.code == 0, r.err
    assert "project p1" in r.out and "project p2" in r.out
    pages = cli("list", "-p", "p1", "-p", "p2", *at, "--json").json()
    assert [p["projectId"] for p in pages] == ["p1", "p2"]


@pytest.mark.parametrize(("args", "expected"), [
    (["--type", "image"], {"poster"}),
    (["--status", "unsaved"], {"edit"}),
    (["--status", "unsaved,urlOnly"], {"edit", "link"}),
    (["--status", "saved", "--status", "urlOnly"], {"fox", "owl", "poster", "link"}),
    (["--text", "fox"], {"fox", "edit"}),
    (["--folder", "f1"], {"fox"}),
])
def test_filters(cli: CliFn, at: list[str], library: dict[str, Any], args: list[str],
                 expected: set[str]) -> None:
    raw = cli("list", "-p", "p1", *args, *at, "--json").json()
    assert {i["id"] for i in raw["items"]} == expected
    assert raw["counts"]["total"] == 5  # counts ignore filters (the banner's numbers)


def test_an_unknown_status_is_refused_before_sending(cli: CliFn, at: list[str]) -> None:
    r = cli("list", "-p", "p1", "--status", "vanished", *at)
    assert r.code == 2
    assert "unknown status vanished" in r.err


def test_paging_by_cursor_and_all(cli: CliFn, at: list[str], library: dict[str, Any]) -> None:
    first = cli("list", "-p", "p1", "--limit", "2", "--sort", "name", "--order", "asc", *at,
                "--json").json()
    assert [i["name"] for i in first["items"]] == ["fox-edit.mp4", "fox.mp4"]
    assert first["nextCursor"]
    r = cli("list", "-p", "p1", "--limit", "2", "--sort", "name", "--order", "asc", *at)
    assert "--cursor" in r.out
    seen = [i["name"] for i in first["items"]]
    cursor = first["nextCursor"]
    while cursor:
        page = cli("list", "-p", "p1", "--limit", "2", "--sort", "name", "--order", "asc",
                   "--cursor", cursor, *at, "--json").json()
        seen += [i["name"] for i in page["items"]]
        cursor = page["nextCursor"]
    assert seen == ["fox-edit.mp4", "fox.mp4", "link.mp4", "owl.mp4", "poster.png"]
    everything = cli("list", "-p", "p1", "--limit", "2", "--sort", "name", "--order", "asc",
                     "--all", *at, "--json").json()
    assert [i["name"] for i in everything["items"]] == seen
    assert everything["nextCursor"] is None


def test_a_bad_cursor_is_the_sidecars_error(cli: CliFn, at: list[str]) -> None:
    r = cli("list", "-p", "p1", "--cursor", "garbage", *at)
    assert r.code == 1
    assert "error: invalid_params" in r.err and "cursor" in r.err
