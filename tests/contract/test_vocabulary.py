"""One vocabulary: each closed set of wire words is a StrEnum of protocol/vocabulary.py whose
members are the wire strings, exported once per set into the schemas, taken by the strict
params only as strings, and the codes any method may answer are the protocol's."""

from __future__ import annotations

import enum
import json
from typing import Any

import msgpack
import pytest
from pydantic import ValidationError

from protocol import vocabulary
from protocol.errors import ANY_METHOD_ERRORS, ErrorCode
from protocol.media import AddMediaItemParams, FaultParams, ListMediaItemsParams
from protocol.schema import SCHEMA_DIR, build
from protocol.vocabulary import ErrorType, FaultErrno, FaultOp, ItemStatus, SortKey, SortOrder

WORD_SETS = sorted(
    (obj for obj in vars(vocabulary).values()
     if isinstance(obj, type) and issubclass(obj, enum.StrEnum) and obj is not enum.StrEnum),
    key=lambda e: e.__name__)


def _defs() -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for body in build().values():
        for name, definition in body.get("$defs", {}).items():
            found.setdefault(name, []).append(definition)
    return found


@pytest.mark.parametrize("words", WORD_SETS, ids=lambda e: e.__name__)
def test_each_word_set_is_one_schema_type_with_the_members_values(words: type[enum.StrEnum],
                                                                   ) -> None:
    definitions = _defs().get(words.__name__)
    assert definitions, f"{words.__name__} is used by no model"
    for definition in definitions:
        assert definition["type"] == "string"
        assert definition["enum"] == [member.value for member in words]


def test_members_are_their_wire_strings_in_json_and_msgpack() -> None:
    sample = {"status": ItemStatus.URL_ONLY, "sort": [SortKey.CREATED_AT, SortOrder.DESC]}
    assert json.dumps(sample) == '{"status": "urlOnly", "sort": ["createdAt", "desc"]}'
    assert msgpack.packb(sample) == msgpack.packb(
        {"status": "urlOnly", "sort": ["createdAt", "desc"]})


def test_only_local_storage_failures_are_storage_error_types() -> None:
    assert {t for t in ErrorType if t.is_storage} == {
        ErrorType.STORAGE_BLOCKED, ErrorType.STORAGE_TRANSIENT, ErrorType.STORAGE_IO_ERROR}


def test_strict_params_take_the_words_as_strings() -> None:
    params = ListMediaItemsParams.model_validate(
        {"projectId": "p", "status": ["urlOnly", "lost"], "sort": "name", "order": "asc"},
        by_name=False)
    assert params.status == [ItemStatus.URL_ONLY, ItemStatus.LOST]
    assert (params.sort, params.order) == (SortKey.NAME, SortOrder.ASC)
    fault = FaultParams.model_validate({"op": "dbCommit", "errno": "EROFS"})
    assert (fault.op, fault.errno) == (FaultOp.DB_COMMIT, FaultErrno.EROFS)
    assert ListMediaItemsParams.model_validate({"projectId": "p"}).sort == SortKey.CREATED_AT


@pytest.mark.parametrize(("model", "raw", "field"), [
    (ListMediaItemsParams, {"projectId": "p", "sort": b"name"}, "sort"),
    (ListMediaItemsParams, {"projectId": "p", "status": [bytearray(b"saved")]}, "status"),
    (ListMediaItemsParams, {"projectId": "p", "order": "ASC"}, "order"),
    (ListMediaItemsParams, {"projectId": "p", "status": ["deleted"]}, "status"),
    (AddMediaItemParams, {"projectId": "p", "name": "n", "type": 1}, "type"),
    (FaultParams, {"op": "blobWrite", "errno": "ENOENT"}, "errno"),
])
def test_strict_params_refuse_what_is_not_one_of_the_words(model: Any, raw: dict[str, Any],
                                                           field: str) -> None:
    with pytest.raises(ValidationError) as err:
        model.model_validate(raw)
    assert [e["loc"][0] for e in err.value.errors()] == [field]


def test_the_codes_any_method_may_answer_are_published_in_the_index() -> None:
    index = json.loads((SCHEMA_DIR / "index.json").read_text(encoding="utf-8"))
    assert index["anyMethodErrors"] == [str(code) for code in ANY_METHOD_ERRORS]
    assert set(ANY_METHOD_ERRORS) <= set(ErrorCode)
    # a request in flight when the server stops is cancelled, whatever its method
    assert ErrorCode.CANCELLED in ANY_METHOD_ERRORS
