"""Debugger commands that make items durable: ``retry``, ``retry-all``, ``download``,
``download-all`` (the app's Retry / Retry all / Download buttons).

Downloads draw rich progress bars (stderr) from ``downloadProgress`` events.
"""

from __future__ import annotations

import argparse
from typing import Any

from protocol.vocabulary import ItemStatus
from sidecar.cli.attach import add_attach_args

DOWNLOAD_TIMEOUT = 900.0  # a download with its retries may take minutes


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("retry", help="save an unsaved item again (retrySaveItem)")
    add_attach_args(p)
    p.add_argument("id")
    p.add_argument("-p", "--project", help="the item must belong to this project")
    p.add_argument("--json", action="store_true", help="print the raw result")
    p.set_defaults(func=run_retry)

    p = sub.add_parser("retry-all", help="retry every unsaved item of a project")
    add_attach_args(p)
    p.add_argument("-p", "--project", required=True)
    p.add_argument("--json", action="store_true", help="print the raw result")
    p.set_defaults(func=run_retry_all)

    p = sub.add_parser("download", help="download a urlOnly item and save it")
    add_attach_args(p, default_timeout=DOWNLOAD_TIMEOUT)
    p.add_argument("id")
    p.add_argument("-p", "--project", help="the item must belong to this project")
    p.add_argument("--json", action="store_true", help="print the raw result (no bars)")
    p.set_defaults(func=run_download)

    p = sub.add_parser("download-all", help="download every urlOnly item of a project")
    add_attach_args(p, default_timeout=DOWNLOAD_TIMEOUT)
    p.add_argument("-p", "--project", required=True)
    p.add_argument("--json", action="store_true", help="print the raw result (no bars)")
    p.set_defaults(func=run_download_all)


def _ref(args: argparse.Namespace) -> dict[str, Any]:
    ref: dict[str, Any] = {"id": args.id}
    if args.project:
        ref["projectId"] = args.project
    return ref


def print_summary(verb: str, project: str, result: dict[str, Any]) -> None:
    from rich.text import Text

    from sidecar.tools.console import render

    if not result.get("attempted"):
        what = "retry" if verb == "retried" else "download"
        render.console().print(f"nothing to {what} in project {project}")
        return
    parts = Text(f"{verb} {result.get('attempted', 0)} item(s) of project {project}: ")
    # a batch summary counts by status, under the status's own name
    for status in (ItemStatus.SAVED, ItemStatus.UNSAVED, ItemStatus.URL_ONLY, ItemStatus.EXPIRED):
        n = result.get(status, 0)
        if n:
            parts.append_text(render.badge(status))
            parts.append(f" {n}  ")
    if result.get("failed"):
        parts.append(f"failed {result['failed']}", style="red")
    render.console().print(parts)


def run_retry(args: argparse.Namespace) -> int:
    from sidecar.cli.items_cmds import print_item_outcome
    from sidecar.cli.runner import call_once

    return call_once(args, "retrySaveItem", _ref(args),
                     lambda r: print_item_outcome("retried", r))


def run_retry_all(args: argparse.Namespace) -> int:
    from sidecar.cli.runner import call_once

    return call_once(args, "retryAllUnsaved", {"projectId": args.project},
                     lambda r: print_summary("retried", args.project, r))


def run_download(args: argparse.Namespace) -> int:
    from sidecar.cli.attach import open_client
    from sidecar.cli.items_cmds import print_item_outcome
    from sidecar.cli.runner import run
    from sidecar.tools.console.progress import call_with_progress

    async def body() -> int:
        from sidecar.tools.console import render

        async with open_client(args) as c:
            names: dict[str, str] = {}
            if not args.json:
                got = await c.call("getMediaItem", _ref(args))
                names[args.id] = str((got.get("item") or {}).get("name") or args.id)
            result = await call_with_progress(c, "downloadUrlOnlyItem", _ref(args),
                                              project=args.project, names=names,
                                              only={args.id}, show=not args.json,
                                              timeout=args.timeout)
        if args.json:
            render.print_json(result)
        else:
            print_item_outcome("downloaded", result)
        return 0

    return run(body)


def run_download_all(args: argparse.Namespace) -> int:
    from sidecar.cli.attach import open_client
    from sidecar.cli.runner import run
    from sidecar.tools.console.progress import call_with_progress

    async def body() -> int:
        from sidecar.tools.console import render

        async with open_client(args) as c:
            names: dict[str, str] = {}
            if not args.json:
                listed = await c.call("listMediaItems", {
                    "projectId": args.project, "status": [ItemStatus.URL_ONLY], "limit": 500})
                names = {str(i.get("id")): str(i.get("name")) for i in listed.get("items", [])}
            result = await call_with_progress(c, "downloadAllUrlOnly",
                                              {"projectId": args.project},
                                              project=args.project, names=names,
                                              show=not args.json, timeout=args.timeout)
        if args.json:
            render.print_json(result)
        else:
            print_summary("downloaded", args.project, result)
        return 0

    return run(body)
