"""The harness is a black box: it imports only the wire, the client's sans-I/O half of it
and its connection-file reader, the protocol and libraries, never the server (so it checks
any implementation exactly as another client would)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "sidecar" / "tools" / "harness"
ALLOWED_PREFIXES = ("sidecar.tools.harness", "sidecar.wire", "sidecar.client.frames",
                    "sidecar.client.connection", "protocol")
ALLOWED_LIBRARIES = {"zmq", "jsonschema"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_harness_imports_only_the_wire_the_protocol_and_libraries() -> None:
    offending = []
    paths = sorted(HARNESS.rglob("*.py"))
    assert len(paths) > 10, f"no harness modules under {HARNESS}"
    for path in paths:
        for name in _imports(path):
            top = name.split(".")[0]
            if name.startswith(ALLOWED_PREFIXES) or top in ALLOWED_LIBRARIES:
                continue
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            offending.append(f"{path.relative_to(HARNESS)}: {name}")
    assert not offending, f"the harness imports server internals: {offending}"
