"""How a client finds a running sidecar: its ready line and its connection file.

Both are JSON written by the sidecar at start-up, outside the ZeroMQ protocol: the
**ready line** is the one line it prints on stdout once it serves (what a launcher that
spawned it reads); the **connection file** (owner-only) holds the endpoint and the secret
for a client that attaches to a sidecar it did not spawn. ``sidecar/lifecycle.py`` writes
them as plain JSON (start-up does not import pydantic) and a test checks that what it
writes is exactly these models. Readers ignore fields they do not know (a minor version
may add some).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _StartRecord(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              extra="ignore", strict=True, frozen=True, defer_build=True)


class ReadyLine(_StartRecord):
    """The one line a sidecar prints on stdout once it serves (logs go to stderr)."""

    event: Literal["ready"]
    endpoint: str = Field(description="where to connect a DEALER socket")
    pid: int = Field(description="the sidecar's process id")
    protocol: str = Field(description="the protocol version it speaks (x.y.z)")
    connection_file: str = Field(description="the path of its connection file")


class ConnectionFile(_StartRecord):
    """The owner-only JSON file a running sidecar writes (``sidecar-<pid>.json`` in the
    runtime dir unless ``--connection-file`` names it) and removes when it stops."""

    endpoint: str = Field(description="where to connect a DEALER socket")
    secret: str = Field(description="the shared secret: the HMAC key is its UTF-8 bytes")
    signature_scheme: Literal["hmac-sha256"] = Field(
        description="how messages are signed (docs/PROTOCOL.md, Authentication)")
    pid: int = Field(description="the sidecar's process id")
    protocol: str = Field(description="the protocol version it speaks (x.y.z)")
    server: str = Field(description="the sidecar's own version")
    session: str = Field(description="a random id of this run of the sidecar")
    data_dir: str = Field(description="the data directory it serves")
    started_at: int = Field(description="when it started, in ms since the Unix epoch")
