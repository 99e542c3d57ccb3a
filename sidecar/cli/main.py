"""Entry point of ``media-sidecar``: one sub-command per module, each adding its parser.

Command modules keep heavy imports inside their ``run`` functions so that ``serve`` starts
fast: building the parser loads neither pydantic nor ``protocol`` (the sidecar prints its
ready line before those load, see ``sidecar.app``).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "sidecar.cli.serve_cmd",
    "sidecar.cli.harness_cmd",
    "sidecar.cli.probe_cmds",
    "sidecar.cli.items_cmds",
    "sidecar.cli.play_cmds",
    "sidecar.cli.list_cmd",
    "sidecar.cli.repair_cmds",
    "sidecar.cli.watch_cmd",
    "sidecar.cli.csp_cmd",
    "sidecar.cli.demo_cmd",
)


def version_line() -> str:
    from sidecar import __version__
    from sidecar.wire.facts import PROTOCOL_VERSION  # protocol's, without loading pydantic

    return f"media-sidecar {__version__} (protocol {PROTOCOL_VERSION})"


SERVE_MODULE = "sidecar.cli.serve_cmd"


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="media-sidecar",
                                     description="The media library sidecar and its tools.")
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in modules:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from sidecar.extras import MissingExtra, hint, missing_from

    words = sys.argv[1:] if argv is None else list(argv)
    # ``serve`` is spawned by every launcher: only its own parser is built (the other
    # commands' modules are not even imported), which is part of a fast start.
    serve = words[:1] == ["serve"]
    if serve:  # see serve_cmd.run: no cyclic GC during start-up, from the first import on
        gc.disable()
    modules = (SERVE_MODULE,) if serve else COMMAND_MODULES
    args = build_parser(modules).parse_args(words)
    try:
        code: int = args.func(args)
    except MissingExtra as exc:
        print(f"media-sidecar {args.command}: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        module = missing_from(exc)
        if module is None:
            raise
        print(f"media-sidecar {args.command}: {hint(module, args.command)}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
