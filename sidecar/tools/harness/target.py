"""Where the server under test is and how to sign for it: a connection file, or an
endpoint plus a secret file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class TargetError(Exception):
    """The connection file or secret file cannot be used."""


@dataclass(frozen=True)
class Target:
    endpoint: str
    secret: bytes
    connection_file: Path | None = None

    @classmethod
    def from_connection_file(cls, path: Path) -> Target:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(endpoint=str(raw["endpoint"]), secret=str(raw["secret"]).encode(),
                       connection_file=path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TargetError(f"cannot use connection file {path}: {exc}") from exc

    @classmethod
    def from_secret_file(cls, endpoint: str, path: Path) -> Target:
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise TargetError(f"cannot read secret file {path}: {exc}") from exc
        if not secret:
            raise TargetError(f"secret file {path} is empty")
        return cls(endpoint=endpoint, secret=secret.encode())
