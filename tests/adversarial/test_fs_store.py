"""The store against forged input: list cursors, cross-project ids, SQL-ish filters, path
traversal in names and ids. A real sidecar; every reply is a typed error or an honest result,
never ``internal``, and nothing of another project is touched."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Any

from protocol.vocabulary import ItemStatus, MediaType
from tests.adversarial.conftest import Figures
from tests.adversarial.fs_support import (
    MiB,
    code_of,
    dealer,
    fetch_env,
    https_hosts,
    no_traceback,
    peak_rss,
    running,
)
from tests.fetch.server import Handler

BODY = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode("utf-8", "surrogatepass")).decode().rstrip("=")


def forged(real: str) -> dict[str, str]:
    """Cursors an attacker makes from a real one (same fingerprint) and from nothing."""
    pad = real + "=" * (-len(real) % 4)
    version, fp, value, item_id = json.loads(base64.urlsafe_b64decode(pad))
    assert isinstance(value, int)

    def cur(v: str, i: str = json.dumps(item_id)) -> str:
        return b64(f"[{version},{json.dumps(fp)},{v},{i}]")

    return {
        "huge int": cur(str(10**30)), "minus huge int": cur(str(-(10**30))),
        "2**63": cur(str(2**63)), "5000 digits": cur("1" + "0" * 5000)[:1024],
        "700 digits": cur("9" * 700), "1e308": cur("1e308"), "Infinity": cur("Infinity"),
        "NaN": cur("NaN"), "true": cur("true"), "null": cur("null"), "string": cur('"x"'),
        "lone surrogate id": cur(str(value), '"\\ud800"'), "nested": b64("[" * 700),
        "object": b64('{"a":1}'), "5 elements": b64(f"[1,{json.dumps(fp)},1,\"a\",2]"),
        "version 2": b64(f"[2,{json.dumps(fp)},{value},\"a\"]"),
        "other filters": b64(f"[1,\"0000000000000000\",{value},\"a\"]"),
        "not base64": "!!!***", "not ascii": "curs\u00e9or",
        "binary": base64.urlsafe_b64encode(os.urandom(64)).decode(),
        "too long": "A" * 5000,
    }


async def test_forged_list_cursors_are_invalid_params(tmp_path: Path,
                                                      figures: Figures) -> None:
    with running(tmp_path) as sc:
        async with dealer(sc) as d:
            for i in range(3):
                await d.call("addMediaItem", {"id": f"i{i}", "projectId": "p", "name": "n",
                                              "type": MediaType.VIDEO, "sourceUrl": "https://fal.media/x"})
            page = await d.call("listMediaItems", {"projectId": "p", "limit": 1})
            real = page["result"]["nextCursor"]
            results: dict[str, tuple[str, Any]] = {}
            for name, cursor in forged(real).items():
                msg = await d.call("listMediaItems", {"projectId": "p", "limit": 1,
                                                      "cursor": cursor}, timeout=5)
                results[name] = (code_of(msg), msg.get("error", {}).get("field"))
            after = await d.call("listMediaItems", {"projectId": "p", "limit": 1,
                                                    "cursor": real})
        assert no_traceback(sc)
    bad = {k: v for k, v in results.items() if v != ("invalid_params", "params.cursor")}
    figures["forged cursors"] = len(results)
    figures["answered invalid_params (params.cursor)"] = len(results) - len(bad)
    assert bad == {}
    assert code_of(after) == "ok" and len(after["result"]["items"]) == 1


def stalled(release: threading.Event) -> object:
    def respond(h: Handler) -> None:
        h.send(200, {"Content-Type": "video/mp4", "Content-Length": str(len(BODY))},
               BODY[:100])
        h.wfile.flush()
        release.wait(30)
        h.wfile.write(BODY[100:])
        h.wfile.flush()

    return respond


async def test_another_projects_id_is_not_found_and_nothing_of_it_changes(
        tmp_path: Path, figures: Figures) -> None:
    release = threading.Event()
    with https_hosts(tmp_path) as (server, ca):
        server.route("/a.mp4", stalled(release))
        with running(tmp_path, env=fetch_env(server, ca)) as sc:
            async with dealer(sc) as owner, dealer(sc) as other:
                from tests.reliability.helpers import request, signed

                rid, env = request("addMediaItem", {
                    "id": "a1", "projectId": "A", "name": "a", "type": MediaType.VIDEO,
                    "sourceUrl": "https://fal.media/a.mp4", "download": True})
                await owner.send(signed(owner.secret, env))
                for _ in range(100):  # registered urlOnly, download stalled
                    got = await other.call("getMediaItem", {"id": "a1"})
                    if got["type"] == "reply":
                        break
                codes = {}
                for method, params in [
                    ("removeMediaItem", {"id": "a1", "projectId": "B"}),
                    ("cancelDownload", {"id": "a1", "projectId": "B"}),
                    ("getMediaItem", {"id": "a1", "projectId": "B"}),
                    ("downloadUrlOnlyItem", {"id": "a1", "projectId": "B"}),
                    ("retrySaveItem", {"id": "a1", "projectId": "B"}),
                ]:
                    codes[method] = code_of(await other.call(method, params))
                clash = await other.call("addMediaItem", {
                    "id": "a1", "projectId": "B", "name": "b", "type": MediaType.VIDEO,
                    "sourceUrl": "https://fal.media/b.mp4"})
                release.set()
                done = await owner.recv(timeout=20)
                while done.get("id") != rid:
                    done = await owner.recv(timeout=20)
                b_list = await other.call("listMediaItems", {"projectId": "B"})
            assert no_traceback(sc)
    figures["cross-project calls answered not_found"] = (
        f"{sum(c == 'not_found' for c in codes.values())}/{len(codes)}")
    assert codes == {m: "not_found" for m in codes}
    assert code_of(clash) == "conflict"
    # the owner's download was never cancelled: it finished and saved
    assert code_of(done) == "ok" and done["result"]["item"]["status"] == ItemStatus.SAVED
    assert b_list["result"]["items"] == []


SQLISH = ["' OR 1=1 --", "%", "_", "\\", '" OR ""="', "'; DROP TABLE items; --", "*",
          "a' UNION SELECT * FROM items --", "%' --", "'||(SELECT 1)||'", "NAME",
          "\u0000", "x" * 4000]


async def test_sql_ish_filters_and_traversal_names_are_data(tmp_path: Path,
                                                            figures: Figures) -> None:
    names = ["plain clip", "100% done", "under_score", "quote's", "name"]
    with running(tmp_path) as sc:
        async with dealer(sc) as d:
            for i, n in enumerate(names):
                await d.call("addMediaItem", {"id": f"n{i}", "projectId": "p", "name": n,
                                              "type": MediaType.VIDEO}, payloads=[os.urandom(100)])
            await d.call("addMediaItem", {"id": "other", "projectId": "q", "name": "%",
                                          "type": MediaType.VIDEO}, payloads=[b"q"])
            found: dict[str, Any] = {}
            for text in SQLISH:
                msg = await d.call("listMediaItems", {"projectId": "p", "text": text})
                found[text] = (code_of(msg) if msg["type"] == "error"
                                    else sorted(i["name"] for i in msg["result"]["items"]))
            for field in ("folderId",):
                msg = await d.call("listMediaItems", {"projectId": "p",
                                                      field: "' OR 1=1 --"})
                found[field] = sorted(i["name"] for i in msg["result"].get("items", []))
            traversal = []
            for i, evil in enumerate(["../../../../tmp/pwned", "/etc/passwd", "..",
                                      "a/../../b", "C:\\x", "~/.ssh/id"]):
                msg = await d.call("addMediaItem", {"id": evil, "projectId": evil,
                                                    "name": evil, "type": MediaType.VIDEO},
                                   payloads=[f"t{i}".encode()])
                if msg["type"] == "reply":
                    lp = Path(msg["result"]["item"]["localPath"]).resolve()
                    traversal.append(lp.is_relative_to(sc.data_dir.resolve()))
                else:
                    traversal.append(code_of(msg) == "invalid_params")
            whole = await d.call("listMediaItems", {"projectId": "p"})
            rss = peak_rss(sc.pid)
        assert no_traceback(sc)
    figures["SQL-ish filters"] = len(SQLISH) + 1
    figures["traversal ids/names kept inside the data dir or refused"] = (
        f"{sum(traversal)}/{len(traversal)}")
    figures["peak RSS (MiB)"] = rss // MiB
    assert found["' OR 1=1 --"] == [] and found["'; DROP TABLE items; --"] == []
    assert found["%"] == ["100% done"] and found["_"] == ["under_score"]
    assert found["NAME"] == ["name"]  # case-insensitive, a literal match only
    assert found["\u0000"] in ([], "invalid_params")  # no name holds a NUL
    assert found["folderId"] == []
    assert all(traversal)
    assert len(whole["result"]["items"]) == len(names)  # the table survived every filter
