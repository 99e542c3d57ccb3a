"""The store's RangeReader and the type of retried items, at the store's own level (faults
injected at the OS seam; the real-ENOSPC path is in tests/service/test_playback.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sidecar.store.config import StoreConfig
from sidecar.store.reading import NoBytes
from sidecar.store.store import MediaStore
from tests.store.conftest import inline, record


def unsaved(store: MediaStore, item_id: str, data: bytes) -> None:
    store.faults.arm("blobWrite", "ENOSPC", 1)
    out = store.save(record(item_id), inline(data), new=True)
    assert out.record.status == "unsaved"


def test_locate_and_read_follow_the_bytes_from_memory_to_the_blob(store: MediaStore) -> None:
    data = os.urandom(10_000)
    unsaved(store, "a", data)
    rec = store.get("a")
    assert rec is not None
    assert store.reader.locate(rec).kind == "memory"
    assert bytes(store.reader.read(rec, 9_990, 100).data) == data[-10:]
    saved = store.retry(rec).record
    assert saved.status == "saved"
    where = store.reader.locate(saved)
    assert where.kind == "file" and where.path == store.blob_path(str(saved.sha256))
    # A reader still holding the old (unsaved) record reads the same bytes from the blob.
    chunk = store.reader.read(rec, 0, 20_000)
    assert bytes(chunk.data) == data and chunk.offset == 0


def test_a_spilled_copy_is_a_file_and_a_vanished_one_is_no_bytes(tmp_path: Path) -> None:
    config = StoreConfig(spill_dir=tmp_path / "spill", hold_memory_budget=0)
    store = MediaStore.open(tmp_path / "data", config)
    try:
        data = os.urandom(5000)
        unsaved(store, "s", data)
        rec = store.get("s")
        assert rec is not None
        where = store.reader.locate(rec)
        assert where.kind == "file" and where.path is not None
        assert where.path.is_relative_to(tmp_path / "spill")
        assert bytes(store.reader.read(rec, 1000, 10).data) == data[1000:1010]
        where.path.unlink()  # the held copy is lost (no blob either)
        assert store.reader.locate(rec).kind == "none"
        with pytest.raises(NoBytes):
            store.reader.read(rec, 0, 1)
    finally:
        store.close()


def test_a_file_of_the_wrong_size_at_the_blob_path_is_not_served(store: MediaStore) -> None:
    data = os.urandom(4000)
    rec = store.save(record("b"), inline(data), new=True).record
    blob = store.blob_path(str(rec.sha256))
    os.chmod(blob, 0o600)
    blob.write_bytes(data[:100])  # truncated behind the store's back
    assert store.reader.locate(rec).kind == "none"
    with pytest.raises(NoBytes):
        store.reader.read(rec, 0, 10)


def test_items_without_bytes_have_none(store: MediaStore) -> None:
    for status in ("urlOnly", "expired"):
        rec = record(f"u-{status}", status=status, source_url="https://v3.fal.media/x.mp4")
        store.register(rec)
        assert store.reader.locate(rec).kind == "none"
        with pytest.raises(NoBytes):
            store.reader.read(rec, 0, 1)


def test_a_retry_types_an_item_recorded_without_a_type(store: MediaStore) -> None:
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(200)
    unsaved(store, "old", png)
    rec = store.get("old")
    assert rec is not None and rec.mime_type == "image/png"
    store.register(rec.evolve(mime_type=None))  # as a store from before sniffing left it
    legacy = store.get("old")
    assert legacy is not None and legacy.mime_type is None
    assert store.retry(legacy).record.mime_type == "image/png"
