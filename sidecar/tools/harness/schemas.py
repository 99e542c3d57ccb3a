"""The committed JSON Schemas (``protocol/schema``), as validators of what the server sends.

Only the files are used, never the pydantic models, so the harness checks a server against
the published contract exactly as another implementation would read it.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

import protocol

SCHEMA_DIR = Path(protocol.__file__).resolve().parent / "schema"


class SchemaViolation(Exception):
    """A message does not match its schema."""


class SchemaBook:
    def __init__(self, directory: Path = SCHEMA_DIR) -> None:
        self._dir = directory
        self._validators: dict[str, Draft202012Validator] = {}

    @cached_property
    def index(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self._dir / "index.json").read_text("utf-8"))
        return loaded

    @property
    def protocol_version(self) -> str:
        return str(self.index["protocolVersion"])

    @property
    def methods(self) -> dict[str, Any]:
        methods: dict[str, Any] = self.index["methods"]
        return methods

    @property
    def events(self) -> dict[str, Any]:
        events: dict[str, Any] = self.index["events"]
        return events

    @property
    def error_codes(self) -> list[str]:
        return list(self.index["errorCodes"])

    @property
    def any_method_errors(self) -> frozenset[str]:
        """Codes any request may get, whatever its method (``protocol.errors``)."""
        return frozenset(self.index["anyMethodErrors"])

    def _validator(self, file: str) -> Draft202012Validator:
        if file not in self._validators:
            schema = json.loads((self._dir / file).read_text(encoding="utf-8"))
            self._validators[file] = Draft202012Validator(schema)
        return self._validators[file]

    def check(self, file: str, value: object, what: str) -> None:
        errors = sorted(self._validator(file).iter_errors(value), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(root)"
            raise SchemaViolation(f"{what} does not match {file} at {where}: {first.message}")

    def check_envelope(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind not in ("reply", "error", "event"):
            raise SchemaViolation(f"server sent a message of type {kind!r}")
        self.check(self.index["envelopes"][kind], message, f"{kind} envelope")

    def check_result(self, method: str, result: object) -> None:
        self.check(self.methods[method]["result"], result, f"result of {method}")

    def check_error_code(self, method: str, code: str) -> None:
        """An error code must be one any request may get, or one documented for the method."""
        documented = set(self.methods[method]["errors"]) | self.any_method_errors
        if code not in documented:
            raise SchemaViolation(f"{method} answered {code}, which is not among its "
                                  f"documented errors {sorted(self.methods[method]['errors'])}")

    def check_event(self, name: str, data: object) -> None:
        spec = self.events.get(name)
        if spec is None:
            raise SchemaViolation(f"unknown event {name!r}")
        self.check(spec["data"], data, f"data of event {name}")
