"""The committed JSON Schemas are exactly what the models generate, and are valid 2020-12."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from protocol import EVENTS, METHODS
from protocol.schema import DIALECT, REGENERATE, SCHEMA_DIR, build, diff


def test_committed_schemas_match_the_models() -> None:
    problems = diff()
    assert not problems, f"protocol/schema drifted ({', '.join(problems)}): run `{REGENERATE}`"


# index.json is the table of contents, not a schema (test_index_names_every_method_and_event)
@pytest.mark.parametrize("name", sorted(n for n in build() if n != "index.json"))
def test_every_schema_file_is_a_valid_2020_12_schema(name: str) -> None:
    body = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    assert body["$schema"] == DIALECT
    Draft202012Validator.check_schema(body)


def test_index_names_every_method_and_event() -> None:
    index = json.loads((SCHEMA_DIR / "index.json").read_text(encoding="utf-8"))
    assert set(index["methods"]) == set(METHODS)
    assert set(index["events"]) == set(EVENTS)
    for entry in index["methods"].values():
        assert (SCHEMA_DIR / entry["params"]).exists()
        assert (SCHEMA_DIR / entry["result"]).exists()


def test_params_schemas_are_closed_and_camel_case() -> None:
    body = build()["addMediaItem.params.json"]
    assert body["additionalProperties"] is False
    assert "projectId" in body["properties"]
    assert "project_id" not in body["properties"]
    assert body["required"] == ["projectId", "name", "type"]


def test_result_schemas_require_every_field_the_server_sends() -> None:
    body = build()["listMediaItems.result.json"]
    assert body["required"] == ["items", "nextCursor", "counts"]
    item = body["$defs"]["MediaItem"]
    assert set(item["required"]) == set(item["properties"])


def test_model_docstrings_become_descriptions() -> None:
    body = build()["event.itemAdded.json"]
    assert body["description"].startswith("An item was added")
