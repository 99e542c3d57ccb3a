"""The in-process event bus: services emit protocol events; the RPC server
(``sidecar.rpc.server``) is the listener that signs and sends each to the subscribed sessions.

``emit`` may be called from worker threads (store I/O runs off the loop); delivery to
listeners always happens on the loop thread, in emission order.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from protocol.events import Event

Listener = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver on ``loop`` from now on (called once the server's loop runs)."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; returns a function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def emit(self, event: Event) -> None:
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._deliver, event)
            return
        self._deliver(event)

    def _deliver(self, event: Event) -> None:
        for listener in tuple(self._listeners):
            listener(event)
