"""Debugger commands on one item: ``add``, ``get``, ``remove``.

``add SOURCE`` decides where the bytes come from:

- ``-``: stdin, sent inline (binary payload frames);
- an ``http(s)://`` URL: registered URL-only (``sourceUrl``), or downloaded by the sidecar
  with ``--download`` (progress bars from ``downloadProgress`` events);
- a file path: sent as ``sourcePath`` first, so that the sidecar reads (and streams) the file
  itself and nothing is copied over the socket; when the sidecar answers
  ``path_not_allowed`` (the file is not under one of its import roots) the bytes are sent
  inline instead, and a note says so on stderr. ``--inline`` always sends bytes,
  ``--by-path`` never falls back.
"""

from __future__ import annotations

import argparse
import asyncio
import mimetypes
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from protocol.vocabulary import ItemStatus, MediaType
from sidecar.cli.attach import add_attach_args

if TYPE_CHECKING:
    from sidecar.client import Client

INLINE_CHUNK = 16 * 1024 * 1024
ADD_HELP = """Where the bytes come from:
  -             stdin, sent inline (binary payload frames)
  https://...   registered URL-only (sourceUrl); with --download the sidecar downloads it
                (progress bars from downloadProgress events)
  a file path   sent as sourcePath first: the sidecar reads the file itself, nothing is
                copied over the socket; if the sidecar answers path_not_allowed (not under
                one of its --import-root dirs) the bytes are sent inline instead, with a
                note on stderr. --inline always sends bytes; --by-path never falls back."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("add", help="add a media item (file, '-' for stdin, or a URL)",
                       description=ADD_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_attach_args(p, default_timeout=900.0)  # --download may take minutes
    p.add_argument("source", help="a file path, '-' (stdin), or an https:// URL")
    p.add_argument("-p", "--project", required=True, help="the project it belongs to")
    p.add_argument("--name", help="display name (default: the file or URL's base name)")
    p.add_argument("--type", choices=list(MediaType),
                   help="media type (default: guessed from the MIME type)")
    p.add_argument("--mime", help="MIME type (default: guessed from the name)")
    p.add_argument("--id", help="client-chosen item id (repeating an add is idempotent)")
    p.add_argument("--folder", action="append", default=[], help="folder id (repeatable)")
    p.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                   help="metadata entry (repeatable; VALUE is JSON if it parses, else text)")
    p.add_argument("--download", action="store_true",
                   help="URL source: the sidecar downloads it now (else URL-only)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--inline", action="store_true", help="file source: send the bytes")
    how.add_argument("--by-path", action="store_true",
                     help="file source: send only the path (no inline fallback)")
    p.add_argument("--json", action="store_true", help="print the raw result")
    p.set_defaults(func=run_add)

    p = sub.add_parser("get", help="show one item")
    add_attach_args(p)
    p.add_argument("id")
    p.add_argument("-p", "--project", help="the item must belong to this project")
    p.add_argument("--json", action="store_true", help="print the raw result")
    p.set_defaults(func=run_get)

    p = sub.add_parser("remove", help="remove one item (its bytes unless shared)")
    add_attach_args(p)
    p.add_argument("id")
    p.add_argument("-p", "--project", help="the item must belong to this project")
    p.add_argument("--json", action="store_true", help="print the raw result")
    p.set_defaults(func=run_remove)


# -- add -----------------------------------------------------------------------------------

def is_url(source: str) -> bool:
    return source.startswith(("https://", "http://"))


def guess_type(name: str, mime: str | None) -> tuple[str | None, str | None]:
    """(mime type, media type) from an explicit MIME type or the name's extension."""
    mime = mime or mimetypes.guess_type(name)[0]
    if mime is None and name.lower().endswith(".webm"):
        mime = "video/webm"
    kind = mime.split("/", 1)[0] if mime else None
    return mime, kind if kind in set(MediaType) else None


