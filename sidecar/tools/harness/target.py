"""Where the server under test is and how to sign for it: a connection file (read by the
client's one reader, ``sidecar.client.connection``), or an endpoint plus a secret file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sidecar.client.connection import ConnectionFileError, ConnectionInfo


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
            info = ConnectionInfo.load(path)
        except ConnectionFileError as exc:
            raise TargetError(f"cannot use connection file {path}: {exc}") from exc
        return cls(endpoint=info.endpoint, secret=info.secret, connection_file=path)

    @classmethod
    def from_secret_file(cls, endpoint: str, path: Path) -> Target:
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise TargetError(f"cannot read secret file {path}: {exc}") from exc
        if not secret:
            raise TargetError(f"secret file {path} is empty")
        return cls(endpoint=endpoint, secret=secret.encode())
