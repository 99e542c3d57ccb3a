"""``media-sidecar harness``: run the black-box conformance suite against a running server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "harness", help="run the protocol conformance suite against a running sidecar",
        description="Connect to a running server (any implementation of the protocol) and "
        "check it over the wire only: one line per case (PASS/FAIL/SKIP), a summary, exit "
        "status 1 on any failure. The last case shuts the server down (see --keep-server).")
    where = p.add_mutually_exclusive_group()  # one is needed, except with --list
    where.add_argument("--connection-file", type=Path, help="the server's connection file")
    where.add_argument("--endpoint", help="the server's endpoint (with --secret-file)")
    p.add_argument("--secret-file", type=Path, help="a file holding the secret (--endpoint)")
    p.add_argument("--junit", type=Path, help="also write JUnit XML here")
    p.add_argument("--only", metavar="PATTERN",
                   help="run the cases whose name contains PATTERN (or matches it as a glob)")
    p.add_argument("--require-test-hooks", action="store_true",
                   help="fail (not skip) the fault cases when the server has no testFault")
    p.add_argument("--keep-server", action="store_true",
                   help="skip the shutdown case, leaving the server running")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a reply")
    p.add_argument("--large-mib", type=int, default=32,
                   help="size of the large inline payload case, in MiB")
    p.add_argument("--media-url-base", metavar="URL",
                   default="https://v3.fal.media/files/media-sidecar-harness",
                   help="base of the URLs of URL-only items, when the server does not accept "
                   "the harness's loopback HTTP server (the download cases then skip)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sidecar.tools.harness.context import Options
    from sidecar.tools.harness.registry import all_cases, select
    from sidecar.tools.harness.runner import run as run_harness
    from sidecar.tools.harness.target import Target, TargetError

    if args.list:
        for c in select(all_cases(), args.only):
            print(f"{c.name}  {c.doc}")
        return 0
    if args.connection_file is None and args.endpoint is None:
        print("media-sidecar harness: one of --connection-file and --endpoint is needed",
              file=sys.stderr)
        return 2
    try:
        if args.connection_file is not None:
            target = Target.from_connection_file(args.connection_file)
        else:
            if args.secret_file is None:
                print("media-sidecar harness: --endpoint needs --secret-file", file=sys.stderr)
                return 2
            target = Target.from_secret_file(args.endpoint, args.secret_file)
    except TargetError as exc:
        print(f"media-sidecar harness: {exc}", file=sys.stderr)
        return 2
    options = Options(timeout=args.timeout, large_bytes=args.large_mib * 1024 * 1024,
                      require_test_hooks=args.require_test_hooks,
                      allow_shutdown=not args.keep_server,
                      media_url_base=args.media_url_base.rstrip("/"))
    return run_harness(target, options, only=args.only, junit=args.junit)