def _meta(entries: list[str]) -> dict[str, object]:
    import json

    from sidecar.cli.runner import UsageError

    out: dict[str, object] = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if not sep or not key:
            raise UsageError(f"--meta wants KEY=VALUE, got {entry!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def base_params(args: argparse.Namespace, default_name: str) -> dict[str, Any]:
    from sidecar.cli.runner import UsageError

    name = args.name or default_name or "untitled"
    mime, kind = guess_type(name, args.mime)
    kind = args.type or kind
    if kind is None:
        raise UsageError(f"cannot tell the media type of {name!r}: pass --type "
                         "video|image|audio (or --mime)")
    params: dict[str, Any] = {"projectId": args.project, "name": name, "type": kind}
    if mime:
        params["mimeType"] = mime
    if args.id:
        params["id"] = args.id
    if args.folder:
        params["folderIds"] = list(args.folder)
    meta = _meta(args.meta)
    if meta:
        params["metadata"] = meta
    return params


def chunks(data: bytes, limit: int) -> list[bytes]:
    size = max(1, min(INLINE_CHUNK, limit))
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


async def add_inline(client: Client, params: dict[str, Any], data: bytes,
                     timeout: float) -> dict[str, Any]:
    from sidecar.cli.runner import UsageError

    limits = (client.hello_result or {}).get("limits") or {}
    frames = chunks(data, int(limits.get("maxFrameBytes") or INLINE_CHUNK))
    max_frames = int(limits.get("maxFrames") or 64)
    if len(frames) > max_frames:
        raise UsageError(f"{len(data)} bytes do not fit in {max_frames} frames of this "
                         "sidecar; put the file under an import root and add it by path")
    return await client.call("addMediaItem", params, frames, timeout=timeout)


async def do_add(client: Client, args: argparse.Namespace) -> dict[str, Any]:
    from sidecar.cli.runner import fail
    from sidecar.client import RemoteError
    from sidecar.tools.console.progress import call_with_progress

    source: str = args.source
    if source == "-":
        return await add_inline(client, base_params(args, "stdin"),
                                sys.stdin.buffer.read(), args.timeout)
    if is_url(source):
        from urllib.parse import unquote, urlsplit

        params = base_params(args, unquote(Path(urlsplit(source).path).name))
        params["sourceUrl"] = source
        if not args.download:
            return await client.call("addMediaItem", params, timeout=args.timeout)
        params["download"] = True
        params.setdefault("id", f"cli-{uuid.uuid4().hex[:16]}")
        return await call_with_progress(client, "addMediaItem", params,
                                        project=args.project, only={params["id"]},
                                        names={params["id"]: params["name"]},
                                        show=not args.json, timeout=args.timeout)
    path = await asyncio.to_thread(_existing_file, source)
    params = base_params(args, path.name)
    if not args.inline:
        try:
            return await client.call("addMediaItem", {**params, "sourcePath": str(path)},
                                     timeout=args.timeout)
        except RemoteError as exc:
            if exc.code != "path_not_allowed" or args.by_path:
                raise
            fail(f"note: {path} is not under the sidecar's import roots ({exc.message}); "
                 "sending its bytes inline instead")
    return await add_inline(client, params, await asyncio.to_thread(path.read_bytes),
                            args.timeout)


def _existing_file(source: str) -> Path:
    from sidecar.cli.runner import UsageError

    path = Path(source).expanduser()
    if not path.is_file():
        raise UsageError(f"no such file: {source}")
    return path.resolve()


def print_item_outcome(verb: str, result: dict[str, Any]) -> None:
    from rich.text import Text

    from sidecar.tools.console import render

    item = result.get("item") or {}
    out = render.console()
    line = Text.assemble(render.badge(str(item.get("status"))), " ",
                         (str(item.get("name")), "bold"),
                         f"  {verb}  id={item.get('id')} project={item.get('projectId')}")
    if result.get("created") is False:
        line.append("  (already there: nothing changed)", style="dim")
    out.print(line)
    err = item.get("storageError")
    if isinstance(err, dict):
        out.print(Text(f"  not durable: {err.get('errorType')} {err.get('errno') or ''} "
                       f"{err.get('message')}", style="yellow"))
    status = item.get("status")
    if status == ItemStatus.UNSAVED:
        out.print(f"  the sidecar holds the bytes; retry with: media-sidecar retry "
                  f"{item.get('id')}")
    elif status == ItemStatus.URL_ONLY:
        out.print(f"  playable from its URL; save it later with: media-sidecar download "
                  f"{item.get('id')}")


def run_add(args: argparse.Namespace) -> int:
    from sidecar.cli.attach import open_client
    from sidecar.cli.runner import run

    async def body() -> int:
        from sidecar.tools.console import render

        async with open_client(args) as c:
            result = await do_add(c, args)
        if args.json:
            render.print_json(result)
        else:
            print_item_outcome("added", result)
        return 0

    return run(body)


# -- get / remove --------------------------------------------------------------------------

def _ref(args: argparse.Namespace) -> dict[str, Any]:
    ref: dict[str, Any] = {"id": args.id}
    if args.project:
        ref["projectId"] = args.project
    return ref


def run_get(args: argparse.Namespace) -> int:
    from sidecar.cli.runner import call_once
    from sidecar.tools.console import render

    return call_once(args, "getMediaItem", _ref(args),
                     lambda r: render.console().print(render.item_grid(r.get("item") or {})))


def run_remove(args: argparse.Namespace) -> int:
    from sidecar.cli.runner import call_once
    from sidecar.tools.console import render

    def show(result: dict[str, Any]) -> None:
        what = "removed" if result.get("removed") else "was not there"
        blob = ("its bytes were deleted" if result.get("blobDeleted")
                else "no bytes deleted (none, or shared with another item)")
        render.console().print(f"{result.get('id')} {what}; {blob}")

    return call_once(args, "removeMediaItem", _ref(args), show)
