"""Human and machine output of the debugger: rich tables, status badges, the counts banner,
JSON for ``--json``.

Items arrive as the raw wire dicts (camelCase): the CLI prints what the sidecar said, so
a protocol change shows up here instead of being hidden by a model. Rich is imported by the
callers' ``run`` functions only, never at parser-build time.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from protocol.vocabulary import ItemStatus

# status → (symbol, style): the badges of the app's media panel.
BADGES: dict[str, tuple[str, str]] = {
    ItemStatus.SAVED: ("✓", "green"),
    ItemStatus.UNSAVED: ("!", "yellow"),
    ItemStatus.URL_ONLY: ("☁", "blue"),
    ItemStatus.EXPIRED: ("✗", "red"),
    ItemStatus.LOST: ("∅", "red"),
}
# the counts line, in this order (a status is also its counts key); lost only when there are any
STATUS_ORDER = (ItemStatus.SAVED, ItemStatus.UNSAVED, ItemStatus.URL_ONLY, ItemStatus.EXPIRED)


PIPE_WIDTH = 320


def console(*, stderr: bool = False, pipe_width: int = PIPE_WIDTH) -> Console:
    """A console on the current stdout/stderr (looked up now, so capture works in tests).
    Very wide when not a terminal, so that piped tables never wrap ids or paths (tables
    are only as wide as their content)."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else pipe_width
    return Console(file=stream, width=width, highlight=False, soft_wrap=False)


def _json_default(obj: object) -> object:
    if isinstance(obj, bytes | bytearray | memoryview):
        return {"$base64": base64.b64encode(bytes(obj)).decode()}
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dumps(obj: object, *, pretty: bool = True) -> str:
    """JSON text of a wire value (bytes become ``{"$base64": ...}``)."""
    if pretty:
        return json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def print_json(obj: object, *, pretty: bool = True) -> None:
    sys.stdout.write(dumps(obj, pretty=pretty) + "\n")
    sys.stdout.flush()


