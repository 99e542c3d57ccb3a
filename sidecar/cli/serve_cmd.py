"""``media-sidecar serve``: start the sidecar (the launcher's entry point)."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from dataclasses import replace
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the sidecar server",
                       description="Bind, write the connection file, print one JSON ready "
                       "line on stdout, serve until shutdown. The secret comes from "
                       "MEDIA_SIDECAR_SECRET or stdin (--secret-stdin), never from argv.")
    p.add_argument("--data-dir", type=Path, help="library directory (default: platformdirs)")
    p.add_argument("--endpoint", help="bind here instead of the default ipc/tcp endpoint")
    p.add_argument("--transport", choices=["ipc", "tcp"], default="ipc",
                   help="default endpoint kind when --endpoint is not given")
    p.add_argument("--connection-file", type=Path, help="where to write the connection file")
    p.add_argument("--runtime-dir", type=Path, help="owner-only dir for sockets and files")
    p.add_argument("--secret-stdin", action="store_true",
                   help="read the secret from the first line of stdin")
    p.add_argument("--parent-pid", type=int, help="exit when this process dies")
    p.add_argument("--no-parent-watch", action="store_true",
                   help="standalone use: do not exit when the parent dies")
    p.add_argument("--enable-test-hooks", action="store_true",
                   help="serve the test-only testFault method (never in production)")
    p.add_argument("--import-root", type=Path, action="append", default=None,
                   help="a directory addMediaItem.sourcePath may read from (repeatable)")
    p.add_argument("--allow-host", action="append", default=None,
                   help="a download host (repeatable; default fal.media, *.fal.media)")
    p.add_argument("--max-frame-bytes", type=int)
    p.add_argument("--drain-timeout", type=float)
    p.add_argument("--log-level", default=os.environ.get("MEDIA_SIDECAR_LOG_LEVEL", "info"))
    p.set_defaults(func=run)


def build_settings(args: argparse.Namespace, env: dict[str, str]) -> object:
    from sidecar.fetch.config import FetchConfig
    from sidecar.settings import Settings, default_data_dir, secret_from, wire_overrides
    from sidecar.store.config import StoreConfig

    stdin_line = sys.stdin.readline() if args.secret_stdin else None
    store = StoreConfig.from_env(env)
    if args.import_root:
        store = replace(store, import_roots=tuple(r.resolve() for r in args.import_root))
    fetch = FetchConfig.from_env(env)
    if args.allow_host:
        fetch = replace(fetch, allowed_hosts=tuple(args.allow_host))
    kw: dict[str, object] = {}
    if args.runtime_dir:
        kw["runtime_dir"] = args.runtime_dir.resolve()
    if args.max_frame_bytes:
        kw["max_frame_bytes"] = args.max_frame_bytes
    if args.drain_timeout is not None:
        kw["drain_timeout"] = args.drain_timeout
    kw.update(wire_overrides(env))
    data_dir = args.data_dir or (Path(env["MEDIA_SIDECAR_DATA_DIR"])
                                 if env.get("MEDIA_SIDECAR_DATA_DIR") else default_data_dir())
    return Settings(
        data_dir=data_dir.resolve(),
        secret=secret_from(env, stdin_line),
        endpoint=args.endpoint,
        transport=args.transport,
        connection_file=(Path(os.path.abspath(args.connection_file))
                         if args.connection_file else None),
        parent_pid=args.parent_pid,
        watch_parent=not args.no_parent_watch,
        enable_test_hooks=args.enable_test_hooks,
        store=store,
        fetch=fetch,
        **kw,  # type: ignore[arg-type]
    )


def run(args: argparse.Namespace) -> int:
    original_ppid = os.getppid()  # the launcher, read before anything slow
    # Start-up builds hundreds of thousands of long-lived objects (pydantic models, schemas)
    # and no garbage: cyclic GC passes over them are pure cost (about a third of the
    # start-up time). ``sidecar.app`` re-enables it, frozen, once the ready line is out.
    gc.disable()
    import asyncio

    from sidecar import logs
    from sidecar.lifecycle import StartRefused
    from sidecar.settings import Settings, scrub_secret_from_environ

    logs.setup(args.log_level)
    settings = build_settings(args, dict(os.environ))
    assert isinstance(settings, Settings)
    settings = replace(settings, original_ppid=original_ppid)
    scrub_secret_from_environ()
    from sidecar.app import run as run_app
    from sidecar.loop import loop_factory
    from sidecar.portable.process import prepare_event_loop

    prepare_event_loop()
    factory, _ = loop_factory(os.environ)
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(run_app(settings))
    except StartRefused as exc:
        print(f"media-sidecar: {exc}", file=sys.stderr)
        return 3
