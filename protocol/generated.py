"""A generated block in a committed document: splicing it in between its markers, and the
command line that rewrites it (``--write``) or fails when it drifted (``--check``); shared by
``protocol.docs``, ``sidecar.settings_doc`` and the layer table of docs/ARCHITECTURE.md."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def splice_block(doc: str, begin: str, end: str, block: str) -> str:
    """``doc`` with the text from ``begin`` to ``end`` replaced by ``block`` (which carries
    both markers), or with ``block`` appended when the markers are absent."""
    if begin in doc and end in doc:
        head, rest = doc.split(begin, 1)
        _, tail = rest.split(end, 1)
        return head + block + tail
    return doc.rstrip("\n") + "\n\n" + block + "\n"


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


def files_cli(argv: list[str] | None, *, prog: str, description: str | None, what: str,
              write: Callable[[], list[str]], diff: Callable[[], list[str]],
              regenerate: str) -> int:
    """The same command line for a directory of generated files: ``--write`` writes them
    (naming each), ``--check`` prints every drift and exits 1."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help=f"regenerate {what}")
    group.add_argument("--check", action="store_true", help="fail when the files drifted")
    args = parser.parse_args(argv)
    if args.write:
        for name in write():
            print(f"wrote {name}")
        return 0
    problems = diff()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{what} is out of date: run `{regenerate}`", file=sys.stderr)
        return 1
    return 0
