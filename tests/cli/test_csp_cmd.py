"""csp: one policy, rendered identically by protocol.csp (Python) and electron-shim (csp.ts).

The shim's own code is run under node when it can be (its TypeScript source transpiled, or
its compiled dist/); the golden renderings (made from the shim's code) are compared always.
"""

from __future__ import annotations

import json

import pytest

from protocol.csp import CspOptions, build_csp, load_policy
from tests.cli.conftest import CliFn
from tests.cli.shim_csp import GOLDEN, python_renderings, shim_renderings, shim_source


def golden() -> dict[str, object]:
    data: dict[str, object] = json.loads(GOLDEN.read_text())
    return data


def plain(value: object) -> object:
    return json.loads(json.dumps(value))


def test_python_renders_exactly_the_shims_golden_renderings() -> None:
    assert plain(python_renderings()) == golden()


def test_python_renders_exactly_what_the_shims_code_renders() -> None:
    how = shim_source()
    if how is None:
        # No node or no shim code on this machine: the golden renderings (made from the
        # shim's code, see tests/cli/shim_csp.py) were compared above; nothing more to run.
        assert golden()
        return
    rendered = shim_renderings()
    assert rendered is not None
    assert plain(python_renderings()) == rendered, f"via {how}"
    assert rendered == golden(), "regenerate: python -m tests.cli.shim_csp --write"


def test_csp_header_is_the_default_rendering(cli: CliFn) -> None:
    r = cli("csp")
    assert r.code == 0
    assert r.out == f"{golden()['header']}\n"
    assert ("media-src 'self' blob: data: media-sidecar: https://fal.media https://*.fal.media"
            in r.out)


def test_csp_meta_with_embed(cli: CliFn) -> None:
    r = cli("csp", "--format", "meta", "--embed")
    assert r.out == f"{golden()['meta-embed']}\n"
    assert "frame-ancestors" not in r.out  # a meta policy cannot carry it
    assert "frame-src 'self' https://fal.media https://*.fal.media" in r.out


def test_csp_json_has_directives_both_renderings_and_headers(cli: CliFn) -> None:
    raw = cli("csp", "--format", "json", "--embed", "--cross-origin-isolation").json()
    assert raw["header"] == golden()["header-embed"]
    assert raw["meta"] == golden()["meta-embed"]
    assert raw["directives"] == golden()["directives-embed"]
    assert raw["headers"]["Cross-Origin-Embedder-Policy"] == "credentialless"
    assert raw["headers"]["Content-Security-Policy"] == golden()["header-embed"]


def test_csp_options_match_the_shims(cli: CliFn) -> None:
    r = cli("csp", "--unsafe-eval", "--report-uri", "https://report.example/csp",
            "--extra", "connect-src=ws://localhost:5173", "--extra", "connect-src='self'")
    assert r.code == 0, r.err
    assert r.out == f"{golden()['header-options']}\n"


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


def test_the_media_scheme_plays_and_is_fetchable_by_default(cli: CliFn) -> None:
    out = cli("csp").out.strip()
    for name in ("media-src", "img-src", "connect-src"):
        assert "media-sidecar:" in directive(out, name), name
    assert "media-sidecar:" not in directive(out, "script-src")
    renamed = cli("csp", "--media-scheme", "app-media").out.strip()
    assert renamed == golden()["header-scheme"]
    assert "app-media:" in directive(renamed, "media-src") and "media-sidecar:" not in renamed
    without = cli("csp", "--no-media-scheme").out.strip()
    assert without == golden()["header-no-scheme"]
    assert "media-sidecar:" not in without


@pytest.mark.parametrize("scheme", ["https", "file", "data", "Bad Scheme", "1abc"])
def test_a_media_scheme_that_names_more_than_the_handler_is_refused(cli: CliFn, scheme: str
                                                                     ) -> None:
    r = cli("csp", "--media-scheme", scheme)
    assert r.code == 2
    assert r.err.startswith("error:")


def test_the_dev_preset_lets_inline_scripts_run_and_nothing_broader(cli: CliFn) -> None:
    r = cli("csp", "--preset", "dev")
    assert r.code == 0, r.err
    assert r.out.strip() == golden()["header-dev"]
    script = directive(r.out.strip(), "script-src")
    assert script == ["'self'", "'unsafe-inline'"]
    for sources in (d.split()[1:] for d in r.out.strip().split("; ")):
        assert "https:" not in sources and "'unsafe-eval'" not in sources and "*" not in sources
    assert cli("csp", "--format", "meta", "--preset", "dev").out == f"{golden()['meta-dev']}\n"
    unknown = cli("csp", "--preset", "prod")
    assert unknown.code == 2 and "no preset" in unknown.err
