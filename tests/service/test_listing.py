"""listMediaItems packs its reply straight to msgpack; the bytes must decode to exactly the
``ListMediaItemsResult`` model's wire form, for every kind of record, whether an item was
packed now or remembered from an earlier page, and inside the signed reply envelope."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.media import ListMediaItemsResult
from sidecar.service.convert import counts_wire, item_wire
from sidecar.service.listing import PagePacker
from sidecar.store.records import ItemRecord
from sidecar.wire.codec import PackedMap, decode, encode
from tests.service.test_convert import STORE, records

counts = st.dictionaries(st.sampled_from(["saved", "unsaved", "urlOnly", "expired", "lost"]),
                         st.integers(0, 10**6))
cursors = st.none() | st.text(min_size=1, max_size=40)


def _model_wire(recs: list[ItemRecord], cursor: str | None, c: dict[str, int]
                ) -> dict[str, object]:
    fast = {"items": [item_wire(r, STORE) for r in recs], "nextCursor": cursor,
            "counts": counts_wire(c)}
    return ListMediaItemsResult.model_validate(fast).wire()


@settings(max_examples=150, deadline=None)
@given(recs=st.lists(records, max_size=20), cursor=cursors, c=counts)
def test_packed_page_decodes_to_the_models_wire_form(recs: list[ItemRecord],
                                                     cursor: str | None,
                                                     c: dict[str, int]) -> None:
    packer = PagePacker(STORE.blob_path_str, STORE.record_state)
    want = _model_wire(recs, cursor, c)
    first = packer.page(recs, cursor, c)
    assert decode(first.packed, 1 << 24) == want
    again = packer.page(recs, cursor, c)  # every item now comes from the memo
    assert again.packed == first.packed


@settings(max_examples=50, deadline=None)
@given(recs=st.lists(records, min_size=1, max_size=5), c=counts)
def test_a_changed_row_is_packed_again_not_remembered(recs: list[ItemRecord],
                                                      c: dict[str, int]) -> None:
    packer = PagePacker(STORE.blob_path_str, STORE.record_state, capacity=3)
    packer.page(recs, None, c)
    changed = [r.evolve(name=r.name + " (2)", status="saved") for r in recs]
    assert decode(packer.page(changed, None, c).packed, 1 << 24) == _model_wire(changed, None, c)


@settings(max_examples=50, deadline=None)
@given(recs=st.lists(records, max_size=5), c=counts)
def test_the_reply_envelope_carries_the_packed_page_unchanged(recs: list[ItemRecord],
                                                              c: dict[str, int]) -> None:
    page = PagePacker(STORE.blob_path_str, STORE.record_state).page(recs, None, c)
    envelope = {"type": "reply", "id": "r1", "result": page, "ts": 7}
    assert decode(encode(envelope), 1 << 24) == {
        "type": "reply", "id": "r1", "result": _model_wire(recs, None, c), "ts": 7}


@settings(max_examples=30, deadline=None)
@given(recs=st.lists(records, min_size=1, max_size=5), c=counts)
def test_a_record_that_moved_is_packed_again_with_its_new_record_state(
        recs: list[ItemRecord], c: dict[str, int]) -> None:
    # where a record is (journalled, then stored once the database takes it) is not in the
    # row: the memo must not answer the old recordState
    where = {r.id: "journalled" for r in recs}
    packer = PagePacker(STORE.blob_path_str, where.__getitem__)
    first = decode(packer.page(recs, None, c).packed, 1 << 24)
    assert {i["recordState"] for i in first["items"]} == {"journalled"}
    where.update({r.id: "stored" for r in recs})
    again = decode(packer.page(recs, None, c).packed, 1 << 24)
    assert {i["recordState"] for i in again["items"]} == {"stored"}


def test_a_packed_map_reads_like_the_dict_it_encodes() -> None:
    m = PackedMap(encode({"a": 1, "b": [2, 3]}))
    assert m == {"a": 1, "b": [2, 3]}
    assert m["b"] == [2, 3] and len(m) == 2 and sorted(m) == ["a", "b"]
