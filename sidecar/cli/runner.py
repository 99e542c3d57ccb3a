"""How a debugger command runs: its async body under ``asyncio.run``, and every way it can
fail turned into one line on stderr and an exit status.

Exit status: 0 ok; 1 the sidecar answered with an error (its code and message on stderr);
2 no sidecar could be chosen or reached, or bad input on our side; 3 no reply in time;
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

EXIT_OK = 0
EXIT_REMOTE_ERROR = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input caught on the client side (before anything was sent)."""


def fail(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


def run(body: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run ``body()`` on a fresh event loop; map its failures to an exit status."""
    from sidecar.cli.attach import AttachError
    from sidecar.client import ClientClosed, RemoteError
    from sidecar.tools.console.render import error_line

    try:
        return asyncio.run(body())
    except RemoteError as exc:
        fail(error_line(exc.code, exc.message, exc.field))
        return EXIT_REMOTE_ERROR
    except (AttachError, UsageError) as exc:
        fail(f"error: {exc}")
        return EXIT_USAGE
    except TimeoutError as exc:
        fail(f"error: no reply in time{': ' + str(exc) if str(exc) else ''}")
        return EXIT_TIMEOUT
    except ClientClosed as exc:
        fail(f"error: connection closed: {exc}")
        return EXIT_TIMEOUT
    except KeyboardInterrupt:
        fail("interrupted")
        return EXIT_INTERRUPTED


def call_once(args: Any, method: str, params: dict[str, Any],
              show: Callable[[dict[str, Any]], None]) -> int:
    """The common shape of a one-call command: attach, call ``method``, then print the raw
    result with ``--json`` or hand it to ``show`` for people."""
    from sidecar.cli.attach import open_client
    from sidecar.tools.console import render

    async def body() -> int:
        async with open_client(args) as c:
            result = await c.call(method, params)
        if args.json:
            render.print_json(result)
        else:
            show(result)
        return 0

    return run(body)
