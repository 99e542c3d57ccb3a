"""The layer rule: which of our packages may import which, as one table.

``tests/architecture/test_layers.py`` enforces it both ways: every import in ``sidecar/`` and
``protocol/`` (module level or inside a function) is an arrow of the table, and every arrow of
the table is an import that exists. ``docs/ARCHITECTURE.md``'s "Which way the layers depend" is
generated from it:

    python -m tests.architecture.layers --write     # rewrite the block
    python -m tests.architecture.layers --check     # exit 1 if it drifted
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from protocol.generated import block_cli, splice_block

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
REGENERATE = "python -m tests.architecture.layers --write"
BEGIN = "<!-- BEGIN generated: layers -->"
END = "<!-- END generated: layers -->"
PACKAGES = ("sidecar", "protocol")
# package ``__init__``s that are no layer: ``sidecar`` (the version: anyone may import it) and
# ``sidecar.tools`` (a docstring); they import nothing of ours
NAMESPACES = ("sidecar", "sidecar.tools")


@dataclass(frozen=True)
class Layer:
    name: str  # a module or package; a module belongs to the longest name that prefixes it
    may_import: tuple[str, ...]
    owns: str


# Bottom first. ``sidecar`` itself (the package's ``__init__``: the version) may be imported by
# anyone and imports nothing, so it is not a layer of its own.
LAYERS: tuple[Layer, ...] = (
    Layer("protocol", (), "the wire: models, method table, schema, vectors, CSP policy"),
    Layer("sidecar.portable", (), "what differs between Linux, macOS and Windows"),
    Layer("sidecar.setting", (), "how a setting is declared and read"),
    Layer("sidecar.extras", (), "optional dependencies, named in one line"),
    Layer("sidecar.loop", (), "which event loop serves"),
    Layer("sidecar.logs", (), "logging set-up"),
    Layer("sidecar.wire", ("protocol",), "msgpack codec and HMAC signing primitives"),
    Layer("sidecar.errors", ("protocol",), "exceptions that carry their wire code"),
    Layer("sidecar.events", ("protocol",), "the in-process event bus"),
    Layer("sidecar.lifecycle", ("sidecar.portable",),
          "data-dir checks and lock, connection file, ready line, parent watch"),
    Layer("sidecar.store", ("protocol", "sidecar.portable", "sidecar.setting"),
          "SQLite + blobs: the durable library"),
    Layer("sidecar.fetch", ("sidecar.errors", "sidecar.portable", "sidecar.setting"),
          "the SSRF-safe downloader"),
    Layer("sidecar.settings", ("sidecar.fetch", "sidecar.portable", "sidecar.setting",
                               "sidecar.store"),
          "the settings, composed from the store's and fetch's"),
    Layer("sidecar.settings_doc", ("protocol", "sidecar.fetch", "sidecar.setting",
                                   "sidecar.settings", "sidecar.store"),
          "the generated settings table"),
    Layer("sidecar.rpc.dispatch", ("protocol", "sidecar.errors"),
          "the handler contract (CallContext, Handlers) and method → handler"),
    Layer("sidecar.rpc", ("protocol", "sidecar.errors", "sidecar.events", "sidecar.portable",
                          "sidecar.rpc.dispatch", "sidecar.settings", "sidecar.wire"),
          "frames → authenticated requests → replies; sessions; the request loop"),
    Layer("sidecar.service", ("protocol", "sidecar.errors", "sidecar.events", "sidecar.fetch",
                              "sidecar.portable", "sidecar.rpc.dispatch", "sidecar.settings",
                              "sidecar.store", "sidecar.wire"),
          "the methods as handlers, over the store and fetch"),
    Layer("sidecar.app", ("sidecar.errors", "sidecar.events", "sidecar.fetch",
                          "sidecar.lifecycle", "sidecar.portable", "sidecar.rpc",
                          "sidecar.rpc.dispatch", "sidecar.service", "sidecar.settings",
                          "sidecar.wire"),
          "the composition root"),
    Layer("sidecar.client", ("protocol", "sidecar.wire"),
          "the client half of the wire (sans I/O), the connection-file reader, the Python client"),
    Layer("sidecar.tools.console", ("protocol", "sidecar.client"),
          "console rendering shared by the CLI and the demo"),
    Layer("sidecar.tools.harness", ("protocol", "sidecar.client", "sidecar.wire"),
          "the black-box conformance suite"),
    Layer("sidecar.tools.demo", ("protocol", "sidecar.client", "sidecar.extras",
                                 "sidecar.portable", "sidecar.tools.console"),
          "the mission tour"),
    Layer("sidecar.cli", ("protocol", "sidecar.app", "sidecar.client", "sidecar.extras",
                          "sidecar.fetch", "sidecar.lifecycle", "sidecar.logs", "sidecar.loop",
                          "sidecar.portable", "sidecar.setting", "sidecar.settings",
                          "sidecar.settings_doc", "sidecar.store", "sidecar.tools.console",
                          "sidecar.tools.demo", "sidecar.tools.harness", "sidecar.wire"),
          "the `media-sidecar` command line"),
    Layer("sidecar.__main__", ("sidecar.cli",), "`python -m sidecar`"),
)
BY_NAME = {layer.name: layer for layer in LAYERS}


def layer_of(module: str) -> str | None:
    """The layer a dotted module name belongs to (``None``: not ours, or the bare package)."""
    best: str | None = None
    for name in BY_NAME:
        if (module == name or module.startswith(name + ".")) and (
                best is None or len(name) > len(best)):
            best = name
    return best


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    importer: str  # the importing module
    imported: str  # the imported module (or module.name for ``from m import name``)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports() -> Iterator[Import]:
    """Every import of one of our modules in our packages, wherever it stands in the file."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            importer = module_name(path)
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                names: list[str] = []
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    if node.level:
                        base = importer.rsplit(".", node.level - (path.name == "__init__.py"))[0]
                        module = f"{base}.{node.module}" if node.module else base
                    else:
                        module = node.module or ""
                    # ``from pkg import mod`` imports pkg.mod when that is a module
                    names = [f"{module}.{alias.name}" for alias in node.names]
                for name in names:
                    if name.split(".")[0] in PACKAGES:
                        yield Import(path, node.lineno, importer, name)


