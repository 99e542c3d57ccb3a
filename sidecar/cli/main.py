"""Entry point of ``media-sidecar``: one sub-command per module, each adding its parser.

Command modules keep heavy imports inside their ``run`` functions so that ``serve`` starts
fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "sidecar.cli.serve_cmd",
    "sidecar.cli.harness_cmd",
    "sidecar.cli.session_cmds",
    "sidecar.cli.items_cmds",
    "sidecar.cli.play_cmds",
    "sidecar.cli.list_cmd",
    "sidecar.cli.repair_cmds",
    "sidecar.cli.watch_cmd",
    "sidecar.cli.csp_cmd",
    "sidecar.cli.demo_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="media-sidecar",
                                     description="The media library sidecar and its tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
