"""Dispatch: method name → handler, and exception → error body. Handlers never see frames.

A handler is ``async def handler(ctx: CallContext, params: <the method's Params>) -> Result``.
Service modules contribute handlers through ``Handlers.add``; the params model of a method
comes from ``protocol.METHODS`` (the one source of truth), never from the handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from protocol import METHODS, ErrorBody, ErrorCode
from protocol.base import Params
from sidecar.errors import InvalidParams, SidecarError, UnknownMethod

log = logging.getLogger("sidecar.rpc.dispatch")


@contextlib.asynccontextmanager
async def _not_idle() -> AsyncIterator[None]:
    yield


class LandedPayload(Protocol):
    """A request's payload already written to a durable temp file while its signature was
    checked (the store's ``Landed``, opaque here); the server discards it after the call."""

    def discard(self) -> None: ...


# Injected by the composition root: start landing these payloads (in the store's threads).
Land = Callable[[Sequence[memoryview]], "asyncio.Future[LandedPayload | None]"]


@dataclass(frozen=True)
class CallContext:
    """What a handler may know about its call, besides its params."""

    request_id: str
    client: bytes
    payloads: Sequence[memoryview] = ()
    payload_sha256: str | None = None  # hex sha256 of the payloads concatenated in order
    payload_size: int = 0
    fd: int = -1  # the client's connection descriptor (-1 when unknown)
    # ``async with ctx.idle():`` around a long wait that has bounds of its own (a queued or
    # running download): the server gives the request's concurrency slot back meanwhile.
    idle: Callable[[], AbstractAsyncContextManager[None]] = _not_idle
    landed: asyncio.Future[LandedPayload | None] | None = None  # large payloads: see Land


class Wire(Protocol):
    """What a handler returns: anything that gives its wire dict (a protocol Result)."""

    def wire(self) -> Mapping[str, object]: ...


@dataclass(frozen=True)
class Prebuilt:
    """A result already in wire form (a dict, or a ``codec.PackedMap`` already packed), for
    hot paths that build it without the model; each use has a test that it equals what the
    method's result model produces."""

    data: Mapping[str, Any]

    def wire(self) -> Mapping[str, object]:
        return self.data


@dataclass(frozen=True)
class WithPayload:
    """A result whose reply carries binary payload frames (readMediaRange's bytes).
    ``digest`` is their sha256 (concatenated, raw), computed where the bytes were read (a
    worker thread), so signing the reply never hashes on the event loop."""

    result: Wire
    payloads: Sequence[bytes | bytearray | memoryview]
    digest: bytes

    def wire(self) -> Mapping[str, object]:
        return self.result.wire()


Handler = Callable[[CallContext, Any], Awaitable[Wire]]


@dataclass
class Handlers:
    """The methods this server serves. Only names known to ``protocol.METHODS`` are allowed."""

    enable_test_hooks: bool = False
    _table: dict[str, Handler] = field(default_factory=dict)

    def add(self, method: str, handler: Handler) -> None:
        spec = METHODS.get(method)
        if spec is None:
            raise KeyError(f"{method!r} is not a protocol method")
        if spec.test_only and not self.enable_test_hooks:
            return
        self._table[method] = handler

    def names(self) -> list[str]:
        return [m for m in METHODS if m in self._table]

    def params_for(self, method: str, raw: dict[str, object]) -> Params:
        spec = METHODS.get(method)
        if spec is None or method not in self._table:
            raise UnknownMethod(f"unknown method {method!r}", field="method")
        try:
            return spec.params.model_validate(raw, by_name=False)  # camelCase only
        except ValidationError as exc:
            raise invalid_params(exc) from exc

    async def call(self, method: str, ctx: CallContext, params: Params) -> Wire:
        return await self._table[method](ctx, params)


def invalid_params(exc: ValidationError) -> InvalidParams:
    """The first validation error, with its field path (``params.projectId``)."""
    first = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in first["loc"])
    where = f"params.{loc}" if loc else "params"
    return InvalidParams(f"{where}: {first['msg']}", field=where)


def error_body(exc: BaseException, request_id: str | None) -> ErrorBody:
    """Map any exception to the error body sent on the wire; never leak a traceback."""
    if isinstance(exc, SidecarError):
        return ErrorBody(code=exc.code, message=exc.message, field=exc.field, data=exc.data)
    log.error("internal error in request %s", request_id, exc_info=exc)
    return ErrorBody(code=ErrorCode.INTERNAL, message=f"internal error (request {request_id})")
