"""The one table of every setting (option, variable, default, meaning), generated from the
declarations beside the fields (``sidecar.setting``): into the README between two marker
comments, and into ``media-sidecar serve --help``.

    python -m sidecar.settings_doc --write   # rewrite the README's block
    python -m sidecar.settings_doc --check   # exit 1 when the README drifted
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent.parent / "README.md"
REGENERATE = "python -m sidecar.settings_doc --write"
BEGIN = f"<!-- BEGIN GENERATED SETTINGS: {REGENERATE} -->"
END = "<!-- END GENERATED SETTINGS -->"


@dataclass(frozen=True)
class Row:
    flag: str
    env: str
    default: str
    meaning: str


def _size(n: int) -> str:
    if n < 1 << 16:  # counts (connections, attempts), not byte sizes
        return str(n)
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n} ({n // size} {unit})"
    return str(n)


def _default(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return _size(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "none"
    if value is None:
        return "none"
    return str(value)


def rows() -> list[Row]:
    from sidecar.fetch.config import FetchConfig
    from sidecar.setting import declared
    from sidecar.settings import Settings
    from sidecar.store.config import StoreConfig

    out: list[Row] = []
    for cls in (Settings, StoreConfig, FetchConfig):
        for item in declared(cls):
            spec = item.spec
            flag = spec.flag or "—"
            if spec.flag and spec.metavar:
                flag = f"{spec.flag} {spec.metavar}"
            out.append(Row(flag, spec.env or "—",
                           spec.default_doc or _default(item.default), spec.doc))
    return out


def markdown_table() -> str:
    lines = ["| option | variable | default | meaning |", "|---|---|---|---|"]
    for r in rows():
        cells = [f"`{r.flag}`" if r.flag != "—" else r.flag,
                 f"`{r.env}`" if r.env != "—" else r.env, r.default, r.meaning]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def help_table() -> str:
    """The same rows for ``serve --help`` (an 80-column terminal)."""
    lines = ["every setting (option, variable, default; options override variables):"]
    for r in rows():
        lines.append(f"  {r.flag:<30} {r.env}")
        lines += textwrap.wrap(f"{r.meaning} [default: {r.default}]", 78,
                               initial_indent="      ", subsequent_indent="      ")
    return "\n".join(lines)


def block() -> str:
    return "\n".join([BEGIN, "<!-- Generated from the settings' declarations; edit those, "
                      "then run the command above. -->", "", markdown_table(), "", END])


def splice(doc: str) -> str:
    """``doc`` with the generated block replaced (or appended when the markers are absent)."""
    from protocol.generated import splice_block  # lazily, like main

    return splice_block(doc, BEGIN, END, block())


def main(argv: list[str] | None = None) -> int:
    from protocol.generated import block_cli  # not at the top: ``serve`` imports this module

    return block_cli(argv, prog="python -m sidecar.settings_doc",
                     description=__doc__.splitlines()[0] if __doc__ else None, path=README,
                     splice=splice, regenerate=REGENERATE)


if __name__ == "__main__":
    raise SystemExit(main())
