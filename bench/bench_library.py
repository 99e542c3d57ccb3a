"""Library rows over one 100k-item project: a list page, text search, counts — each over
the wire against its raw floor (the raw SQLite query on its own connection plus one raw
sync echo round trip of the reply's frame sizes), interleaved in the same run.

* list: the first page (100 items), sorted by creation time.
* text search, rare term: ``text`` matching 11 items; the raw floor is the FTS5 query of the
  same page. The note gives the substring scan that ``text`` used before the index.
* text search, common term: ``text`` matching about 1% of the library (the scan in sort
  order is what the sidecar uses for such terms; the floor is still the raw FTS5 page).
* counts: ``listMediaItems`` with ``limit: 1``, whose ``counts`` are the "N unsaved" banner;
  the raw floor counts the project's rows by status (``SELECT status, count(*)``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from bench.procs import Child, start_echo, start_sidecar
from bench.stats import interleave, median, paired_ratio, percentile
from bench.table import Row
from bench.wire_client import WireClient, round_trips

BLOCK = 50
RARE, COMMON = "number 4242", "clip 42"


def _fill(work: Path, items: int) -> tuple[Path, float]:
    from bench.bench_store import fill
    from sidecar.events import EventBus
    from sidecar.service.media import MediaService
    from sidecar.settings import Settings
    from sidecar.store.config import StoreConfig

    data = work / "lib-data"
    settings = Settings(data_dir=data, secret=b"b" * 32, runtime_dir=work / "lib-run",
                        store=StoreConfig(spill_dir=work / "lib-spill", auto_retry=False))
    loop = asyncio.new_event_loop()
    bus = EventBus()
    bus.bind(loop)
    service = loop.run_until_complete(MediaService.open(settings, bus, None))
    t0 = time.perf_counter()
    fill(service, items)
    seconds = time.perf_counter() - t0
    loop.run_until_complete(service.close())
    loop.close()
    return data, seconds


class _Case:
    """One request against the sidecar and its raw floor (SQL + echo of the same sizes)."""

    def __init__(self, work: Path, name: str, client: WireClient, params: dict[str, Any],
                 raw_sql: str, raw_args: tuple[Any, ...], raw: sqlite3.Connection) -> None:
        self.client, self.params, self.raw = client, params, raw
        self.raw_sql, self.raw_args = raw_sql, raw_args
        _, frames = client.frames("listMediaItems", params)
        client.sock.send_multipart(frames)
        self.sizes = [len(f) for f in client.sock.recv_multipart()]
        self.frames = frames
        self.echo: Child = start_echo("sync", f"ipc://{work}/{name}-echo.sock", self.sizes)
        self.esock = zmq.Context.instance().socket(zmq.DEALER)
        self.esock.setsockopt(zmq.LINGER, 0)
        self.esock.connect(self.echo.endpoint)

    def side(self) -> float:
        batch = [self.client.frames("listMediaItems", self.params)[1] for _ in range(BLOCK)]
        return percentile(round_trips(self.client.sock, batch), 50)

    def sql(self) -> float:
        return _sql_block(self.raw, self.raw_sql, self.raw_args)

    def echo_rt(self) -> float:
        return percentile(round_trips(self.esock, [self.frames] * BLOCK), 50)

    def close(self) -> None:
        self.esock.close(0)
        self.echo.stop()


def _sql_block(raw: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> float:
    out = []
    for _ in range(BLOCK):
        t = time.perf_counter()
        raw.execute(sql, args).fetchall()
        out.append(time.perf_counter() - t)
    return percentile(out, 50)


def _measure(reps: int, case: _Case, extra: dict[str, Callable[[], float]] | None = None
             ) -> dict[str, list[float]]:
    variants = {"sidecar": case.side, "raw": case.sql, "echo": case.echo_rt, **(extra or {})}
    for f in variants.values():
        f()
    return interleave(reps, variants)


def _row(name: str, res: dict[str, list[float]], case: _Case, base_name: str, note: str
         ) -> Row:
    s, r, e = (median(res[k]) * 1e3 for k in ("sidecar", "raw", "echo"))
    return Row(name, s, "ms", base_name, r + e, target=1.5,
               paired=paired_ratio(res["sidecar"], [a + b for a, b in zip(
                   res["raw"], res["echo"], strict=True)]),
               note=f"raw {r:.2f} ms + echo of {sum(case.sizes) // 1024} KiB {e:.2f} ms"
                    + (f"; {note}" if note else ""))


def run(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    import shutil
    import tempfile

    from sidecar.store.db import COLUMNS

    items = 20_000 if quick else 100_000
    reps = 9 if quick else 15
    work = Path(tempfile.mkdtemp(prefix="bench-library-"))
    info: dict[str, Any] = {}
    rows: list[Row] = []
    cases: list[_Case] = []
    side: Child | None = None
    try:
        data, info["fillSeconds"] = _fill(work, items)
        side = start_sidecar(work / "lib-sidecar", data_dir=data,
                             env={"MEDIA_SIDECAR_AUTO_RETRY": "0",
                                  "MEDIA_SIDECAR_SPILL_DIR": str(work / "lib-spill")})
        client = WireClient(side.endpoint, side.secret)
        client.hello()
        raw = sqlite3.connect(data / "media.sqlite3", isolation_level=None)
        order = "ORDER BY created_at DESC, id DESC LIMIT ?"
        page_sql = f"SELECT {COLUMNS} FROM items WHERE project_id = ? {order}"
        fts_sql = (f"SELECT {COLUMNS} FROM items WHERE rowid IN (SELECT rowid FROM "
                   f"items_fts WHERE items_fts MATCH ?) AND +project_id = ? {order}")
        scan_sql = (f"SELECT {COLUMNS} FROM items WHERE project_id = ? "
                    f"AND instr(search, ?) > 0 {order}")

        page = _Case(work, "list", client, {"projectId": "big", "limit": 100}, page_sql,
                     ("big", 101), raw)
        cases.append(page)
        first = client.call("listMediaItems", {"projectId": "big", "limit": 100})
        assert len(first["items"]) == 100, first.get("counts")
        res = _measure(reps * 2, page)
        rows.append(_row(f"list first page (100 of {items // 1000}k items)", res, page,
                         "raw SQLite page + raw echo", ""))

        for label, term in (("rare term", RARE), ("common term", COMMON)):
            params = {"projectId": "big", "limit": 100, "text": term}
            found = client.call("listMediaItems", params)["items"]
            want = raw.execute(fts_sql, (f'"{term}"', "big", 101)).fetchall()
            assert [i["id"] for i in found] == [w[0] for w in want[:100]], term
            case = _Case(work, label.split()[0], client, params, fts_sql,
                         (f'"{term}"', "big", 101), raw)
            cases.append(case)
            res = _measure(reps, case, {"scan": lambda t=term: _sql_block(  # type: ignore[misc]
                raw, scan_sql, ("big", t, 101))})
            scan = median(res["scan"]) * 1e3
            rows.append(_row(f"text search, {label} ({len(found)} hits of {items // 1000}k)",
                             res, case, "raw FTS5 page + raw echo",
                             f"the substring scan it replaced: {scan:.2f} ms"))

        counts_sql = "SELECT status, count(*) FROM items WHERE project_id = ? GROUP BY status"
        case = _Case(work, "counts", client, {"projectId": "big", "limit": 1}, counts_sql,
                     ("big",), raw)
        cases.append(case)
        res = _measure(reps, case)
        rows.append(_row(f"counts, \"N unsaved\" banner ({items // 1000}k items)", res, case,
                         "raw SELECT count(*) by status + raw echo",
                         "listMediaItems limit 1: the counts come from a table kept by "
                         "triggers"))
        raw.close()
        client.close()
    finally:
        for c in cases:
            c.close()
        if side is not None:
            side.stop()
        shutil.rmtree(work, ignore_errors=True)
    return rows, info
