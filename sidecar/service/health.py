"""Storage health as the app sees it: writable or not, blocked or not, the last error.

Every storage outcome (a save, a probe) is reported here; when (writable, blocked) flips a
``storageStatusChanged`` event goes out, so the app can show or hide its banner.
"""

from __future__ import annotations

import logging
import threading

from protocol.events import StorageStatusChanged
from sidecar.events import EventBus
from sidecar.service.convert import error_model
from sidecar.store.classify import StorageError
from sidecar.store.records import ErrorInfo

log = logging.getLogger("sidecar.service.health")


class StorageHealth:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._lock = threading.Lock()
        self.writable = True
        self.blocked = False
        self.last_error: ErrorInfo | None = None

    def failed(self, err: StorageError) -> None:
        info = err.info()
        with self._lock:
            self.last_error = info
            changed = self.writable or self.blocked != err.blocked
            self.writable, self.blocked = False, err.blocked
        if changed:
            log.warning("storage is %s: %s", "blocked" if err.blocked else "failing",
                        err.message)
            self._bus.emit(StorageStatusChanged(writable=False, blocked=err.blocked,
                                                reason=err.message, error=error_model(info)))

    def ok(self) -> None:
        with self._lock:
            changed = not self.writable or self.blocked
            self.writable, self.blocked = True, False
        if changed:
            log.info("storage is writable again")
            self._bus.emit(StorageStatusChanged(writable=True, blocked=False,
                                                reason="storage is writable again"))
