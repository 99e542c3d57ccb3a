"""``media-sidecar list``: a project's items as the app's media panel would show them.

One rich table per ``-p`` project, with status badges, the counts by status, and the
"You have N unsaved items" banner; filters and paging map one to one onto
``listMediaItems``. ``--all`` follows ``nextCursor`` to the end. ``--json`` prints the raw
result (items, nextCursor, counts) plus ``projectId``; several projects give a JSON array.
"""

from __future__ import annotations

import argparse
from typing import Any

from protocol.vocabulary import ItemStatus, MediaType, SortKey, SortOrder
from sidecar.cli.attach import add_attach_args

STATUSES = tuple(ItemStatus)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("list", help="list a project's items (table, counts, banner)")
    add_attach_args(p)
    p.add_argument("-p", "--project", action="append", required=True,
                   help="project id (repeatable: one table each)")
    p.add_argument("--type", choices=list(MediaType))
    p.add_argument("--status", action="append", default=[], metavar="STATUS",
                   help=f"only these statuses ({', '.join(STATUSES)}; repeatable or "
                   "comma-separated)")
    p.add_argument("--text", help="only names containing this text")
    p.add_argument("--folder", help="only items in this folder")
    p.add_argument("--sort", choices=list(SortKey))
    p.add_argument("--order", choices=list(SortOrder))
    p.add_argument("--limit", type=int, help="items per page (1-500)")
    page = p.add_mutually_exclusive_group()
    page.add_argument("--cursor", help="continue from this nextCursor")
    page.add_argument("--all", action="store_true", help="follow nextCursor to the end")
    p.add_argument("--json", action="store_true", help="print the raw result")
    p.set_defaults(func=run)


def list_params(args: argparse.Namespace, project: str) -> dict[str, Any]:
    from sidecar.cli.runner import UsageError

    params: dict[str, Any] = {"projectId": project}
    statuses = [s.strip() for v in args.status for s in v.split(",") if s.strip()]
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise UsageError(f"unknown status {', '.join(bad)} (known: {', '.join(STATUSES)})")
    if statuses:
        params["status"] = statuses
    for key, value in (("type", args.type), ("text", args.text), ("folderId", args.folder),
                       ("sort", args.sort), ("order", args.order), ("limit", args.limit),
                       ("cursor", args.cursor)):
        if value is not None:
            params[key] = value
    return params


def run(args: argparse.Namespace) -> int:
    from sidecar.cli.attach import open_client
    from sidecar.cli.runner import run as run_body

    async def body() -> int:
        from sidecar.tools.console import render

        pages: list[dict[str, Any]] = []
        async with open_client(args) as c:
            for project in args.project:
                params = list_params(args, project)
                result = await c.call("listMediaItems", params)
                items = list(result.get("items") or [])
                while args.all and result.get("nextCursor"):
                    result = await c.call("listMediaItems",
                                          {**params, "cursor": result["nextCursor"]})
                    items.extend(result.get("items") or [])
                pages.append({"projectId": project, **result, "items": items})
        if args.json:
            render.print_json(pages[0] if len(pages) == 1 else pages)
            return 0
        out = render.console()
        for page in pages:
            project = page["projectId"]
            items = page["items"]
            counts = page.get("counts") or {}
            out.print(render.item_table(items, title=f"project {project}: "
                                        f"{len(items)} shown"))
            out.print(render.counts_text(counts))
            b = render.banner(counts, project)
            if b is not None:
                out.print(b)
            if page.get("nextCursor"):
                out.print(f"more: --cursor {page['nextCursor']}  (or --all)", style="dim",
                          markup=False)
            out.print()
        return 0

    return run_body(body)
