"""``media-sidecar csp``: the app's Content-Security-Policy, rendered by ``protocol.csp`` (the
same rules as electron-shim's ``buildCsp`` / ``cspMetaTag`` / ``cspHeaders``).

Needs no sidecar. ``header`` prints the header value, ``meta`` the ``<meta>`` tag for the
web build's ``<head>``, ``json`` the directives, both renderings and the headers to set.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("csp", help="print the Content-Security-Policy (header, meta, json)")
    p.add_argument("--format", choices=["header", "meta", "json"], default="header")
    p.add_argument("--embed", action="store_true",
                   help="add child-src/frame-src for embedded FAL players")
    p.add_argument("--unsafe-eval", action="store_true",
                   help="add 'unsafe-eval' to script-src (only if the app needs it)")
    p.add_argument("--extra", action="append", default=[], metavar="DIRECTIVE=SOURCE",
                   help="one more source, e.g. connect-src=ws://localhost:5173 (repeatable)")
    p.add_argument("--report-uri", help="where violations are reported (header only)")
    p.add_argument("--media-scheme", metavar="NAME",
                   help="the scheme electron-shim's serveMedia answers (default: the policy's, "
                   "media-sidecar), put in media-src, img-src and connect-src")
    p.add_argument("--no-media-scheme", action="store_true",
                   help="leave the media scheme out (the app does not use serveMedia)")
    p.add_argument("--preset", help="add a preset's sources, e.g. dev (the inline preamble of "
                   "a Vite + React dev server)")
    p.add_argument("--cross-origin-isolation", action="store_true",
                   help="json: also the COOP/COEP headers")
    p.add_argument("--policy", type=Path, help="another policy file (default: the shipped "
                   "protocol/csp_policy.json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from protocol.csp import (
        POLICY_FILE,
        CspOptions,
        build_csp,
        csp_directives,
        csp_headers,
        csp_meta_tag,
        load_policy,
    )
    from sidecar.cli.runner import EXIT_USAGE, fail
    from sidecar.tools.console.render import print_json

    extra: dict[str, list[str]] = {}
    for entry in args.extra:
        name, sep, source = entry.partition("=")
        if not sep or not name or not source:
            fail(f"error: --extra wants DIRECTIVE=SOURCE, got {entry!r}")
            return EXIT_USAGE
        extra.setdefault(name, []).append(source)
    try:
        policy = load_policy(args.policy or POLICY_FILE)
        if args.no_media_scheme and args.media_scheme:
            fail("error: --media-scheme and --no-media-scheme contradict each other")
            return EXIT_USAGE
        media_scheme: str | bool = (False if args.no_media_scheme
                                    else args.media_scheme or True)
        opts = CspOptions(embed=args.embed, unsafe_eval=args.unsafe_eval, extra_sources=extra,
                          report_uri=args.report_uri, media_scheme=media_scheme,
                          preset=args.preset)
        if args.format == "header":
            print(build_csp(policy, opts))
        elif args.format == "meta":
            print(csp_meta_tag(opts, policy))
        else:
            print_json({
                "directives": csp_directives(policy, opts),
                "header": build_csp(policy, opts),
                "meta": csp_meta_tag(opts, policy),
                "headers": csp_headers(opts, policy,
                                       cross_origin_isolation=args.cross_origin_isolation),
            })
    except (OSError, ValueError, TypeError) as exc:
        fail(f"error: {exc}")
        return EXIT_USAGE
    return 0
