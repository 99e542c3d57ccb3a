"""Bench of the media store against the raw floor of what it does, in the same run.

1. Listing a 100k-item project: one page (first page, and a deep page by cursor) through the
   store (``MediaStore.page``: keyset query + counts + records) and through the service
   handler (protocol models, thread hop), against a raw SQLite query of the same page on its
   own connection (all columns, ``fetchall``).
2. An 8 MiB inline add through the service (temp file, write, fsync, rename, dir fsync, row
   commit with synchronous=FULL, events) against the raw temp+write+fsync+rename+dir-fsync.

Variants run interleaved (A B C, B C A, ...), figures are medians. Prints a table and one
JSON document (``--json PATH`` writes it to a file too).

    .venv/bin/python bench/bench_store.py [--items 100000] [--reps 300] [--add-reps 15]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from protocol.media import AddMediaItemParams, ListMediaItemsParams  # noqa: E402
from protocol.vocabulary import ItemStatus, MediaType  # noqa: E402
from sidecar.events import EventBus  # noqa: E402
from sidecar.rpc.dispatch import CallContext  # noqa: E402
from sidecar.service.media import MediaService  # noqa: E402
from sidecar.settings import Settings  # noqa: E402
from sidecar.store.config import StoreConfig  # noqa: E402
from sidecar.store.db import COLUMNS  # noqa: E402
from sidecar.store.query import ListQuery  # noqa: E402
from sidecar.store.records import ItemRecord, next_rev  # noqa: E402

PAGE = 100


def interleave(reps: int, variants: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for r in range(reps):
        for name in names[r % len(names):] + names[:r % len(names)]:
            out[name].append(variants[name]())
    return out


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    def run() -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    return run


def fill(service: MediaService, items: int) -> None:
    """Bulk-insert ``items`` records into project ``big`` (+ noise in other projects), in a
    state start-up recovery leaves alone: saved items point at real blobs (64 of them, shared
    as content-addressed blobs are), one in fifty is urlOnly (no bytes). Saved rows whose
    blobs are missing would all be marked lost by recovery at the next start."""
    base = 1_700_000_000_000
    batch: list[ItemRecord] = []
    db = service.store.db
    blobs = service.store.blobs
    shared: list[tuple[str, int]] = []
    for k in range(64):
        content = f"blob {k}".encode() * 1000
        sha = hashlib.sha256(content).hexdigest()
        blobs.install(blobs.write_temp([content]), sha)
        shared.append((sha, len(content)))
    for i in range(items + items // 10):
        project = "big" if i < items else f"other{i % 7}"
        t = base + i * 3
        saved = i % 50 != 0
        sha, size = shared[i % 64]
        batch.append(ItemRecord(
            id=f"item-{i:07d}-{uuid.uuid4().hex[:6]}", project_id=project,
            name=f"AI: generated clip {i % 977}", type=list(MediaType)[i % 3],
            status=ItemStatus.SAVED if saved else ItemStatus.URL_ONLY, created_at=t,
            updated_at=t, rev=next_rev(), mime_type="video/mp4", size=size if saved else None,
            sha256=sha if saved else None,
            source_url=f"https://v3.fal.media/files/{i}.mp4",
            metadata=json.dumps({"prompt": f"a cat number {i}", "model": "ltx-video"})))
        if len(batch) == 5000:
            db.upsert(*batch)
            batch.clear()
    if batch:
        db.upsert(*batch)


def bench_listing(loop: asyncio.AbstractEventLoop, service: MediaService, db_path: Path,
                  reps: int) -> list[dict[str, Any]]:
    raw = sqlite3.connect(db_path, isolation_level=None)
    store = service.store
    first = ListQuery("big", limit=PAGE)
    half = store.page(ListQuery("big", limit=PAGE))
    cursor = half.next_cursor
    # A deep cursor: the key of the row in the middle of the project.
    mid = raw.execute("SELECT created_at, id FROM items WHERE project_id='big' "
                      "ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET 50000").fetchone()
    deep = ListQuery("big", limit=PAGE, after=(mid[0], mid[1]))
    raw_sql = (f"SELECT {COLUMNS} FROM items WHERE project_id = ? "
               "ORDER BY created_at DESC, id DESC LIMIT ?")
    raw_deep = (f"SELECT {COLUMNS} FROM items WHERE project_id = ? "
                "AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?")
    params = ListMediaItemsParams(project_id="big", limit=PAGE)
    ctx = CallContext(request_id="bench", client=b"bench")
    assert cursor is not None
    rows = []
    for label, query, raw_fn, svc_params in (
        ("first page", first,
         lambda: raw.execute(raw_sql, ("big", PAGE + 1)).fetchall(), params),
        ("deep page (cursor at 50k)", deep,
         lambda: raw.execute(raw_deep, ("big", mid[0], mid[1], PAGE + 1)).fetchall(), None),
    ):
        variants: dict[str, Callable[[], float]] = {
            "raw": timed(raw_fn),
            "store": timed(lambda q=query: store.page(q)),  # type: ignore[misc]
        }
        if svc_params is not None:
            variants["service"] = timed(lambda p=svc_params: loop.run_until_complete(
                service.list_media_items(ctx, p)))
        for fn in variants.values():  # warm caches
            for _ in range(20):
                fn()
        res = interleave(reps, variants)
        med = {k: statistics.median(v) * 1e3 for k, v in res.items()}
        rows.append({"name": f"list {label}, store page", "value_ms": med["store"],
                     "baseline_ms": med["raw"], "ratio": med["store"] / med["raw"],
                     "target": 1.5})
        if "service" in med:
            rows.append({"name": f"list {label}, service handler (models + thread hop)",
                         "value_ms": med["service"], "baseline_ms": med["raw"],
                         "ratio": med["service"] / med["raw"], "target": None})
    raw.close()
    return rows


def bench_add(loop: asyncio.AbstractEventLoop, service: MediaService, scratch: Path,
              reps: int) -> list[dict[str, Any]]:
    size = 8 * 1024 * 1024
    raw_dir = scratch / "raw"
    raw_dir.mkdir()

    def raw_once() -> float:
        data = os.urandom(size)
        tmp = raw_dir / f"{uuid.uuid4().hex}.tmp"
        t0 = time.perf_counter()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        os.close(fd)
        os.replace(tmp, raw_dir / hashlib.sha256(tmp.name.encode()).hexdigest())
        dfd = os.open(raw_dir, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)
        return time.perf_counter() - t0

    def service_once() -> float:
        data = os.urandom(size)
        digest = hashlib.sha256(data).hexdigest()  # the transport's job, not timed
        ctx = CallContext(request_id="bench", client=b"bench", payloads=[memoryview(data)],
                          payload_sha256=digest, payload_size=size)
        p = AddMediaItemParams(project_id="adds", name="8 MiB clip", type=MediaType.VIDEO)
        t0 = time.perf_counter()
        res = loop.run_until_complete(service.add_media_item(ctx, p))
        elapsed = time.perf_counter() - t0
        assert res.durable
        return elapsed

    for fn in (raw_once, service_once):
        fn()
    res = interleave(reps, {"raw": raw_once, "service": service_once})
    med = {k: statistics.median(v) * 1e3 for k, v in res.items()}
    return [{"name": "add 8 MiB inline via the service", "value_ms": med["service"],
             "baseline_ms": med["raw"], "ratio": med["service"] / med["raw"],
             "target": None,
             "note": "raw = temp+write+fsync+rename+dir-fsync; the service adds the row "
                     "commit (WAL fsync) and events"}]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--add-reps", type=int, default=15)
    ap.add_argument("--dir", type=Path, default=None,
                    help="scratch dir (default: a temp dir on the same disk as /tmp)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-store-", dir=args.dir))
    settings = Settings(data_dir=scratch / "data", secret=b"b" * 32,
                        runtime_dir=scratch / "run",
                        store=StoreConfig(spill_dir=scratch / "spill", auto_retry=False))
    loop = asyncio.new_event_loop()
    bus = EventBus()
    bus.bind(loop)
    service = loop.run_until_complete(MediaService.open(settings, bus, None))
    try:
        t0 = time.perf_counter()
        fill(service, args.items)
        fill_s = time.perf_counter() - t0
        rows = bench_listing(loop, service, settings.data_dir / "media.sqlite3", args.reps)
        rows += bench_add(loop, service, scratch, args.add_reps)
    finally:
        loop.run_until_complete(service.close())
        loop.close()
    doc = {
        "bench": "store",
        "items": args.items,
        "page": PAGE,
        "reps": args.reps,
        "add_reps": args.add_reps,
        "fill_seconds": round(fill_s, 2),
        "machine": {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                    "platform": platform.platform(), "cpus": os.cpu_count()},
        "rows": rows,
    }
    width = max(len(r["name"]) for r in rows)
    print(f"{'':{width}}  {'value':>10}  {'raw':>10}  {'ratio':>6}  target")
    for r in rows:
        target = f"≤ {r['target']}x" if r["target"] else "-"
        met = "" if not r["target"] else ("  ok" if r["ratio"] <= r["target"] else "  MISSED")
        print(f"{r['name']:{width}}  {r['value_ms']:8.3f}ms  {r['baseline_ms']:8.3f}ms  "
              f"{r['ratio']:5.2f}x  {target}{met}")
    print(json.dumps(doc, indent=2))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2))
    import shutil

    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
