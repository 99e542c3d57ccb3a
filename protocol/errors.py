"""The one enum of error codes, what each means (``ERROR_DOCS``: the docs' and index.json's
text), and the codes any method may answer (``ANY_METHOD_ERRORS``)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from protocol.base import Result


class ErrorCode(StrEnum):
    """Every error a server may reply with. Codes are stable strings; messages are not."""

    INVALID_REQUEST = "invalid_request"
    UNKNOWN_METHOD = "unknown_method"
    INVALID_PARAMS = "invalid_params"
    UNAUTHORIZED = "unauthorized"
    NOT_READY = "not_ready"
    VERSION_MISMATCH = "version_mismatch"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    PATH_NOT_ALLOWED = "path_not_allowed"
    STORAGE_FAILED = "storage_failed"
    STORAGE_BLOCKED = "storage_blocked"
    DOWNLOAD_FAILED = "download_failed"
    URL_EXPIRED = "url_expired"
    HOST_NOT_ALLOWED = "host_not_allowed"
    NO_LOCAL_BYTES = "no_local_bytes"
    CANCELLED = "cancelled"
    BUSY = "busy"
    SHUTTING_DOWN = "shutting_down"
    INTERNAL = "internal"


ERROR_DOCS: dict[ErrorCode, str] = {
    ErrorCode.INVALID_REQUEST: "The frames or the envelope are malformed (bad msgpack, missing or "
    "wrong-typed envelope field, wrong frame count).",
    ErrorCode.UNKNOWN_METHOD: "The method is not served by this server (see hello's `methods`).",
    ErrorCode.INVALID_PARAMS: "The params do not match the method's schema; `field` names the "
    "first offending field.",
    ErrorCode.UNAUTHORIZED: "The signature is missing, wrong, stale (outside the replay window) "
    "or replayed. Nothing was changed.",
    ErrorCode.NOT_READY: "A method other than hello was called before a successful hello.",
    ErrorCode.VERSION_MISMATCH: "hello named a protocol whose major version differs from the "
    "server's.",
    ErrorCode.PAYLOAD_TOO_LARGE: "The envelope, a binary frame, the metadata or a download "
    "exceeds a limit announced in hello.",
    ErrorCode.NOT_FOUND: "No item with that id (in that project).",
    ErrorCode.CONFLICT: "The id exists with different content, or the item is not in a state "
    "that allows the operation (e.g. retrying a saved item).",
    ErrorCode.PATH_NOT_ALLOWED: "A path from the wire is relative, contains `..` or NUL, or lies "
    "outside the allowed roots.",
    ErrorCode.STORAGE_FAILED: "Storage failed transiently and the bytes could not be held for a "
    "retry; nothing is claimed to be kept. From readMediaRange: the bytes could not be read "
    "(an I/O error); nothing was changed.",
    ErrorCode.STORAGE_BLOCKED: "Storage is blocked (no space, quota, read-only, permission) and "
    "the bytes could not be held; nothing is claimed to be kept.",
    ErrorCode.DOWNLOAD_FAILED: "The download failed after bounded retries (timeout, connection, "
    "5xx, bad content type, size cap); a urlOnly item stays urlOnly.",
    ErrorCode.URL_EXPIRED: "The remote URL answered 400/401/403/404/410: it is gone, the item "
    "is now `expired`.",
    ErrorCode.HOST_NOT_ALLOWED: "The URL's scheme, host or resolved address is not allowed; no "
    "request was sent.",
    ErrorCode.NO_LOCAL_BYTES: "The item has no bytes here to read (urlOnly, expired, or its held "
    "bytes were lost); `data.status` is its status. Play its `sourceUrl` if it has one.",
    ErrorCode.CANCELLED: "The operation was cancelled (cancelDownload, or shutdown).",
    ErrorCode.BUSY: "Too many requests in flight for this client; retry later.",
    ErrorCode.SHUTTING_DOWN: "The server is draining and accepts no new work.",
    ErrorCode.INTERNAL: "An unexpected error; it is logged on the server with the request id.",
}

ANY_METHOD_ERRORS: tuple[ErrorCode, ...] = (
    ErrorCode.INVALID_REQUEST,
    ErrorCode.UNKNOWN_METHOD,
    ErrorCode.INVALID_PARAMS,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.NOT_READY,
    ErrorCode.PAYLOAD_TOO_LARGE,
    ErrorCode.BUSY,
    ErrorCode.SHUTTING_DOWN,
    ErrorCode.CANCELLED,
    ErrorCode.INTERNAL,
)
"""The codes any request may get, whatever its method: they are about the frames, the
session or the server's state (a request in flight at shutdown is ``cancelled``). Each
method's entry in the method table lists the others."""


class ErrorBody(Result):
    """The body of an error reply."""

    code: ErrorCode
    message: str
    field: str | None = Field(default=None, description="The offending field, dotted.")
    data: dict[str, object] | None = None
