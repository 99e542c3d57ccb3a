"""The ready line and the connection file a real sidecar writes are exactly the models of
``protocol/connection.py`` (same keys, same types), though ``sidecar/lifecycle.py`` writes
them as plain JSON without importing pydantic (start-up stays fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Literal, get_type_hints

from pydantic import BaseModel

from protocol.connection import ConnectionFile, ReadyLine
from sidecar.client import ConnectionInfo
from sidecar.lifecycle import ConnectionFileFields, ReadyFields
from tests.support import spawn_sidecar


def _wire_fields(model: type[BaseModel]) -> dict[str, object]:
    """The model's fields by wire name (camelCase), with their annotations."""
    return {f.alias or name: f.annotation for name, f in model.model_fields.items()}


def test_what_lifecycle_writes_is_declared_field_for_field_as_the_models() -> None:
    assert get_type_hints(ConnectionFileFields) == _wire_fields(ConnectionFile)
    assert {"event": Literal["ready"], **get_type_hints(ReadyFields)} == _wire_fields(ReadyLine)


def test_a_real_sidecars_ready_line_and_connection_file_are_the_models(tmp_path: Path) -> None:
    sc = spawn_sidecar(tmp_path)
    try:
        ready = ReadyLine.model_validate(sc.ready, strict=True)
        assert set(sc.ready) == set(_wire_fields(ReadyLine))
        text = Path(ready.connection_file).read_text(encoding="utf-8")
        file = ConnectionFile.model_validate_json(text, strict=True)
        assert set(json.loads(text)) == set(_wire_fields(ConnectionFile))
        assert (file.pid, file.endpoint, file.protocol) == (ready.pid, ready.endpoint,
                                                            ready.protocol)
        assert file.secret == sc.secret and file.data_dir == str(sc.data_dir)
        assert ConnectionInfo.load(ready.connection_file).secret == sc.secret.encode()
    finally:
        sc.stop()


def test_lifecycle_imports_no_pydantic() -> None:
    code = ("import sys, sidecar.lifecycle\n"
            "print(sorted(m for m in sys.modules if m.startswith('pydantic')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
