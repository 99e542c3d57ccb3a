"""The one reader of a running sidecar's connection file (``protocol.connection``).

Used by the client (``Client.connect(path)``), the debugger's ``ps``/attach and the
conformance harness. ``find_connection_files`` lists the files of a runtime dir; which dir
is the caller's to say (the client knows nothing of the server's settings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from protocol.connection import ConnectionFile


class ConnectionFileError(ValueError):
    """A file that cannot be read, or is not a connection file."""


@dataclass(frozen=True)
class ConnectionInfo:
    """A connection file as read (``file``) and where it was (``path``)."""

    file: ConnectionFile
    path: Path | None = None

    @classmethod
    def load(cls, path: str | Path) -> ConnectionInfo:
        p = Path(path)
        try:
            text = p.read_bytes()
        except OSError as exc:
            raise ConnectionFileError(f"cannot read connection file {p}: {exc}") from exc
        try:
            return cls(ConnectionFile.model_validate_json(text), p)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the file"
            raise ConnectionFileError(f"{p} is not a connection file: {where}: "
                                      f"{first['msg']}") from exc

    @property
    def endpoint(self) -> str:
        return self.file.endpoint

    @property
    def secret(self) -> bytes:
        """The HMAC key: the secret's UTF-8 bytes."""
        return self.file.secret.encode()

    @property
    def pid(self) -> int:
        return self.file.pid


def find_connection_files(runtime_dir: Path) -> list[Path]:
    """The readable ``sidecar-*.json`` files of ``runtime_dir`` (none if it is missing)."""
    if not runtime_dir.is_dir():
        return []
    return sorted(p for p in runtime_dir.glob("sidecar-*.json")
                  if p.is_file() and os.access(p, os.R_OK))
