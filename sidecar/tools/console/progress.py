"""Download progress bars fed by ``downloadProgress`` events while a request runs.

``call_with_progress`` subscribes to the project's ``downloadProgress`` events, sends the
request, and draws one rich bar per item id until the reply arrives (then waits briefly for
the final events that may trail it). Bars go to stderr so that ``--json`` output on stdout
stays clean; with ``show=False`` the events are consumed silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from sidecar.client import Client

TRAILING_WAIT_S = 1.0


class _Bars:
    def __init__(self, progress: Progress | None, names: Mapping[str, str],
                 only: set[str] | None) -> None:
        self.progress = progress
        self.names = dict(names)
        self.only = only
        self.tasks: dict[str, TaskID] = {}
        self.final: dict[str, str | None] = {}

    def feed(self, ev: Mapping[str, Any]) -> None:
        if ev.get("event") != "downloadProgress":
            return
        data = ev.get("data") or {}
        item_id = str(data.get("id"))
        if self.only is not None and item_id not in self.only:
            return
        total = data.get("totalBytes")
        done = int(data.get("bytesDone") or 0)
        if data.get("final"):
            self.final[item_id] = data.get("outcome")
        if self.progress is None:
            return
        from sidecar.tools.console.render import BADGES

        label = self.names.get(item_id, item_id)
        if data.get("final"):
            outcome = str(data.get("outcome"))
            symbol, style = BADGES.get(outcome, ("•", "magenta"))
            label = f"[{style}]{symbol} {outcome}[/] {label}"
        from sidecar.tools.console.render import human_bytes

        rate = f"{human_bytes(int(data.get('rateBps') or 0))}/s"
        task = self.tasks.get(item_id)
        if task is None:
            task = self.progress.add_task(label, total=total, rate=rate)
            self.tasks[item_id] = task
        if data.get("final") and total is None:
            total = done  # unknown length: a finished bar is full
        self.progress.update(task, description=label, completed=done, rate=rate,
                             total=total if isinstance(total, int) else None)

    def waiting_for_final(self) -> bool:
        return any(i not in self.final for i in self.tasks)


async def call_with_progress(client: Client, method: str, params: dict[str, Any], *,
                             project: str | None, names: Mapping[str, str] | None = None,
                             only: set[str] | None = None, show: bool = True,
                             timeout: float | None = None, console: Console | None = None,
                             ) -> dict[str, Any]:
    """``client.call(method, params)`` with progress bars of the downloads it causes
    (drawn on ``console``, by default stderr)."""
    await client.subscribe(["downloadProgress"], project)
    progress: Progress | None = None
    if show:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        from sidecar.tools.console.render import console as make_console

        # The rate is the sidecar's own (rateBps of downloadProgress), not re-measured here.
        progress = Progress(TextColumn("{task.description}"), BarColumn(),
                            DownloadColumn(binary_units=True), TextColumn("{task.fields[rate]}"),
                            console=console or make_console(stderr=True), transient=False)
    bars = _Bars(progress, names or {}, only)
    call = asyncio.ensure_future(client.call(method, params, timeout=timeout))
    with progress if progress is not None else contextlib.nullcontext():
        try:
            while not call.done():
                ev_task = asyncio.ensure_future(client.next_event(3600))
                await asyncio.wait({call, ev_task}, return_when=asyncio.FIRST_COMPLETED)
                if ev_task.done():
                    bars.feed(ev_task.result())
                else:
                    ev_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await ev_task
            # Final events may trail the reply by a moment; nothing waits on them for long.
            deadline = time.monotonic() + TRAILING_WAIT_S
            while client.pending_events() or (bars.waiting_for_final()
                                              and time.monotonic() < deadline):
                try:
                    bars.feed(await client.next_event(max(deadline - time.monotonic(), 0.01)))
                except TimeoutError:
                    break
        finally:
            if not call.done():
                call.cancel()
    with contextlib.suppress(Exception):
        await client.call("unsubscribe")
    return call.result()
