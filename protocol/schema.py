"""JSON Schema (2020-12) export of the protocol models into ``protocol/schema/*.json``.

One file per method's params and result, one per event's data, one per envelope, one for
the error body, one each for the ready line and the connection file (``startup``), and
``index.json`` tying names to files. The models in ``protocol/`` are
the definition; these files are generated and committed so that other implementations
(the TypeScript client, the conformance harness) can read them without Python.

Results and events are exported in serialization mode with *every* field required: the
server sends ``None`` fields explicitly (``Result.wire``), so a missing field is a defect.
They stay open (``additionalProperties`` allowed): clients ignore unknown fields. Params
are exported in validation mode and are closed (``extra="forbid"`` in the models).

    python -m protocol.schema --write   # regenerate the files
    python -m protocol.schema --check   # exit 1 when the committed files differ
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from protocol.connection import ConnectionFile, ReadyLine
from protocol.envelope import ErrorReply, EventMessage, Reply, Request
from protocol.errors import ANY_METHOD_ERRORS, ERROR_DOCS, ErrorBody
from protocol.generated import files_cli
from protocol.registry import EVENTS, METHODS
from protocol.version import PROTOCOL_VERSION

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR = Path(__file__).parent / "schema"
REGENERATE = "python -m protocol.schema --write"
BANNER = f"Generated from the models in protocol/ by `{REGENERATE}`. Do not edit."

Mode = Literal["validation", "serialization"]


class _Generator(GenerateJsonSchema):
    """Pydantic's generator, with the two conventions of this protocol."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        # Field titles ("Projectid") add nothing and make code generators invent types.
        return False

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization":
            return True  # the server always sends every field, None included
        return super().field_is_required(field, total)


def model_schema(model: type[BaseModel], mode: Mode) -> dict[str, Any]:
    """The JSON Schema of one model (camelCase names, docstring as description)."""
    body: JsonSchemaValue = model.model_json_schema(
        by_alias=True, mode=mode, schema_generator=_Generator
    )
    out: dict[str, Any] = {"$schema": DIALECT, "$comment": BANNER}
    out.update(body)
    if "description" not in out and model.__doc__:
        out["description"] = " ".join(model.__doc__.split())
    return out


def _method_files(name: str) -> tuple[str, str]:
    return f"{name}.params.json", f"{name}.result.json"


def _event_file(name: str) -> str:
    return f"event.{name}.json"


ENVELOPES: Mapping[str, tuple[type[BaseModel], Mode]] = {
    "request": (Request, "validation"),
    "reply": (Reply, "serialization"),
    "error": (ErrorReply, "serialization"),
    "event": (EventMessage, "serialization"),
}
ERROR_BODY_FILE = "error.json"
# What a sidecar writes at start-up, outside the wire (exported like results: all sent).
STARTUP: Mapping[str, tuple[type[BaseModel], str]] = {
    "readyLine": (ReadyLine, "startup.ready-line.json"),
    "connectionFile": (ConnectionFile, "startup.connection-file.json"),
}


def _envelope_file(kind: str) -> str:
    return f"envelope.{kind}.json"


def build() -> dict[str, dict[str, Any]]:
    """Every schema file, by file name, as it must be on disk."""
    files: dict[str, dict[str, Any]] = {}
    methods: dict[str, Any] = {}
    for name, spec in METHODS.items():
        params_file, result_file = _method_files(name)
        files[params_file] = model_schema(spec.params, "validation")
        files[result_file] = model_schema(spec.result, "serialization")
        methods[name] = {
            "params": params_file,
            "result": result_file,
            "errors": [str(code) for code in spec.errors],
            "payloads": spec.payloads,
            "replyPayloads": spec.reply_payloads,
            "testOnly": spec.test_only,
            "doc": spec.doc,
        }
    events: dict[str, Any] = {}
    for name, event in EVENTS.items():
        files[_event_file(name)] = model_schema(event.data, "serialization")
        events[name] = {"data": _event_file(name), "doc": event.doc}
    envelopes: dict[str, str] = {}
    for kind, (model, mode) in ENVELOPES.items():
        files[_envelope_file(kind)] = model_schema(model, mode)
        envelopes[kind] = _envelope_file(kind)
    files[ERROR_BODY_FILE] = model_schema(ErrorBody, "serialization")
    for model, file in STARTUP.values():
        files[file] = model_schema(model, "serialization")
    files["index.json"] = {
        "$comment": BANNER,
        "protocolVersion": PROTOCOL_VERSION,
        "dialect": DIALECT,
        "envelopes": envelopes,
        "errorBody": ERROR_BODY_FILE,
        "errorCodes": {str(code): doc for code, doc in ERROR_DOCS.items()},
        "anyMethodErrors": [str(code) for code in ANY_METHOD_ERRORS],
        "methods": methods,
        "events": events,
        "startup": {name: file for name, (_, file) in STARTUP.items()},
    }
    return files


def render(schema: Mapping[str, Any]) -> str:
    """The exact text of a schema file (stable: two-space indent, trailing newline)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    return {name: render(body) for name, body in sorted(build().items())}


def diff(directory: Path = SCHEMA_DIR) -> list[str]:
    """File names that are missing, stale or unexpected in ``directory``."""
    want = rendered()
    problems: list[str] = []
    for name, text in want.items():
        path = directory / name
        if not path.exists():
            problems.append(f"missing: {name}")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"stale: {name}")
    if directory.exists():
        for path in sorted(directory.glob("*.json")):
            if path.name not in want:
                problems.append(f"unexpected: {path.name}")
    return problems


def write(directory: Path = SCHEMA_DIR) -> list[str]:
    """Regenerate ``directory``; returns the names written (stale files are removed)."""
    want = rendered()
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.json"):
        if path.name not in want:
            path.unlink()
    written = []
    for name, text in want.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(name)
    return written


def main(argv: list[str] | None = None) -> int:
    return files_cli(argv, prog="python -m protocol.schema", description=__doc__,
                     what="protocol/schema",
                     write=write, diff=diff, regenerate=REGENERATE)


if __name__ == "__main__":
    raise SystemExit(main())
