"""csp: one policy, rendered identically by protocol.csp (Python) and electron-shim (csp.ts).

The shim's own code is run under node (its TypeScript source transpiled, or its compiled
dist/) and the CLI's output is compared with what it renders. Without node or the shim's
code these tests skip, and under ``CI=true`` they fail: they cannot pass without it. The
golden renderings (made from the shim's code) are compared with Python's always, and with the
shim's output whenever it runs (a stale golden file fails).
"""

from __future__ import annotations

import json

import pytest

from protocol.csp import CspOptions, build_csp, load_policy
from tests.cli.conftest import CliFn
from tests.cli.shim_csp import GOLDEN, python_renderings, shim_renderings, shim_source
from tests.support import require


def golden() -> dict[str, object]:
    data: dict[str, object] = json.loads(GOLDEN.read_text())
    return data


def plain(value: object) -> object:
    return json.loads(json.dumps(value))


def test_python_renders_exactly_the_shims_golden_renderings() -> None:
    assert plain(python_renderings()) == golden()


@pytest.fixture(scope="module")
def shim() -> dict[str, object]:
    """The shim's own renderings, run under node (required: skip here, fail under CI)."""
    how = shim_source()
    require(how is not None, "node and electron-shim's code (npm ci in electron-shim/) to run "
            "the shim's csp.ts")
    rendered = shim_renderings()
    assert rendered is not None, f"the shim's code did not run (via {how})"
    return rendered


def test_python_renders_exactly_what_the_shims_code_renders(shim: dict[str, object]) -> None:
    assert plain(python_renderings()) == shim
    assert shim == golden(), "regenerate: python -m tests.cli.shim_csp --write"


def test_csp_header_is_the_shims_default_rendering(cli: CliFn, shim: dict[str, object]) -> None:
    r = cli("csp")
    assert r.code == 0
    assert r.out == f"{shim['header']}\n"
    assert ("media-src 'self' blob: data: media-sidecar: https://fal.media https://*.fal.media"
            in r.out)


def test_csp_meta_with_embed(cli: CliFn, shim: dict[str, object]) -> None:
    r = cli("csp", "--format", "meta", "--embed")
    assert r.out == f"{shim['meta-embed']}\n"
    assert "frame-ancestors" not in r.out  # a meta policy cannot carry it
    assert "frame-src 'self' https://fal.media https://*.fal.media" in r.out


def test_csp_json_has_directives_both_renderings_and_headers(
        cli: CliFn, shim: dict[str, object]) -> None:
    raw = cli("csp", "--format", "json", "--embed", "--cross-origin-isolation").json()
    assert raw["header"] == shim["header-embed"]
    assert raw["meta"] == shim["meta-embed"]
    assert raw["directives"] == shim["directives-embed"]
    assert raw["headers"]["Cross-Origin-Embedder-Policy"] == "credentialless"
    assert raw["headers"]["Content-Security-Policy"] == shim["header-embed"]
    isolated = shim["headers-isolated"]
    assert isinstance(isolated, dict)
    assert raw["headers"]["Cross-Origin-Embedder-Policy"] == \
        isolated["Cross-Origin-Embedder-Policy"]


def test_csp_options_match_the_shims(cli: CliFn, shim: dict[str, object]) -> None:
    r = cli("csp", "--unsafe-eval", "--report-uri", "https://report.example/csp",
            "--extra", "connect-src=ws://localhost:5173", "--extra", "connect-src='self'")
    assert r.code == 0, r.err
    assert r.out == f"{shim['header-options']}\n"


@pytest.mark.parametrize("extra", ["media-src=https:", "media-src=*", "script-src='unsafe-eval'",
                                   "media src=a.test", "media-src"])
def test_csp_refuses_broad_or_malformed_sources(cli: CliFn, extra: str) -> None:
    r = cli("csp", "--extra", extra)
    assert r.code == 2
    assert r.err.startswith("error:")


def directive(csp: str, name: str) -> list[str]:
    return next(d for d in csp.split("; ") if d.split()[0] == name).split()[1:]


def test_both_fal_hosts_are_listed_because_neither_matches_the_other() -> None:
    media = directive(build_csp(load_policy(), CspOptions()), "media-src")
    assert media == ["'self'", "blob:", "data:", "media-sidecar:", "https://fal.media",
                     "https://*.fal.media"]


def test_the_media_scheme_plays_and_is_fetchable_by_default(cli: CliFn, shim: dict[str, object]
                                                            ) -> None:
    out = cli("csp").out.strip()
    for name in ("media-src", "img-src", "connect-src"):
        assert "media-sidecar:" in directive(out, name), name
    assert "media-sidecar:" not in directive(out, "script-src")
    renamed = cli("csp", "--media-scheme", "app-media").out.strip()
    assert renamed == shim["header-scheme"]
    assert "app-media:" in directive(renamed, "media-src") and "media-sidecar:" not in renamed
    without = cli("csp", "--no-media-scheme").out.strip()
    assert without == shim["header-no-scheme"]
    assert "media-sidecar:" not in without


@pytest.mark.parametrize("scheme", ["https", "file", "data", "Bad Scheme", "1abc"])
def test_a_media_scheme_that_names_more_than_the_handler_is_refused(cli: CliFn, scheme: str
                                                                     ) -> None:
    r = cli("csp", "--media-scheme", scheme)
    assert r.code == 2
    assert r.err.startswith("error:")


def test_the_dev_preset_lets_inline_scripts_run_and_nothing_broader(cli: CliFn,
                                                                   shim: dict[str, object]
                                                                   ) -> None:
    r = cli("csp", "--preset", "dev")
    assert r.code == 0, r.err
    assert r.out.strip() == shim["header-dev"]
    script = directive(r.out.strip(), "script-src")
    assert script == ["'self'", "'unsafe-inline'"]
    for sources in (d.split()[1:] for d in r.out.strip().split("; ")):
        assert "https:" not in sources and "'unsafe-eval'" not in sources and "*" not in sources
    assert cli("csp", "--format", "meta", "--preset", "dev").out == f"{shim['meta-dev']}\n"
    unknown = cli("csp", "--preset", "prod")
    assert unknown.code == 2 and "no preset" in unknown.err
