"""The demo's second connection: it listens to every event, as the app's renderer does.

``EventLog`` drains a subscribed client in the background and keeps what arrived, so a step
can wait for "the itemUnsaved event of this item" without racing the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.client import Client

Event = dict[str, Any]


class EventLog:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self, project: str | None = None) -> None:
        await self.client.subscribe([], project)
        self._task = asyncio.create_task(self._drain(), name="demo-events")

    async def _drain(self) -> None:
        async for ev in self.client.events():
            async with self._changed:
                self.events.append(ev)
                self._changed.notify_all()

    def mark(self) -> int:
        """A position: ``wait(..., since=mark)`` looks only at later events."""
        return len(self.events)

    def find(self, name: str, since: int = 0,
             where: Callable[[dict[str, Any]], bool] | None = None) -> Event | None:
        for ev in self.events[since:]:
            if ev.get("event") == name and (where is None or where(ev.get("data") or {})):
                return ev
        return None

    async def wait(self, name: str, *, since: int = 0, item_id: str | None = None,
                   timeout: float = 10.0) -> Event | None:
        """The first event ``name`` (about ``item_id``) after ``since``; None on timeout."""

        def about(data: dict[str, Any]) -> bool:
            if item_id is None:
                return True
            item = data.get("item")
            got = item.get("id") if isinstance(item, dict) else data.get("id")
            return bool(got == item_id)

        async def until_found() -> Event:
            async with self._changed:
                while True:
                    ev = self.find(name, since, about)
                    if ev is not None:
                        return ev
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(until_found(), timeout)
        except TimeoutError:
            return None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
