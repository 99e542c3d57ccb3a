"""``media-sidecar serve``: start the sidecar (the launcher's entry point).

Its options are generated from the settings' declarations (``sidecar.setting``), and so is
the table of every setting at the end of ``--help``. A bad value (a flag or a variable) is
refused before anything starts: one line on stderr, exit status 2, no ready line.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import textwrap
from dataclasses import replace
from typing import Any

EXIT_BAD_SETTING = 2
SETTINGS_TABLE = "(the table of every setting)"  # the epilog, replaced when help is shown


class _HelpWithSettings(argparse.RawDescriptionHelpFormatter):
    """Ends ``serve --help`` with the table of every setting, built only when help is shown
    (building it at every start would cost the sidecar's start-up time)."""

    def add_text(self, text: str | None) -> None:
        if text is SETTINGS_TABLE:
            from sidecar.settings_doc import help_table

            text = help_table()
        super().add_text(text)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from sidecar.fetch.config import FetchConfig
    from sidecar.setting import add_flags
    from sidecar.settings import Settings
    from sidecar.store.config import StoreConfig

    p = sub.add_parser("serve", help="run the sidecar server",
                       formatter_class=_HelpWithSettings,
                       description=textwrap.fill(
                           "Bind, write the connection file, print one JSON ready line on "
                           "stdout, serve until shutdown. The secret comes from "
                           "MEDIA_SIDECAR_SECRET or stdin (--secret-stdin), never from argv. "
                           "Options override variables; a bad value exits 2 with one line.",
                           78),
                       epilog=SETTINGS_TABLE)
    p.add_argument("--secret-stdin", action="store_true",
                   help="read the secret from the first line of stdin")
    add_flags(p, Settings, StoreConfig, FetchConfig)
    p.set_defaults(func=run)


def build_settings(args: argparse.Namespace, env: dict[str, str]) -> object:
    """Defaults, then the environment, then the options; ``SettingError`` if one is bad."""
    from sidecar.fetch.config import FetchConfig
    from sidecar.setting import env_values, flag_values
    from sidecar.settings import Settings, default_data_dir, secret_from
    from sidecar.store.config import StoreConfig

    def values(cls: type) -> dict[str, Any]:
        return {**env_values(cls, env), **flag_values(cls, args)}

    store = StoreConfig(**values(StoreConfig))
    fetch = FetchConfig(**values(FetchConfig))
    fetch.validate()
    top = values(Settings)
    if "data_dir" not in top:  # not setdefault: the default is looked up only when needed
        top["data_dir"] = default_data_dir().resolve()
    stdin_line = sys.stdin.readline() if args.secret_stdin else None
    return Settings(secret=secret_from(env, stdin_line), store=store, fetch=fetch, **top)


def run(args: argparse.Namespace) -> int:
    original_ppid = os.getppid()  # the launcher, read before anything slow
    # Start-up builds hundreds of thousands of long-lived objects (pydantic models, schemas)
    # and no garbage: cyclic GC passes over them are pure cost (about a third of the
    # start-up time). ``sidecar.app`` re-enables it, frozen, once the ready line is out.
    gc.disable()
    import asyncio

    from sidecar import logs
    from sidecar.lifecycle import StartRefused
    from sidecar.setting import SettingError
    from sidecar.settings import Settings, scrub_secret_from_environ

    try:
        settings = build_settings(args, dict(os.environ))
    except SettingError as exc:
        print(f"media-sidecar: invalid setting: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTING
    assert isinstance(settings, Settings)
    logs.setup(settings.log_level)
    settings = replace(settings, original_ppid=original_ppid)
    scrub_secret_from_environ()
    from sidecar.app import run as run_app
    from sidecar.loop import loop_factory
    from sidecar.portable.process import prepare_event_loop

    prepare_event_loop()
    factory = loop_factory(settings.event_loop)
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(run_app(settings))
    except StartRefused as exc:
        print(f"media-sidecar: {exc}", file=sys.stderr)
        return 3
