"""The media-sidecar wire protocol: the one source of truth.

Every request's params, every result, every event and the error reply are pydantic v2
models here. JSON Schema files, the TypeScript types of ``electron-shim`` and the tables
of ``docs/PROTOCOL.md`` are generated from these models, never written by hand.
"""

from protocol.errors import ErrorBody, ErrorCode
from protocol.registry import EVENTS, METHODS, EventSpec, MethodSpec
from protocol.version import PROTOCOL_VERSION, is_compatible

__all__ = [
    "EVENTS",
    "METHODS",
    "PROTOCOL_VERSION",
    "ErrorBody",
    "ErrorCode",
    "EventSpec",
    "MethodSpec",
    "is_compatible",
]
