"""The Python side of the one Content-Security-Policy: ``csp_policy.json`` rendered exactly as
electron-shim's ``src/csp.ts`` renders it (``buildCsp``, ``cspHeaders``, ``cspMetaTag``).

Rules (kept identical to csp.ts; tests/cli compares the two outputs by running the shim's
code under node): directives in the data's order; ``"@fal"`` expands to ``falHosts``;
``"@media"`` to ``<mediaScheme>:`` (the scheme electron-shim's serveMedia answers; another
name with ``media_scheme="name"``, left out with ``media_scheme=False``); duplicate sources
dropped, first occurrence kept; ``embed`` adds each of ``embedDirectives`` with ``'self'``
and the FAL hosts; ``preset`` adds that preset's sources (``dev``: the inline preamble of a
Vite + React dev server); ``unsafe_eval`` adds
``'unsafe-eval'`` to script-src; extra sources are appended (never a whole scheme, never
``'unsafe-eval'``); ``report_uri`` sets report-uri (header only); the meta rendering drops
``metaUnsupported`` directives; a directive without sources renders as its bare name;
directives are joined with ``"; "``. Pure functions: nothing here installs anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

POLICY_FILE = Path(__file__).with_name("csp_policy.json")
FAL_TOKEN = "@fal"  # noqa: S105 (a policy token, not a secret)
MEDIA_TOKEN = "@media"  # noqa: S105 (a policy token, not a secret)
_SCHEME_NAME = re.compile(r"^[a-z][a-z0-9+.-]{0,31}$")
# Schemes naming far more than the media handler: never accepted as the media scheme.
_NOT_A_MEDIA_SCHEME = frozenset({"http", "https", "ws", "wss", "file", "ftp", "data", "blob",
                                 "filesystem", "javascript"})
_DIRECTIVE_NAME = re.compile(r"^[a-z][a-z-]*$")
_SOURCE_TOKEN = re.compile(r"^[^\s;,]+$")
_TOO_BROAD = frozenset({"*", "http:", "https:", "ws:", "wss:", "http://*", "https://*"})

Target = Literal["header", "meta"]


@dataclass(frozen=True)
class CspPolicy:
    fal_hosts: tuple[str, ...]
    directives: tuple[tuple[str, tuple[str, ...]], ...]
    media_scheme: str = "media-sidecar"
    presets: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = ()
    embed_directives: tuple[str, ...] = ()
    meta_unsupported: tuple[str, ...] = ()
    cross_origin: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CspOptions:
    embed: bool = False
    unsafe_eval: bool = False
    extra_sources: Mapping[str, Sequence[str]] = field(default_factory=dict)
    report_uri: str | None = None
    # True: the policy's mediaScheme; a name: that scheme; False: no media scheme.
    media_scheme: str | bool = True
    preset: str | None = None


def check_media_scheme(scheme: str) -> None:
    """A scheme the media handler may own (not http, https, file, ...: those name far more)."""
    if not isinstance(scheme, str) or not _SCHEME_NAME.match(scheme):
        raise TypeError(f"{json.dumps(scheme)} is not a URL scheme name")
    if scheme in _NOT_A_MEDIA_SCHEME:
        raise TypeError(f"{scheme}: is not the media handler's own scheme; name a custom one")


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise TypeError(f"policy.{what} must be a list of strings")
    return tuple(value)


def parse_policy(data: object) -> CspPolicy:
    """Check the shape of policy data, as csp.ts ``parsePolicy`` does."""
    if not isinstance(data, dict):
        raise TypeError("the policy must be an object")
    directives = data.get("directives")
    if not isinstance(directives, dict):
        raise TypeError("policy.directives must be an object")
    dirs: list[tuple[str, tuple[str, ...]]] = []
    for name, sources in directives.items():
        if not _DIRECTIVE_NAME.match(name):
            raise TypeError(f"bad directive name {json.dumps(name)}")
        dirs.append((name, _strings(sources, f"directives.{name}")))
    cross = data.get("crossOrigin") or {}
    if not isinstance(cross, dict):
        raise TypeError("policy.crossOrigin must be an object")
    co: list[tuple[str, str]] = []
    for k, v in cross.items():
        if not isinstance(v, str):
            raise TypeError(f"policy.crossOrigin.{k} must be a string")
        co.append((str(k), v))
    media_scheme = data.get("mediaScheme", "media-sidecar")
    if not isinstance(media_scheme, str):
        raise TypeError("policy.mediaScheme must be a string")
    check_media_scheme(media_scheme)
    presets_in = data.get("presets") or {}
    if not isinstance(presets_in, dict):
        raise TypeError("policy.presets must be an object")
    presets: list[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]] = []
    for preset, dirs_in in presets_in.items():
        if not isinstance(dirs_in, dict):
            raise TypeError(f"policy.presets.{preset} must be an object")
        pd: list[tuple[str, tuple[str, ...]]] = []
        for name, sources in dirs_in.items():
            if not _DIRECTIVE_NAME.match(name):
                raise TypeError(f"bad directive name {json.dumps(name)}")
            pd.append((name, _strings(sources, f"presets.{preset}.{name}")))
        presets.append((str(preset), tuple(pd)))
    return CspPolicy(
        fal_hosts=_strings(data.get("falHosts"), "falHosts"),
        directives=tuple(dirs),
        media_scheme=media_scheme,
        presets=tuple(presets),
        embed_directives=_strings(data.get("embedDirectives") or [], "embedDirectives"),
        meta_unsupported=_strings(data.get("metaUnsupported") or [], "metaUnsupported"),
        cross_origin=tuple(co),
    )


def load_policy(path: Path = POLICY_FILE) -> CspPolicy:
    """The policy shipped in ``protocol/csp_policy.json`` (or another file of that shape)."""
    return parse_policy(json.loads(path.read_text(encoding="utf-8")))


def _check_extra_source(directive: str, source: str) -> None:
    if not isinstance(source, str) or not _SOURCE_TOKEN.match(source):
        raise TypeError(f"{directive}: {json.dumps(source)} is not one source expression")
    if source.lower() in _TOO_BROAD:
        raise TypeError(f"{directive}: {source} would allow every host; name the hosts instead")
    if source.lower() == "'unsafe-eval'":
        raise TypeError("use the unsafe_eval option to allow 'unsafe-eval'")


def csp_directives(policy: CspPolicy, options: CspOptions | None = None,
                   target: Target = "header") -> dict[str, list[str]]:
    """The directives in order, sources expanded (``@fal`` → the FAL hosts), deduplicated."""
    opts = options or CspOptions()
    out: dict[str, list[str]] = {}
    scheme: str | None
    if opts.media_scheme is True:
        scheme = policy.media_scheme
    elif opts.media_scheme is False:
        scheme = None
    else:
        scheme = opts.media_scheme
        check_media_scheme(scheme)

    def expand(s: str) -> Sequence[str]:
        if s == FAL_TOKEN:
            return policy.fal_hosts
        if s == MEDIA_TOKEN:
            return () if scheme is None else (f"{scheme}:",)
        return (s,)

    def add(name: str, sources: Sequence[str]) -> None:
        lst = out.get(name, [])
        for s in sources:
            for src in expand(s):
                if src not in lst:
                    lst.append(src)
        out[name] = lst

    for name, sources in policy.directives:
        add(name, sources)
    if opts.embed:
        for name in policy.embed_directives:
            add(name, ("'self'", FAL_TOKEN))
    if opts.preset is not None:
        presets = dict(policy.presets)
        if opts.preset not in presets:
            known = ", ".join(presets) or "none"
            raise TypeError(f"no preset {json.dumps(opts.preset)} (the policy has: {known})")
        for name, sources in presets[opts.preset]:
            add(name, sources)
    if opts.unsafe_eval:
        add("script-src", ("'unsafe-eval'",))
    for name, extra in opts.extra_sources.items():
        if not _DIRECTIVE_NAME.match(name):
            raise TypeError(f"bad directive name {json.dumps(name)}")
        for s in extra:
            _check_extra_source(name, s)
        add(name, extra)
    if opts.report_uri is not None:
        if not _SOURCE_TOKEN.match(opts.report_uri):
            raise TypeError("report_uri must be one URL")
        out["report-uri"] = [opts.report_uri]
    if target == "meta":
        for name in policy.meta_unsupported:
            out.pop(name, None)
    return out


def build_csp(policy: CspPolicy | None = None, options: CspOptions | None = None,
              target: Target = "header") -> str:
    """The policy as one header value: ``default-src 'self'; script-src 'self'; ...``."""
    dirs = csp_directives(policy or load_policy(), options, target)
    return "; ".join(f"{name} {' '.join(srcs)}" if srcs else name for name, srcs in dirs.items())


def csp_headers(options: CspOptions | None = None, policy: CspPolicy | None = None, *,
                cross_origin_isolation: bool = False) -> dict[str, str]:
    """The headers for a document response: the CSP, plus COOP/COEP when asked for."""
    pol = policy or load_policy()
    headers = {"Content-Security-Policy": build_csp(pol, options)}
    if cross_origin_isolation:
        headers.update(dict(pol.cross_origin))
    return headers


def _escape_attribute(s: str) -> str:
    return (s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def csp_meta_tag(options: CspOptions | None = None, policy: CspPolicy | None = None) -> str:
    """``<meta http-equiv="Content-Security-Policy" content="...">`` for a page's ``<head>``
    (report-uri cannot be delivered by meta, so it is not taken)."""
    opts = options or CspOptions()
    if opts.report_uri is not None:
        opts = CspOptions(embed=opts.embed, unsafe_eval=opts.unsafe_eval,
                          extra_sources=opts.extra_sources, media_scheme=opts.media_scheme,
                          preset=opts.preset)
    content = build_csp(policy or load_policy(), opts, "meta")
    return f'<meta http-equiv="Content-Security-Policy" content="{_escape_attribute(content)}">'
