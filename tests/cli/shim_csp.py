"""The CSP as electron-shim renders it (its own code, run by node) and as protocol.csp does.

``shim_renderings()`` transpiles ``electron-shim/src/csp.ts`` with the shim's TypeScript (or
loads its compiled ``dist/csp.js``) and evaluates each case under node; None when neither
node nor the shim's code can be run. ``golden/csp.json`` keeps the shim's renderings for
machines without them; regenerate it with ``python -m tests.cli.shim_csp --write``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from protocol.csp import (
    CspOptions,
    build_csp,
    csp_directives,
    csp_headers,
    csp_meta_tag,
    load_policy,
)

ROOT = Path(__file__).resolve().parents[2]
SHIM = ROOT / "electron-shim"
GOLDEN = Path(__file__).with_name("golden") / "csp.json"

_EXTRA = CspOptions(unsafe_eval=True, report_uri="https://report.example/csp",
                    extra_sources={"connect-src": ["ws://localhost:5173", "'self'"]})

# name → (JavaScript expression over the module ``m``, the Python rendering)
CASES: dict[str, tuple[str, Callable[[], object]]] = {
    "header": ("m.buildCsp(m.DEFAULT_POLICY)", lambda: build_csp(load_policy())),
    "header-embed": ("m.buildCsp(m.DEFAULT_POLICY, {embed: true})",
                     lambda: build_csp(load_policy(), CspOptions(embed=True))),
    "header-options": (
        "m.buildCsp(m.DEFAULT_POLICY, {unsafeEval: true, reportUri: "
        "'https://report.example/csp', extraSources: {'connect-src': "
        "['ws://localhost:5173', \"'self'\"]}})",
        lambda: build_csp(load_policy(), _EXTRA)),
    "meta": ("m.cspMetaTag({})", csp_meta_tag),
    "meta-embed": ("m.cspMetaTag({embed: true})",
                   lambda: csp_meta_tag(CspOptions(embed=True))),
    "meta-target": ("m.buildCsp(m.DEFAULT_POLICY, {embed: true}, 'meta')",
                    lambda: build_csp(load_policy(), CspOptions(embed=True), "meta")),
    "headers-isolated": ("m.cspHeaders({crossOriginIsolation: true})",
                         lambda: csp_headers(cross_origin_isolation=True)),
    "headers": ("m.cspHeaders({embed: true})", lambda: csp_headers(CspOptions(embed=True))),
    "header-dev": ("m.buildCsp(m.DEFAULT_POLICY, {preset: 'dev'})",
                   lambda: build_csp(load_policy(), CspOptions(preset="dev"))),
    "header-scheme": ("m.buildCsp(m.DEFAULT_POLICY, {mediaScheme: 'app-media'})",
                      lambda: build_csp(load_policy(), CspOptions(media_scheme="app-media"))),
    "header-no-scheme": ("m.buildCsp(m.DEFAULT_POLICY, {mediaScheme: false})",
                         lambda: build_csp(load_policy(), CspOptions(media_scheme=False))),
    "meta-dev": ("m.cspMetaTag({preset: 'dev'})", lambda: csp_meta_tag(CspOptions(preset="dev"))),
    "directives-embed": (
        "Object.fromEntries(m.cspDirectives(m.DEFAULT_POLICY, {embed: true}))",
        lambda: csp_directives(load_policy(), CspOptions(embed=True))),
}

_NODE_MAIN = """
const m = require(process.argv[2]);
const out = {};
%s
process.stdout.write(JSON.stringify(out));
"""


def python_renderings() -> dict[str, object]:
    return {name: py() for name, (_, py) in CASES.items()}


def shim_source() -> str | None:
    """How the shim's code can be run here ("typescript", "dist"), or None."""
    if shutil.which("node") is None:
        return None
    if (SHIM / "node_modules" / "typescript").is_dir() and (SHIM / "src" / "csp.ts").is_file():
        return "typescript"
    if (SHIM / "dist" / "csp.js").is_file():
        return "dist"
    return None


def shim_renderings() -> dict[str, object] | None:
    how = shim_source()
    if how is None:
        return None
    node = shutil.which("node")
    assert node is not None
    lines = "\n".join(f"out[{json.dumps(name)}] = {js};" for name, (js, _) in CASES.items())
    with tempfile.TemporaryDirectory(prefix="shim-csp-") as tmp:
        work = Path(tmp)
        if how == "typescript":
            # The current source, transpiled as the shim's tsconfig would (CommonJS, interop),
            # next to the one policy file.
            transpile = (
                "const [, tsPath, srcPath, outPath] = process.argv;"
                "const ts = require(tsPath); const fs = require('fs');"
                "const src = fs.readFileSync(srcPath, 'utf8');"
                "const out = ts.transpileModule(src, {compilerOptions: {module: "
                "ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true,"
                " resolveJsonModule: true}});"
                "fs.writeFileSync(outPath, out.outputText);")
            subprocess.run([node, "-e", transpile, str(SHIM / "node_modules" / "typescript"),
                            str(SHIM / "src" / "csp.ts"), str(work / "csp.js")],
                           check=True, timeout=60, capture_output=True)
            shutil.copyfile(ROOT / "protocol" / "csp_policy.json", work / "csp_policy.json")
            module = work / "csp.js"
        else:
            module = SHIM / "dist" / "csp.js"
        script = work / "render.js"
        script.write_text(_NODE_MAIN % lines)
        res = subprocess.run([node, str(script), str(module)], check=True, timeout=60,
                             capture_output=True, text=True)
    rendered: dict[str, object] = json.loads(res.stdout)
    return rendered


def main() -> int:
    rendered = shim_renderings()
    if rendered is None:
        print("cannot run the shim's csp code (node + electron-shim/node_modules needed)",
              file=sys.stderr)
        return 1
    if "--write" in sys.argv:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(rendered, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {GOLDEN}")
    else:
        print(json.dumps(rendered, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
