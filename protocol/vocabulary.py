"""The closed sets of words on the wire: one StrEnum each, imported wherever code compares them.

A member *is* its wire string (``ItemStatus.URL_ONLY == "urlOnly"``), so the models, the
JSON Schema's ``enum`` values and msgpack frames are unchanged; the TypeScript generator
emits each of these as a const object plus a union type of the same name.
"""

from __future__ import annotations

from enum import StrEnum


class MediaType(StrEnum):
    """What an item is."""

    VIDEO = "video"
    IMAGE = "image"
    AUDIO = "audio"


class ItemStatus(StrEnum):
    """An item's status (MediaItem.status says what each means)."""

    SAVED = "saved"
    UNSAVED = "unsaved"
    URL_ONLY = "urlOnly"
    EXPIRED = "expired"
    LOST = "lost"


class BytesState(StrEnum):
    """Where an item's bytes are (MediaItem.bytesState says what each means)."""

    DURABLE = "durable"
    HELD = "held"
    GONE = "gone"
    NONE = "none"


class RecordState(StrEnum):
    """Where an item's record is (MediaItem.recordState says what each means)."""

    STORED = "stored"
    JOURNALLED = "journalled"
    MEMORY = "memory"


class ErrorType(StrEnum):
    """Why an item is not durable (``storageError.errorType``)."""

    STORAGE_BLOCKED = "StorageBlocked"
    STORAGE_TRANSIENT = "StorageTransient"
    STORAGE_IO_ERROR = "StorageIOError"
    URL_EXPIRED = "UrlExpired"
    DOWNLOAD_FAILED = "DownloadFailed"

    @property
    def is_storage(self) -> bool:
        """A failure of local storage (blocked, transient, I/O), not of a download."""
        return self in _STORAGE_ERROR_TYPES


_STORAGE_ERROR_TYPES = frozenset(
    {ErrorType.STORAGE_BLOCKED, ErrorType.STORAGE_TRANSIENT, ErrorType.STORAGE_IO_ERROR}
)


class DownloadOutcome(StrEnum):
    """How a download ended (the final downloadProgress event's ``outcome``)."""

    SAVED = "saved"
    UNSAVED = "unsaved"
    URL_ONLY = "urlOnly"
    EXPIRED = "expired"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"


class ByteLocation(StrEnum):
    """How to read an item's bytes for playback (getMediaSource's ``bytes``)."""

    FILE = "file"
    MEMORY = "memory"
    NONE = "none"


class SortKey(StrEnum):
    """What listMediaItems sorts by."""

    CREATED_AT = "createdAt"
    UPDATED_AT = "updatedAt"
    NAME = "name"
    SIZE = "size"


class SortOrder(StrEnum):
    """The direction of listMediaItems' sort."""

    ASC = "asc"
    DESC = "desc"


class FaultOp(StrEnum):
    """The store operations the test-only ``testFault`` method can make fail."""

    BLOB_WRITE = "blobWrite"
    BLOB_FSYNC = "blobFsync"
    DB_COMMIT = "dbCommit"
    CLEAR = "clear"


class FaultErrno(StrEnum):
    """The OS errors the test-only ``testFault`` method can inject."""

    ENOSPC = "ENOSPC"
    EDQUOT = "EDQUOT"
    EROFS = "EROFS"
    EACCES = "EACCES"
    EPERM = "EPERM"
    EIO = "EIO"
    EAGAIN = "EAGAIN"
    EBUSY = "EBUSY"
