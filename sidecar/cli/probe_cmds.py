"""Debugger commands that probe the sidecar: ``ps``, ``ping``, ``hello``, ``status``, ``call``.

``call`` sends any method with raw JSON params (and optional binary payload frames) and
prints the raw reply, so a protocol change can be tried before any typed code knows it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sidecar.cli.attach import add_attach_args

if TYPE_CHECKING:
    from sidecar.cli.attach import Found
    from sidecar.client import Client



def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ps", help="list running sidecars (from their connection files)",
                       description="List the sidecars whose connection files are in the "
                       "runtime dir: pid, endpoint, data dir, uptime, and whether they "
                       "answer (a ping with a short timeout).")
    p.add_argument("--runtime-dir", type=Path, metavar="DIR",
                   help="where sidecars write their connection files")
    p.add_argument("--no-probe", action="store_true", help="do not ping the live ones")
    p.add_argument("--all", action="store_true",
                   help="also list stale connection files (process gone)")
    p.add_argument("--json", action="store_true", help="machine output")
    p.set_defaults(func=run_ps)

    p = sub.add_parser("ping", help="check that the sidecar answers")
    add_attach_args(p)
    p.add_argument("--json", action="store_true", help="print the raw result")
    p.set_defaults(func=run_ping)

    p = sub.add_parser("hello", help="show what the sidecar negotiated (version, methods, "
                       "events, limits, features)")
    add_attach_args(p)
    p.add_argument("--json", action="store_true", help="print the raw result")
    p.set_defaults(func=run_hello)

    p = sub.add_parser("status", help="storage status and item counts (storageStatus)")
    add_attach_args(p)
    p.add_argument("--json", action="store_true", help="print the raw result")
    p.set_defaults(func=run_status)

    p = sub.add_parser(
        "call", help="call any method with raw JSON params; print the raw reply",
        description="Send METHOD with PARAMS (a JSON object; '-' reads it from stdin) and "
        "print the reply's result, or its error object (exit 1). For debugging a protocol "
        "change: nothing is validated on this side.")
    add_attach_args(p)
    p.add_argument("method")
    p.add_argument("params", nargs="?", default="{}", help="JSON object (default {})")
    p.add_argument("--payload", type=Path, action="append", default=[], metavar="FILE",
                   help="attach FILE's bytes as a binary frame (repeatable, in order)")
    p.add_argument("--envelope", action="store_true",
                   help="print the whole reply envelope (type, id, result/error, ts)")
    p.add_argument("--no-hello", action="store_true",
                   help="do not say hello first (to see what an unopened session gets)")
    p.set_defaults(func=run_call)


# -- ps ------------------------------------------------------------------------------------

async def _probe(found: Found, timeout: float) -> float | None:
    """Round-trip ms of hello+ping, or None when it does not answer."""
    from sidecar.client import Client, ConnectionFileError, ConnectionInfo, RemoteError

    try:
        info = ConnectionInfo.load(found.path)
    except ConnectionFileError:
        return None
    client = Client(info.endpoint, info.secret, timeout=timeout)
    client.open()
    try:
        await client.hello(client_name="media-sidecar-cli-ps")
        t0 = time.perf_counter()
        await client.call("ping")
        return (time.perf_counter() - t0) * 1000
    except (TimeoutError, RemoteError):
        return None
    finally:
        await client.close()


def run_ps(args: argparse.Namespace) -> int:
    from sidecar.cli.attach import discover, runtime_dir_of
    from sidecar.cli.runner import run

    async def body() -> int:
        from sidecar.tools.console import render

        rdir = runtime_dir_of(args)
        found = [f for f in discover(rdir) if f.alive or args.all]
        pings: list[float | None] = [None] * len(found)
        if not args.no_probe:
            pings = list(await asyncio.gather(*(
                _probe(f, 2.0) if f.alive else _none() for f in found)))
        if args.json:
            render.print_json([{
                "pid": f.pid, "endpoint": f.endpoint, "dataDir": f.data_dir,
                "connectionFile": str(f.path), "startedAt": f.started_at,
                "uptimeS": round(f.uptime_s, 1),
                "alive": f.alive,
                "answers": None if args.no_probe else ms is not None,
                "pingMs": None if ms is None else round(ms, 2),
            } for f, ms in zip(found, pings, strict=True)])
            return 0
        out = render.console()
        if not found:
            out.print(f"no running sidecar in {rdir}")
            return 0
        from rich.table import Table
        from rich.text import Text

        table = Table(title=f"sidecars in {rdir}", title_justify="left")
        for col in ("pid", "state", "uptime", "endpoint", "data dir", "connection file"):
            table.add_column(col, overflow="fold")
        for f, ms in zip(found, pings, strict=True):
            if not f.alive:
                state = Text("✗ gone (stale file)", style="red")
            elif args.no_probe:
                state = Text("alive", style="green")
            elif ms is None:
                state = Text("! alive, no answer", style="yellow")
            else:
                state = Text(f"✓ answers ({ms:.1f} ms)", style="green")
            table.add_row(str(f.pid), state, render.human_duration(f.uptime_s), f.endpoint,
                          f.data_dir, str(f.path))
        out.print(table)
        return 0

    return run(body)


async def _none() -> None:
    return None


# -- ping / hello / status -----------------------------------------------------------------

def run_ping(args: argparse.Namespace) -> int:
    from sidecar.cli.attach import choose, open_client
    from sidecar.cli.runner import run

    async def body() -> int:
        from sidecar.tools.console import render

        info = choose(args)
        async with open_client(args) as c:
            t0 = time.perf_counter()
            result = await c.call("ping")
            rtt = (time.perf_counter() - t0) * 1000
        if args.json:
            render.print_json(result)
        else:
            who = f"pid {info.pid}" if info.pid else info.endpoint
            render.console().print(
                f"[green]pong[/] from {who}: {rtt:.1f} ms round trip, up "
                f"{render.human_duration(result.get('uptimeMs', 0) / 1000)}")
        return 0

    return run(body)


def run_hello(args: argparse.Namespace) -> int:
    from sidecar.cli.attach import open_client
    from sidecar.cli.runner import run

    async def body() -> int:
        from rich.table import Table

        from sidecar.tools.console import render

        async with open_client(args) as c:
            result = c.hello_result or {}
        if args.json:
            render.print_json(result)
            return 0
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        server = result.get("server") or {}
        grid.add_row("server", f"{server.get('name')} {server.get('version')}")
        grid.add_row("protocol", str(result.get("protocol")))
        grid.add_row("session", str(result.get("session")))
        grid.add_row("data dir", str(result.get("dataDir")))
        grid.add_row("methods", ", ".join(result.get("methods") or []))
        grid.add_row("events", ", ".join(result.get("events") or []))
        limits = result.get("limits") or {}
        grid.add_row("limits", ", ".join(f"{k}={v}" for k, v in limits.items()))
        feats = result.get("features") or {}
        grid.add_row("features", ", ".join(f"{k}={'on' if v else 'off'}"
                                           for k, v in feats.items()))
        render.console().print(grid)
        return 0

    return run(body)


def run_status(args: argparse.Namespace) -> int:
    from sidecar.cli.attach import open_client
    from sidecar.cli.runner import run

    async def body() -> int:
        from rich.table import Table
        from rich.text import Text

        from sidecar.tools.console import render

        async with open_client(args) as c:
            st = await c.call("storageStatus")
        if args.json:
            render.print_json(st)
            return 0
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("data dir", str(st.get("dataDir")))
        if st.get("blocked"):
            state = Text("✗ blocked (nothing can be saved now)", style="red")
        elif st.get("writable"):
            state = Text("✓ writable", style="green")
        else:
            state = Text("! not writable", style="yellow")
        grid.add_row("storage", state)
        grid.add_row("space", f"{render.human_bytes(st.get('freeBytes'))} free of "
                     f"{render.human_bytes(st.get('totalBytes'))}")
        grid.add_row("held for retry", f"{st.get('heldItems', 0)} items, "
                     f"{render.human_bytes(st.get('heldBytes'))}")
        err = st.get("lastError")
        if isinstance(err, dict):
            grid.add_row("last error", Text(f"{err.get('errorType')} {err.get('errno') or ''} "
                                            f"{err.get('message')}", style="yellow"))
        grid.add_row("items", render.counts_text(st.get("counts") or {}))
        grid.add_row("rollback on failure", "on (the old behaviour)"
                     if st.get("rollbackOnFailure") else "off")
        render.console().print(grid)
        return 0

    return run(body)


# -- call ----------------------------------------------------------------------------------

def _read_params(text: str) -> dict[str, Any]:
    from sidecar.cli.runner import UsageError

    raw = sys.stdin.read() if text == "-" else text
    try:
        params = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"PARAMS is not JSON: {exc}") from exc
    if not isinstance(params, dict):
        raise UsageError("PARAMS must be a JSON object")
    return params


async def raw_call(client: Client, method: str, params: dict[str, Any],
                   payloads: list[bytes], timeout: float) -> dict[str, Any]:
    """Send one request and return the whole reply envelope (reply or error), unparsed."""
    request = client.framer.request(method, params, payloads)
    await client.send_frames(request.frames)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no reply to {method}")
        reply = await client.unmatched(left)
        if reply.get("id") in (request.id, None):
            return reply


def run_call(args: argparse.Namespace) -> int:
    from sidecar.cli.attach import open_client
    from sidecar.cli.runner import EXIT_REMOTE_ERROR, UsageError, fail, run

    async def body() -> int:
        from sidecar.tools.console import render

        params = _read_params(args.params)
        payloads: list[bytes] = []
        for path in args.payload:
            try:
                payloads.append(path.read_bytes())
            except OSError as exc:
                raise UsageError(f"cannot read payload {path}: {exc}") from exc
        async with open_client(args, hello=not args.no_hello) as c:
            reply = await raw_call(c, args.method, params, payloads, args.timeout)
        if args.envelope:
            render.print_json(reply)
        elif reply.get("type") == "error":
            render.print_json(reply.get("error"))
        else:
            render.print_json(reply.get("result"))
        if reply.get("type") == "error":
            err = reply.get("error") or {}
            fail(render.error_line(str(err.get("code")), str(err.get("message")),
                                   err.get("field")))
            return EXIT_REMOTE_ERROR
        return 0

    return run(body)
