"""Ctrl-C reaches ``watch`` even when it arrives in the same loop turn as an event.

Under ``asyncio.run`` Ctrl-C cancels the main task. ``asyncio.wait_for`` on Python 3.11
swallows a cancellation that arrives together with the awaited result (it returns the
result), so ``media-sidecar watch`` kept running after Ctrl-C. The race is made
deterministic here: the event is queued and the waiting task cancelled in one callback,
before the loop runs either of them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sidecar.client import Client

EVENT: dict[str, Any] = {"type": "event", "event": "itemAdded", "seq": 1, "data": {}, "ts": 0}


def _client() -> Client:
    # never opened: nothing is sent; only the event queue and the pending map are used
    return Client("tcp://127.0.0.1:9", b"0" * 64, timeout=30.0)


async def _cancel_with(arrival: Any, waiter: asyncio.Task[Any]) -> None:
    """Let ``waiter`` block, then deliver ``arrival()`` and cancel it in the same turn."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not waiter.done()
    asyncio.get_running_loop().call_soon(lambda: (arrival(), waiter.cancel()))
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(waiter), 5.0)


def test_next_event_cancelled_with_an_event_arriving_raises_cancelled() -> None:
    async def main() -> None:
        c = _client()
        try:
            waiter = asyncio.ensure_future(c.next_event(30.0))
            await _cancel_with(lambda: c._events.put_nowait(dict(EVENT)), waiter)
            assert waiter.cancelled()
            # the event is not lost: it is still there for whoever reads next
            assert c.pending_events() == 1
        finally:
            await c.close()

    asyncio.run(main())


def test_call_cancelled_with_its_reply_arriving_raises_cancelled() -> None:
    async def main() -> None:
        c = _client()
        try:
            rid = "r-1"
            fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

            async def waiting_call() -> dict[str, Any]:
                # what call_frames does after sending: wait for the reply within a timeout
                from sidecar.client import within

                return await within(fut, 30.0)

            waiter = asyncio.ensure_future(waiting_call())
            await _cancel_with(lambda: fut.set_result({"type": "reply", "id": rid,
                                                       "result": {}}), waiter)
            assert waiter.cancelled()
        finally:
            await c.close()

    asyncio.run(main())


def test_the_watch_loop_stops_on_a_cancel_that_comes_with_an_event() -> None:
    """The shape of ``watch``'s loop: read events until cancelled; an event arriving with
    the cancel must not keep it alive (before the fix it printed the event and waited on)."""
    async def main() -> None:
        c = _client()
        seen: list[dict[str, Any]] = []

        async def watch_loop() -> None:
            while True:
                try:
                    seen.append(await c.next_event(3600.0))
                except TimeoutError:
                    continue

        try:
            loop_task = asyncio.ensure_future(watch_loop())
            await _cancel_with(lambda: c._events.put_nowait(dict(EVENT)), loop_task)
            assert seen == []
        finally:
            await c.close()

    asyncio.run(main())