def badge(status: str) -> Text:
    symbol, style = BADGES.get(status, ("?", "magenta"))
    return Text(f"{symbol} {status}", style=style)


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def when(ms: object) -> str:
    if not isinstance(ms, int):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def _short(text: str | None, limit: int = 48) -> str:
    if not text:
        return "-"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def item_table(items: Sequence[Mapping[str, Any]], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    table.add_column("status", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("type", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("source URL / problem", overflow="fold")
    for it in items:
        err = it.get("storageError") or {}
        problem = ""
        if isinstance(err, Mapping) and err:
            problem = f"{err.get('errno') or err.get('errorType')}: {err.get('message')}"
        table.add_row(badge(str(it.get("status"))), str(it.get("name")), str(it.get("type")),
                      human_bytes(it.get("size")), str(it.get("id")), when(it.get("createdAt")),
                      Text(_short(problem, 80), style="yellow") if problem
                      else _short(it.get("sourceUrl"), 80))
    return table


def counts_text(counts: Mapping[str, Any]) -> Text:
    out = Text()
    lost = counts.get(ItemStatus.LOST)
    for status in (*STATUS_ORDER, ItemStatus.LOST) if lost else STATUS_ORDER:
        symbol, style = BADGES[status]
        out.append(f"{symbol} {status} {counts.get(status, 0)}", style=style)
        out.append("  ")
    out.append(f"total {counts.get('total', 0)}", style="bold")
    return out


def banner(counts: Mapping[str, Any], project: str) -> Text | None:
    """The app's "You have N unsaved items [Retry all]" banner, or None when there are none."""
    n = int(counts.get(ItemStatus.UNSAVED, 0) or 0)
    if n <= 0:
        return None
    noun = "item" if n == 1 else "items"
    return Text.assemble(
        (f"You have {n} unsaved {noun}", "bold yellow"),
        (f"  [Retry all: media-sidecar retry-all -p {project}]", "dim"),
    )


def item_grid(item: Mapping[str, Any]) -> Table:
    """One item, field by field (``get``)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("status", badge(str(item.get("status"))))
    for key in ("id", "projectId", "name", "type", "mimeType"):
        grid.add_row(key, str(item.get(key)))
    grid.add_row("size", human_bytes(item.get("size")))
    for key in ("sha256", "width", "height", "duration", "fps", "sourceUrl", "localPath"):
        if item.get(key) is not None:
            grid.add_row(key, str(item.get(key)))
    grid.add_row("durable", str(item.get("durable")))
    if item.get("folderIds"):
        grid.add_row("folders", ", ".join(map(str, item["folderIds"])))
    grid.add_row("created", when(item.get("createdAt")))
    grid.add_row("updated", when(item.get("updatedAt")))
    err = item.get("storageError")
    if isinstance(err, Mapping) and err:
        grid.add_row("storageError", Text(
            f"{err.get('errorType')} {err.get('errno') or ''} {err.get('message')} "
            f"({when(err.get('timestamp'))})", style="yellow"))
    if item.get("metadata"):
        grid.add_row("metadata", dumps(item["metadata"], pretty=False))
    return grid


def error_line(code: str, message: str, field: str | None = None) -> str:
    tail = f" (field: {field})" if field else ""
    return f"error: {code}: {message}{tail}"


def _item_summary(item: Mapping[str, Any]) -> Text:
    return Text.assemble(badge(str(item.get("status"))), " ",
                         (str(item.get("name")), "bold"),
                         f"  id={item.get('id')} project={item.get('projectId')}")


def event_text(ev: Mapping[str, Any]) -> Text:
    """One line per event (``watch``): time, seq, name, and what it says."""
    name = str(ev.get("event"))
    data = ev.get("data") or {}
    ts = ev.get("ts")
    stamp = time.strftime("%H:%M:%S", time.localtime(ts / 1000)) if isinstance(ts, int) else "-"
    line = Text(f"{stamp} #{ev.get('seq')} ", style="dim")
    line.append(f"{name:<20} ", style="bold cyan")
    item = data.get("item") if isinstance(data, Mapping) else None
    if isinstance(item, Mapping):
        line.append_text(_item_summary(item))
        err = data.get("error")
        if isinstance(err, Mapping) and err:
            line.append(f"  {err.get('errno') or err.get('errorType')}: {err.get('message')}",
                        style="yellow")
    elif name == "itemRemoved":
        line.append(f"id={data.get('id')} project={data.get('projectId')}")
    elif name == "downloadProgress":
        total = data.get("totalBytes")
        pct = (f" ({100 * data.get('bytesDone', 0) / total:.0f}%)"
               if isinstance(total, int) and total else "")
        line.append(f"id={data.get('id')} {human_bytes(data.get('bytesDone'))} of "
                    f"{human_bytes(total)}{pct} at {human_bytes(int(data.get('rateBps') or 0))}/s")
        if data.get("final"):
            line.append(f"  final: {data.get('outcome')}", style="bold")
    elif name == "storageStatusChanged":
        state = ("blocked" if data.get("blocked")
                 else "writable" if data.get("writable") else "not writable")
        line.append(state, style="red" if data.get("blocked") else "green")
        if data.get("reason"):
            line.append(f"  {data.get('reason')}")
    else:
        line.append(dumps(data, pretty=False))
    return line


def toast_text(ev: Mapping[str, Any]) -> Text | None:
    """What the app's toast would say for this event (None when it shows none)."""
    name = ev.get("event")
    data = ev.get("data") or {}
    item = data.get("item") if isinstance(data, Mapping) else None
    if not isinstance(item, Mapping):
        return None
    err = data.get("error") if isinstance(data.get("error"), Mapping) else {}
    why = f" ({err.get('errno') or err.get('errorType')}: {err.get('message')})" if err else ""
    if name == "itemUnsaved":
        return Text.assemble(("⚠ Media kept, not saved to disk yet", "bold yellow"),
                             f" — {item.get('name')}{why}  ", ("[Retry]", "bold"))
    if name == "itemUrlOnly":
        return Text.assemble(("☁ Storage is blocked: kept as a link only", "bold blue"),
                             f" — {item.get('name')}{why}  ", ("[Download later]", "bold"))
    if name == "itemExpired":
        return Text.assemble(("✗ The link has expired", "bold red"),
                             f" — {item.get('name')} can no longer be downloaded")
    if name == "itemSaved":
        return Text.assemble(("✓ Media saved", "bold green"), f" — {item.get('name')}")
    return None
