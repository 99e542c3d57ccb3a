"""``media-sidecar watch``: live events of a running sidecar, pretty or as JSON lines.

Subscribes (all events, or the ``--event`` names; one project's with ``--project``), then
prints each event as it comes: one rich line, or with ``--json`` the event envelope as one
JSON object per line on stdout. A line "watching ..." goes to stderr once the subscription
is in place (scripts and tests wait for it). Stops on Ctrl-C (exit 0), after ``--count N``
events, or after ``--timeout S`` seconds (the wait for replies is ``--reply-timeout``).
"""

from __future__ import annotations

import argparse
import time

from sidecar.cli.attach import add_attach_args


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("watch", help="print live events (Ctrl-C to stop)")
    add_attach_args(p, timeout_flag="--reply-timeout")
    p.add_argument("-p", "--project", help="only this project's events")
    p.add_argument("-e", "--event", action="append", default=[], metavar="NAME",
                   help="only these events (repeatable; default all)")
    p.add_argument("-n", "--count", type=int, metavar="N", help="stop after N events")
    p.add_argument("--timeout", dest="duration", type=float, metavar="S",
                   help="stop after S seconds")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--toast", action="store_true",
                   help="also show what the app's toast would say")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sidecar.cli.attach import describe, open_client
    from sidecar.cli.runner import EXIT_INTERRUPTED, UsageError, fail
    from sidecar.cli.runner import run as run_body

    async def body() -> int:
        from protocol import EVENTS
        from sidecar.tools.console import render

        unknown = [e for e in args.event if e not in EVENTS]
        if unknown:
            raise UsageError(f"unknown event {', '.join(unknown)} "
                             f"(known: {', '.join(EVENTS)})")
        if args.count is not None and args.count <= 0:
            return 0
        out = render.console()
        async with open_client(args) as c:
            sub = await c.subscribe(args.event, args.project)
            what = ", ".join(sub.get("events") or []) if args.event else "all events"
            scope = f" of project {args.project}" if args.project else ""
            from sidecar.cli.attach import choose

            fail(f"watching {describe(choose(args))}: {what}{scope} (Ctrl-C to stop)")
            deadline = None if args.duration is None else time.monotonic() + args.duration
            seen = 0
            while args.count is None or seen < args.count:
                wait = 3600.0
                if deadline is not None:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        break
                try:
                    ev = await c.next_event(wait)
                except TimeoutError:
                    continue
                seen += 1
                if args.json:
                    render.print_json(ev, pretty=False)
                    continue
                out.print(render.event_text(ev))
                toast = render.toast_text(ev) if args.toast else None
                if toast is not None:
                    out.print(toast)
            if c.events_missed:
                fail(f"warning: {c.events_missed} events were dropped on the way "
                     "(the sidecar's queue was full); re-list to catch up")
        return 0

    code = run_body(body)
    return 0 if code == EXIT_INTERRUPTED else code