def arrows() -> dict[tuple[str, str], Import]:
    """(importer layer, imported layer) → one import that makes the arrow."""
    found: dict[tuple[str, str], Import] = {}
    for imp in imports():
        src, dst = layer_of(imp.importer), layer_of(imp.imported)
        if src and dst and src != dst:
            found.setdefault((src, dst), imp)
    return found


def depth(name: str) -> int:
    deps = BY_NAME[name].may_import
    return 0 if not deps else 1 + max(depth(d) for d in deps)


def reaches(src: str, dst: str, skip: tuple[str, str]) -> bool:
    """Whether ``src`` reaches ``dst`` through the table without the arrow ``skip``."""
    todo, seen = [src], {src}
    while todo:
        here = todo.pop()
        for nxt in BY_NAME[here].may_import:
            if (here, nxt) == skip or nxt in seen:
                continue
            if nxt == dst:
                return True
            seen.add(nxt)
            todo.append(nxt)
    return False


def drawing() -> list[str]:
    """A Mermaid graph of the table without the arrows another path already implies (every
    arrow drawn is an arrow of the table, hence an import that exists)."""
    lines = ["```mermaid", "graph TD"]
    for layer in LAYERS:
        for dep in layer.may_import:
            if not reaches(layer.name, dep, skip=(layer.name, dep)):
                lines.append(f"  {layer.name.replace('.', '_')}[{layer.name}] --> "
                             f"{dep.replace('.', '_')}[{dep}]")
    return [*lines, "```"]


def block() -> str:
    rows = [*drawing(), "", "| layer | may import | owns |", "|---|---|---|"]
    for layer in sorted(LAYERS, key=lambda la: (depth(la.name), LAYERS.index(la))):
        deps = ", ".join(f"`{d}`" for d in layer.may_import) or "nothing of ours"
        rows.append(f"| `{layer.name}` | {deps} | {layer.owns} |")
    return "\n".join([BEGIN, "<!-- Generated from tests/architecture/layers.py (the table the "
                      "import-rule test enforces); edit it, then run the command above. -->",
                      "", *rows, "", END])


def splice(doc: str) -> str:
    return splice_block(doc, BEGIN, END, block())


def main(argv: list[str] | None = None) -> int:
    return block_cli(argv, prog="python -m tests.architecture.layers",
                     description="the generated layer table of docs/ARCHITECTURE.md",
                     path=DOC, splice=splice, regenerate=REGENERATE)


if __name__ == "__main__":
    sys.exit(main())
