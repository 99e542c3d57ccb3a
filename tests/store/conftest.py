from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.store.config import StoreConfig
from sidecar.store.osio import Trace
from sidecar.store.records import ItemRecord, next_rev, now_ms
from sidecar.store.sources import Inline
from sidecar.store.store import MediaStore


@pytest.fixture
def config(tmp_path: Path) -> StoreConfig:
    return StoreConfig(spill_dir=tmp_path / "spill", import_roots=(tmp_path,))


@pytest.fixture
def store(tmp_path: Path, config: StoreConfig) -> Iterator[MediaStore]:
    s = MediaStore.open(tmp_path / "data", config)
    yield s
    s.close()


@pytest.fixture
def traced(store: MediaStore) -> Iterator[Trace]:
    """The store's OS seam recording the real calls (see ``osio.Trace``)."""
    trace = Trace()
    store.io.trace = trace
    yield trace
    store.io.trace = None


def record(item_id: str, project: str = "p1", **kw: object) -> ItemRecord:
    t = now_ms()
    kw.setdefault("status", "saved")
    return ItemRecord.create(id=item_id, project_id=project, name=str(kw.pop("name", item_id)),
                      type="video", created_at=t, updated_at=t,
                      rev=next_rev(), **kw)  # type: ignore[arg-type]


def inline(data: bytes) -> Inline:
    return Inline([memoryview(data)], hashlib.sha256(data).hexdigest(), len(data))
