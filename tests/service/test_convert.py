"""The listing hot path builds wire dicts directly; they must be exactly what the protocol
models produce, for every kind of item."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.media import ListMediaItemsResult, MediaItem
from sidecar.service.convert import counts_wire, item_wire
from sidecar.store.records import ErrorInfo, ItemRecord
from sidecar.store.store import MediaStore


class _Paths:
    """Only the blob path of a saved item and where its record is are read from the store."""

    def blob_path_str(self, sha: str) -> str:
        return str(Path("/data/blobs") / sha[:2] / sha)

    def record_state(self, item_id: str) -> str:
        return "journalled" if item_id.startswith("j") else "stored"


STORE: MediaStore = _Paths()  # type: ignore[assignment]

errors = st.none() | st.builds(
    ErrorInfo, message=st.text(max_size=40), timestamp=st.integers(0, 2**45),
    error_type=st.sampled_from(["StorageBlocked", "StorageTransient", "StorageIOError",
                                "UrlExpired", "DownloadFailed"]),
    errno=st.none() | st.sampled_from(["ENOSPC", "EROFS", "EIO"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=10)
records = st.builds(
    ItemRecord.create,
    id=st.from_regex(r"[A-Za-z0-9._:-]{1,20}", fullmatch=True),
    project_id=st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True),
    name=st.text(min_size=1, max_size=30),
    type=st.sampled_from(["video", "image", "audio"]),
    status=st.sampled_from(["saved", "unsaved", "urlOnly", "expired", "lost"]),
    created_at=st.integers(0, 2**45), updated_at=st.integers(0, 2**45),
    rev=st.integers(0, 2**40),
    mime_type=st.none() | st.just("video/mp4"),
    size=st.none() | st.integers(0, 2**40),
    sha256=st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    width=st.none() | st.integers(0, 8000), height=st.none() | st.integers(0, 8000),
    duration=st.none() | st.floats(0, 1e6, allow_nan=False),
    fps=st.none() | st.floats(0, 240, allow_nan=False),
    source_url=st.none() | st.just("https://v3.fal.media/files/x.mp4"),
    folder_ids=st.lists(st.text(min_size=1, max_size=8), max_size=3),
    storage_error=errors,
    metadata=st.dictionaries(st.sampled_from(["prompt", "model", "jobId", "seed"]),
                             json_values, max_size=4).map(json.dumps),
)


@settings(max_examples=300, deadline=None)
@given(rec=records)
def test_item_wire_is_exactly_the_models_wire_form(rec: ItemRecord) -> None:
    fast = item_wire(rec, STORE)
    assert MediaItem.model_validate(fast).wire() == fast


@settings(max_examples=50, deadline=None)
@given(recs=st.lists(records, max_size=5),
       counts=st.dictionaries(st.sampled_from(["saved", "unsaved", "urlOnly", "expired"]),
                              st.integers(0, 10**6)))
def test_list_page_wire_form_is_exactly_the_result_models(recs: list[ItemRecord],
                                                          counts: dict[str, int]) -> None:
    fast = {"items": [item_wire(r, STORE) for r in recs], "nextCursor": None,
            "counts": counts_wire(counts)}
    assert ListMediaItemsResult.model_validate(fast).wire() == fast
