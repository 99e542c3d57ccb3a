"""The command line of a generated block in a committed document (``--write`` rewrites it,
``--check`` fails when it drifted): shared by ``protocol.docs`` and ``sidecar.settings_doc``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def block_cli(argv: list[str] | None, *, prog: str, description: str | None, path: Path,
              splice: Callable[[str], str], regenerate: str) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the generated block")
    mode.add_argument("--check", action="store_true", help="exit 1 if the block drifted")
    args = parser.parse_args(argv)
    current = path.read_text(encoding="utf-8")
    wanted = splice(current)
    if args.check:
        if wanted != current:
            print(f"{path.name}'s generated block drifted: run `{regenerate}`", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        path.write_text(wanted, encoding="utf-8")
        print(f"wrote {path}")
    return 0
