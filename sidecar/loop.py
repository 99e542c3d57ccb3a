"""Which event loop serves: asyncio's own, unless ``MEDIA_SIDECAR_EVENT_LOOP=uvloop``.

The server's latency tail is the loop's (its epoll wait and callback scheduling sit in front
of every receive), so uvloop (the asyncio API on libuv, in C) was measured against the
standard loop, same sidecar, same run (bench/RESULTS.md, rows "… uvloop ÷ asyncio's loop").
It did not win (p50 even, p99 and pipelined throughput worse in the full run), so the
standard loop serves by default; uvloop stays selectable here, in this one place, for
re-measuring.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

ENV = "MEDIA_SIDECAR_EVENT_LOOP"
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(env: Mapping[str, str]) -> tuple[LoopFactory | None, str]:
    """The loop factory for ``asyncio.Runner`` (None: asyncio's default) and its name.
    ``MEDIA_SIDECAR_EVENT_LOOP``: ``asyncio`` (default) or ``uvloop`` (must be installed)."""
    choice = env.get(ENV) or "asyncio"
    if choice == "asyncio":
        return None, "asyncio"
    if choice != "uvloop":
        raise ValueError(f"{ENV} must be asyncio or uvloop, not {choice!r}")
    import uvloop  # an ImportError here names what is missing

    factory: LoopFactory = uvloop.new_event_loop
    return factory, "uvloop"
