"""The layer rule (tests/architecture/layers.py), enforced both ways, and the generated table
in docs/ARCHITECTURE.md kept equal to it."""

from __future__ import annotations

from tests.architecture import layers
from tests.architecture.layers import BY_NAME, LAYERS, arrows, layer_of


def test_every_module_belongs_to_a_layer() -> None:
    homeless = sorted({imp.importer for imp in layers.imports()
                       if layer_of(imp.importer) is None})
    assert not homeless, f"modules in no layer of tests/architecture/layers.py: {homeless}"
    for package in layers.PACKAGES:
        for path in (layers.ROOT / package).rglob("*.py"):
            module = layers.module_name(path)
            assert module in layers.NAMESPACES or layer_of(module), f"{module} is in no layer"


def test_every_import_is_an_arrow_of_the_table() -> None:
    wrong = [f"{imp.path.relative_to(layers.ROOT)}:{imp.line}: {src} imports {dst} "
             f"({imp.imported})"
             for (src, dst), imp in sorted(arrows().items())
             if dst not in BY_NAME[src].may_import]
    assert not wrong, "imports the layer table does not allow:\n" + "\n".join(wrong)


def test_every_arrow_of_the_table_is_an_import_that_exists() -> None:
    found = arrows()
    stale = [f"{layer.name} → {dep}" for layer in LAYERS for dep in layer.may_import
             if (layer.name, dep) not in found]
    assert not stale, "arrows of the layer table no import makes (remove them):\n" + "\n".join(
        stale)


def test_the_table_names_only_its_layers_and_has_no_cycle() -> None:
    for layer in LAYERS:
        unknown = set(layer.may_import) - set(BY_NAME)
        assert not unknown, f"{layer.name} may import unknown layers {unknown}"
    # bottom first: a layer may import only layers listed before it, so no cycle can exist
    seen: set[str] = set()
    for layer in LAYERS:
        later = set(layer.may_import) - seen
        assert not later, f"{layer.name} imports {later}, listed after it (a cycle is possible)"
        seen.add(layer.name)


def test_the_runtime_never_imports_the_tools_the_cli_or_the_client() -> None:
    runtime = [la.name for la in LAYERS
               if not la.name.startswith(("sidecar.tools", "sidecar.cli", "sidecar.client",
                                          "sidecar.__main__"))]
    for name in runtime:
        banned = [d for d in BY_NAME[name].may_import
                  if d.startswith(("sidecar.tools", "sidecar.cli", "sidecar.client"))]
        assert not banned, f"runtime layer {name} may import {banned}"


def test_architecture_md_shows_the_table() -> None:
    doc = layers.DOC.read_text(encoding="utf-8")
    assert layers.splice(doc) == doc, f"docs/ARCHITECTURE.md drifted: run `{layers.REGENERATE}`"
