"""The envelope: the first msgpack frame of every message, in both directions.

A message is multipart: ``[signature, envelope, *payloads]``. The envelope never carries
large bytes; those travel as raw binary payload frames after it. See docs/PROTOCOL.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol.errors import ErrorBody

RequestId = Annotated[str, Field(min_length=1, max_length=128)]
MethodName = Annotated[str, Field(min_length=1, max_length=64)]


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class Request(_Envelope):
    """Client → server. ``ts`` (ms since epoch) bounds the replay window."""

    type: Literal["request"]
    id: RequestId
    method: MethodName
    params: dict[str, object] = Field(default_factory=dict)
    ts: int = Field(ge=0)


class Reply(_Envelope):
    """Server → client: the success of request ``id``."""

    type: Literal["reply"]
    id: RequestId
    result: dict[str, object]
    ts: int = Field(ge=0)


class ErrorReply(_Envelope):
    """Server → client: the failure of request ``id`` (``null`` when no id could be read)."""

    type: Literal["error"]
    id: str | None
    error: ErrorBody
    ts: int = Field(ge=0)


class EventMessage(_Envelope):
    """Server → subscribed client. ``seq`` increases by one per event sent to that client."""

    type: Literal["event"]
    event: str
    seq: int = Field(ge=1)
    data: dict[str, object]
    ts: int = Field(ge=0)


SIGNATURE_SIZE = 32
SIGNATURE_DOMAIN = b"media-sidecar/1\x00"
