"""A landed payload (written and fsynced while its signature was checked) is what the store
installs, with no second write; a landing nobody takes is deleted; a landing that fails
leaves nothing and the save writes the bytes itself, under its usual failure rules; a
landing left by a crash is removed by recovery. Real files, the real OS seam (its fault
switchboard for injected ENOSPC, a real tmpfs for a full disk)."""

from __future__ import annotations

import os
from pathlib import Path

from sidecar.store.config import StoreConfig
from sidecar.store.landing import Lander
from sidecar.store.osio import Trace
from sidecar.store.sources import Inline
from sidecar.store.store import MediaStore
from tests.store.conftest import inline, record
from tests.support import mounted_tmpfs

MIB = 1024 * 1024


def temps(store: MediaStore) -> list[str]:
    return sorted(os.listdir(store.blobs.tmp_dir))


def landed_inline(store: MediaStore, data: bytes) -> Inline:
    source = inline(data)
    landed = Lander(store.blobs)(source.chunks)  # type: ignore[arg-type]
    assert landed is not None
    return Inline(source.chunks, source.sha256, source.size, landed)


def test_a_landed_payload_is_renamed_into_place_without_a_second_write(
        store: MediaStore, traced: Trace) -> None:
    data = os.urandom(2 * MIB + 3)
    source = landed_inline(store, data)
    assert source.landed is not None
    landed_at = os.path.realpath(source.landed.path)
    assert source.landed.path.name.startswith("land-") and landed_at in {
        c.path for c in traced.calls() if c.kind == "fsync"}  # written and fsynced
    traced.clear()
    out = store.save(record("v1"), source, new=True)
    assert out.record.status == "saved" and out.error is None
    blob = store.blob_path(source.sha256)
    assert blob.read_bytes() == data
    calls = traced.calls()
    assert not [c for c in calls if c.kind == "write"], calls  # the save wrote nothing
    assert [(c.src, c.path) for c in calls if c.kind == "replace"] == [
        (landed_at, os.path.realpath(blob))]
    assert temps(store) == []
    source.landed.discard()  # the server's discard after the call: the store's file stays
    assert blob.read_bytes() == data


def test_a_discarded_landing_is_deleted_and_the_save_then_writes_the_bytes_itself(
        store: MediaStore) -> None:
    data = os.urandom(MIB + 1)
    source = landed_inline(store, data)
    assert source.landed is not None and temps(store) == [source.landed.path.name]
    source.landed.discard()
    assert temps(store) == []
    assert source.landed.take() is None  # a save racing the discard gets nothing
    out = store.save(record("v1"), source, new=True)
    assert out.record.status == "saved"
    assert store.blob_path(source.sha256).read_bytes() == data
    assert temps(store) == []


def test_a_landing_of_bytes_already_stored_is_deleted_by_the_save(store: MediaStore) -> None:
    data = os.urandom(MIB)
    store.save(record("v1"), inline(data), new=True)
    source = landed_inline(store, data)
    out = store.save(record("v2"), source, new=True)
    assert out.record.status == "saved" and out.record.sha256 == source.sha256
    assert temps(store) == []


def test_small_payloads_are_not_landed(store: MediaStore) -> None:
    source = inline(os.urandom(MIB - 1))
    assert Lander(store.blobs)(source.chunks) is None  # type: ignore[arg-type]
    assert temps(store) == []


def test_an_injected_enospc_drops_the_landing_and_the_save_writes_the_bytes_itself(
        store: MediaStore, traced: Trace) -> None:
    data = os.urandom(2 * MIB)
    store.faults.arm("blobWrite", "ENOSPC", 1)
    source = inline(data)
    assert Lander(store.blobs)(source.chunks) is None  # type: ignore[arg-type]
    assert temps(store) == []  # the half it wrote is gone
    out = store.save(record("v1"), source, new=True)
    assert out.record.status == "saved" and out.error is None
    renames = [c for c in traced.calls() if c.kind == "replace"]
    assert len(renames) == 1 and os.path.basename(renames[0].src).startswith("blob-")
    assert store.blob_path(source.sha256).read_bytes() == data


def test_a_landing_on_a_full_disk_leaves_nothing_and_the_add_stays_unsaved_and_held(
        tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "mnt", "6m") as mnt:
        config = StoreConfig(spill_dir=tmp_path / "spill", hold_memory_budget=16 * MIB)
        store = MediaStore.open(mnt / "data", config)
        try:
            with (mnt / "filler").open("wb") as f:  # leave ~1 MiB: the row fits, 3 MiB not
                st = os.statvfs(mnt)
                f.write(b"\0" * max(st.f_bavail * st.f_frsize - MIB, 0))
            data = os.urandom(3 * MIB)
            source = inline(data)
            assert Lander(store.blobs)(source.chunks) is None  # type: ignore[arg-type]
            assert temps(store) == []
            out = store.save(record("v1"), source, new=True)
            assert out.record.status == "unsaved" and out.error is not None
            assert out.error.errno_name == "ENOSPC"
            assert store.holding.get(source.sha256) is not None  # held for a retry
            assert temps(store) == []
        finally:
            store.close()


def test_a_landing_left_by_a_crash_is_removed_at_the_next_open(
        tmp_path: Path, config: StoreConfig) -> None:
    store = MediaStore.open(tmp_path / "data", config)
    source = landed_inline(store, os.urandom(MIB))
    store.close()  # never taken nor discarded: what a SIGKILL leaves
    again = MediaStore.open(tmp_path / "data", config)
    try:
        assert again.recovery.temps_removed == 1
        assert temps(again) == []
        assert source.landed is not None and not source.landed.path.exists()
    finally:
        again.close()
