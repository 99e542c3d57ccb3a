"""The exception tree of the sidecar. Each domain exception declares its wire code.

Foreign exceptions (OSError, sqlite3, httpx) are translated into these at their seam
(store, fetch), chaining the cause; dispatch maps these to error replies by their ``code``.
Anything else that escapes a handler becomes ``internal`` and is logged with the request id.
"""

from __future__ import annotations

from typing import ClassVar

from protocol.errors import ErrorCode


class SidecarError(Exception):
    """Base of every error that becomes a typed error reply."""

    code: ClassVar[ErrorCode] = ErrorCode.INTERNAL

    def __init__(self, message: str, *, field: str | None = None,
                 data: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.data = data


class InvalidRequest(SidecarError):
    code = ErrorCode.INVALID_REQUEST


class UnknownMethod(SidecarError):
    code = ErrorCode.UNKNOWN_METHOD


class InvalidParams(SidecarError):
    code = ErrorCode.INVALID_PARAMS


class Unauthorized(SidecarError):
    code = ErrorCode.UNAUTHORIZED


class NotReady(SidecarError):
    code = ErrorCode.NOT_READY


class VersionMismatch(SidecarError):
    code = ErrorCode.VERSION_MISMATCH


class PayloadTooLarge(SidecarError):
    code = ErrorCode.PAYLOAD_TOO_LARGE


class NotFound(SidecarError):
    code = ErrorCode.NOT_FOUND


class Conflict(SidecarError):
    code = ErrorCode.CONFLICT


class PathNotAllowed(SidecarError):
    code = ErrorCode.PATH_NOT_ALLOWED


class StorageFailed(SidecarError):
    """Transient storage failure and the bytes could not be held."""

    code = ErrorCode.STORAGE_FAILED


class StorageBlocked(SidecarError):
    """Blocked storage and the bytes could not be held."""

    code = ErrorCode.STORAGE_BLOCKED


class DownloadFailed(SidecarError):
    code = ErrorCode.DOWNLOAD_FAILED


class UrlExpired(SidecarError):
    code = ErrorCode.URL_EXPIRED


class HostNotAllowed(SidecarError):
    code = ErrorCode.HOST_NOT_ALLOWED


class NoLocalBytes(SidecarError):
    """The item has no bytes here (urlOnly, expired, held bytes lost)."""

    code = ErrorCode.NO_LOCAL_BYTES


class Cancelled(SidecarError):
    code = ErrorCode.CANCELLED


class Busy(SidecarError):
    code = ErrorCode.BUSY


class ShuttingDown(SidecarError):
    code = ErrorCode.SHUTTING_DOWN


class Internal(SidecarError):
    code = ErrorCode.INTERNAL
