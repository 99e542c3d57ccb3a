"""``media-sidecar demo`` (what ``make demo`` runs): the tour of ``sidecar.tools.demo.tour``.

Exit status 0 only when every step behaved as promised; 1 when one did not (what went wrong
is printed, with the end of the sidecar's log); 130 on Ctrl-C. Cleanup (sidecar stopped,
tmpfs unmounted, temp dirs removed) happens in every case, SIGTERM included.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="the mission tour: every promise shown once, for real "
                       "(loopback only, under a minute)")
    p.add_argument("--simulate", action="store_true",
                   help="simulate storage failures with test hooks even when root")
    p.add_argument("--keep", action="store_true",
                   help="keep the temp dir (data, logs) for inspection")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import sys
    from types import FrameType

    from rich.text import Text

    from sidecar.extras import require
    from sidecar.tools.console.render import console
    from sidecar.tools.demo.tour import StepFailed, Tour

    require("trustme", "the demo's throw-away CA")  # before anything starts

    out = console(pipe_width=110)
    tour = Tour(out, simulate=args.simulate, keep=args.keep)

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)

    async def main() -> int:
        from sidecar.client import RemoteError

        try:
            await tour.run()
            return 0
        except StepFailed as exc:
            why = str(exc)
        except RemoteError as exc:
            why = f"the sidecar answered an unexpected error: {exc.code}: {exc.message}"
        except TimeoutError:
            why = "the sidecar did not answer in time"
        finally:
            await tour.close()
        out.print()
        out.print(Text(f"✗ The demo stopped: {why}", style="bold red"))
        if tour.last_log:
            out.print(Text("the end of the sidecar's log:", style="dim"))
            out.print(tour.last_log, markup=False, highlight=False)
        return 1

    try:
        code = asyncio.run(main())
    except KeyboardInterrupt:
        out.print(Text("interrupted: cleaning up", style="yellow"))
        code = 130
    except Exception as exc:
        out.print(Text(f"✗ The demo failed unexpectedly: {type(exc).__name__}: {exc}",
                       style="bold red"))
        code = 1
    finally:
        tour.close_sync()
        signal.signal(signal.SIGTERM, previous)
        sys.stdout.flush()
    if args.keep:
        out.print(Text(f"kept: {tour.workdir}", style="dim"))
    return code
