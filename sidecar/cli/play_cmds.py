"""Debugger commands for playback: ``source`` (getMediaSource: where an item's bytes are)
and ``read`` (readMediaRange: the bytes themselves, range by range, to a file or stdout).

``read`` copies the whole item (or ``--offset``/``--length``) in ``limits.maxRangeBytes``
ranges, holding one range at a time; for a whole item it checks the sha256 of what it wrote
against the item's, so it proves that what a player would get is what was stored.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import IO, Any

from protocol.vocabulary import ByteLocation
from sidecar.cli.attach import add_attach_args


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("source", help="where an item's bytes are (file, memory, none)")
    add_attach_args(p)
    p.add_argument("id")
    p.add_argument("-p", "--project", required=True, help="the project the item belongs to")
    p.add_argument("--json", action="store_true", help="print the raw result")
    p.set_defaults(func=run_source)

    p = sub.add_parser("read", help="read an item's bytes (readMediaRange) to a file or stdout",
                       description="Copy an item's bytes, or a range of them, through "
                       "readMediaRange (from wherever the sidecar holds them: blob, spill "
                       "file or memory). A whole item is checked against its sha256.")
    add_attach_args(p)
    p.add_argument("id")
    p.add_argument("-p", "--project", required=True, help="the project the item belongs to")
    p.add_argument("--offset", type=int, default=0, help="first byte (default 0)")
    p.add_argument("--length", type=int, help="how many bytes (default: to the end)")
    p.add_argument("-o", "--output", type=Path, help="write here (default: stdout)")
    p.set_defaults(func=run_read)


def run_source(args: argparse.Namespace) -> int:
    from sidecar.cli.runner import call_once

    def show(src: dict[str, Any]) -> None:
        from sidecar.tools.console import render

        lines = [f"{src['status']} · bytes: {src['bytes']}"]
        for key in ("path", "mimeType", "size", "sha256", "sourceUrl"):
            if src.get(key) is not None:
                value = render.human_bytes(src[key]) if key == "size" else src[key]
                lines.append(f"{key}: {value}")
        print("\n".join(lines))

    return call_once(args, "getMediaSource", {"projectId": args.project, "id": args.id}, show)


def run_read(args: argparse.Namespace) -> int:
    from sidecar.cli.attach import open_client
    from sidecar.cli.runner import EXIT_REMOTE_ERROR, UsageError, fail, run

    if args.offset < 0 or (args.length is not None and args.length < 1):
        fail("error: --offset must be >= 0 and --length >= 1")
        return 2

    async def body() -> int:
        async with open_client(args) as c:
            assert c.hello_result is not None
            step = int(c.hello_result["limits"]["maxRangeBytes"])
            src = await c.call("getMediaSource", {"projectId": args.project, "id": args.id})
            size = src["size"]
            if src["bytes"] == ByteLocation.NONE or size is None:
                fail(f"error: item {args.id} has no local bytes ({src['status']})")
                return EXIT_REMOTE_ERROR
            if args.offset >= size:
                raise UsageError(f"--offset {args.offset} is not below the item's size {size}")
            end = size if args.length is None else min(size, args.offset + args.length)
            try:
                out: IO[bytes] = (args.output.open("wb") if args.output is not None
                                  else sys.stdout.buffer)
            except OSError as exc:
                raise UsageError(f"cannot write {args.output}: {exc.strerror}") from exc
            digest = hashlib.sha256()
            offset = args.offset
            try:
                while offset < end:
                    result, chunk = await c.read_range(args.project, args.id, offset,
                                                       min(step, end - offset))
                    out.write(chunk)
                    digest.update(chunk)
                    offset += result["length"]
            finally:
                if args.output is not None:
                    out.close()
                else:
                    out.flush()
        whole = args.offset == 0 and end == size
        if whole and digest.hexdigest() != src["sha256"]:
            fail(f"error: the bytes read hash to {digest.hexdigest()}, not the item's "
                 f"{src['sha256']}")
            return EXIT_REMOTE_ERROR
        fail(f"read {offset - args.offset} bytes of {args.id} ({src['status']}, from "
             f"{src['bytes']}){'; sha256 matches' if whole else ''}")
        return 0

    return run(body)
