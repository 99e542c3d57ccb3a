"""Classification of storage failures: OSError errnos and SQLite result codes become the
seeds' split (``isStorageBlocked`` for a filesystem) carried by one exception, StorageError.

blocked   = ENOSPC, EDQUOT, EROFS, EACCES, EPERM: retrying now will not help; wait for the
            user (free space, remount, fix permissions).
io error  = EIO: the write is lost; never retry the fsync, rewrite from the source.
transient = everything else (EAGAIN, EINTR, EBUSY, ...): may pass on a later attempt.

Not a storage failure at all: EMFILE / ENFILE (the process or the system is out of file
descriptors, e.g. under a flood of connections). ``classify`` raises ``OutOfDescriptors``
for those instead of returning a StorageError, so no item goes ``unsaved``/``urlOnly`` and
storage is never reported blocked because of them; the service answers ``busy`` (retry
later). SQLite does not expose the errno of a failed open (SQLITE_CANTOPEN), so a CANTOPEN
is checked against the descriptor table before it counts as a storage failure.
"""

from __future__ import annotations

import errno
import os
import sqlite3

from protocol.vocabulary import ErrorType
from sidecar.portable.files import FD_FLAGS
from sidecar.store.records import ErrorInfo, now_ms

BLOCKED_ERRNOS = frozenset(
    e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EROFS, errno.EACCES,
                errno.EPERM) if e is not None
)

# SQLite primary result codes (the low byte of extended codes) → the errno they stand for.
_SQLITE_ERRNO = {
    3: errno.EPERM,  # SQLITE_PERM
    5: errno.EBUSY,  # SQLITE_BUSY
    6: errno.EBUSY,  # SQLITE_LOCKED
    8: errno.EROFS,  # SQLITE_READONLY
    10: errno.EIO,  # SQLITE_IOERR
    11: errno.EIO,  # SQLITE_CORRUPT
    13: errno.ENOSPC,  # SQLITE_FULL
    14: errno.EACCES,  # SQLITE_CANTOPEN
    15: errno.EBUSY,  # SQLITE_PROTOCOL
    26: errno.EIO,  # SQLITE_NOTADB
}


FD_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE})
_SQLITE_CANTOPEN = 14


class OutOfDescriptors(Exception):
    """The process (EMFILE) or the system (ENFILE) has no file descriptor left: transient,
    and not a fact about storage."""

    def __init__(self, op: str, errno_name: str) -> None:
        super().__init__(f"{op} failed: out of file descriptors [{errno_name}]")
        self.op = op
        self.errno_name = errno_name


def descriptors_exhausted() -> str | None:
    """'EMFILE' / 'ENFILE' when no descriptor can be opened right now, else None."""
    try:
        fd = os.open(os.devnull, os.O_RDONLY | FD_FLAGS)
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0) if exc.errno in FD_ERRNOS else None
    os.close(fd)
    return None


class StorageError(Exception):
    """A classified storage failure raised by the store (the OSError/sqlite3 cause chained)."""

    def __init__(self, message: str, *, op: str, errno_name: str | None, blocked: bool,
                 error_type: ErrorType) -> None:
        super().__init__(message)
        self.message = message
        self.op = op
        self.errno_name = errno_name
        self.blocked = blocked
        self.error_type = error_type

    def info(self, timestamp: int | None = None) -> ErrorInfo:
        return ErrorInfo(self.message, now_ms() if timestamp is None else timestamp,
                         self.error_type, self.errno_name)


def classify_errno(code: int | None) -> tuple[bool, ErrorType]:
    """(blocked, errorType) for an errno."""
    if code in BLOCKED_ERRNOS:
        return True, ErrorType.STORAGE_BLOCKED
    if code == errno.EIO:
        return False, ErrorType.STORAGE_IO_ERROR
    return False, ErrorType.STORAGE_TRANSIENT


def errno_of(exc: BaseException) -> int | None:
    if isinstance(exc, OSError):
        return exc.errno
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int):
            return _SQLITE_ERRNO.get(code & 0xFF, errno.EIO)
        text = str(exc).lower()
        if "full" in text:
            return errno.ENOSPC
        if "readonly" in text or "read-only" in text:
            return errno.EROFS
        return errno.EIO
    return None


def classify(exc: BaseException, op: str) -> StorageError:
    """The StorageError for a failure of ``op`` (caller chains it: ``raise ... from exc``).

    Raises OutOfDescriptors instead when the cause is descriptor exhaustion."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, OutOfDescriptors):
        raise exc
    if isinstance(exc, OSError) and exc.errno in FD_ERRNOS:
        raise OutOfDescriptors(op, errno.errorcode[exc.errno]) from exc
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if (isinstance(code, int) and code & 0xFF == _SQLITE_CANTOPEN
                and (name := descriptors_exhausted()) is not None):
            raise OutOfDescriptors(op, name) from exc
    code = errno_of(exc)
    blocked, error_type = classify_errno(code)
    name = errno.errorcode.get(code) if code is not None else None
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return StorageError(f"{op} failed: {detail}" + (f" [{name}]" if name else ""),
                        op=op, errno_name=name, blocked=blocked, error_type=error_type)
