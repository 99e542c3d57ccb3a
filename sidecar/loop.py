"""Which event loop serves: asyncio's own, unless the ``event_loop`` setting says uvloop.

The server's latency tail is the loop's (its epoll wait and callback scheduling sit in front
of every receive), so uvloop (the asyncio API on libuv, in C) was measured against the
standard loop, same sidecar, same run (bench/RESULTS.md, rows "… uvloop ÷ asyncio's loop").
It did not win (p50 even, p99 and pipelined throughput worse in the full run), so the
standard loop serves by default; uvloop stays selectable here, in this one place, for
re-measuring. The choice is a setting like any other (``Settings.event_loop``, variable
``MEDIA_SIDECAR_EVENT_LOOP``), read and checked by ``sidecar.setting``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(choice: str) -> LoopFactory | None:
    """The loop factory for ``asyncio.Runner`` of the ``event_loop`` setting: None for
    asyncio's own, uvloop's (which must be installed) for ``uvloop``."""
    if choice == "asyncio":
        return None
    if choice != "uvloop":
        raise ValueError(f"the event loop must be asyncio or uvloop, not {choice!r}")
    import uvloop  # an ImportError here names what is missing

    factory: LoopFactory = uvloop.new_event_loop
    return factory
