"""The mission tour (``media-sidecar demo``, ``make demo``): every promise of media-sidecar
shown once, for real, on loopback, in well under a minute, with no question asked.

Setting the stage starts a FAL-like HTTPS host (``falserver``), a data dir that can really
fail (``storage``) and a sidecar launched like electron-shim launches it (``launcher``).
Then, step by step: a generated video is downloaded and saved; the disk fills and a new
item stays listed as unsaved (with the event a toast shows) until Retry saves it; storage
is blocked and a new video is kept as a link, downloaded later; an expired link is marked
expired; the library is listed by project with its counts; the CSP the shim installs.

Each step checks what the sidecar answered; the first surprise stops the tour with what
went wrong, and the exit status is 1. Everything started is stopped and removed on the way
out (Ctrl-C and failures included).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from protocol.vocabulary import ByteLocation, ErrorType, ItemStatus, MediaType, SortKey, SortOrder
from sidecar.client import Client, RemoteError
from sidecar.tools.console import render
from sidecar.tools.demo.eventlog import EventLog
from sidecar.tools.demo.falserver import FakeFal
from sidecar.tools.demo.launcher import Launched, LaunchError, launch
from sidecar.tools.demo.storage import Disk, StorageSetupError, choose_disk
from sidecar.tools.demo.videos import make_clip

PROJECT = "my-film"
OTHER_PROJECT = "other-film"
CALL_TIMEOUT = 30.0


class StepFailed(Exception):
    """A step did not behave as promised; the message says how."""


class Tour:
    def __init__(self, out: Console, *, simulate: bool, keep: bool) -> None:
        self.out = out
        self.simulate = simulate
        self.keep = keep
        self.workdir = Path(tempfile.mkdtemp(prefix="media-sidecar-demo-"))
        self.fal = FakeFal()
        self.disk: Disk | None = None
        self.sidecar: Launched | None = None
        self.app: Client | None = None
        self.listener: Client | None = None
        self.events: EventLog | None = None
        self.steps_ok = 0
        self.clips: dict[str, bytes] = {}

    # output --------------------------------------------------------------------------------
    def heading(self, title: str, why: str) -> None:
        self.out.print()
        self.out.print(Rule(Text(title, style="bold"), align="left", style="cyan"))
        self.out.print(Text(why, style="italic"))

    def _line(self, marker: Text, text: str | Text) -> None:
        # A two-column grid keeps wrapped lines indented under their text.
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, width=3, justify="right")
        grid.add_column()
        grid.add_row(marker, text if isinstance(text, Text) else Text(text))
        self.out.print(grid)

    def say(self, text: str | Text) -> None:
        self._line(Text("→"), text)

    def ok(self, what: str) -> None:
        self._line(Text("✓", style="green"), Text(what, style="green"))

    def check(self, cond: bool, what: str, got: object = None) -> None:
        if cond:
            self.ok(what)
            return
        detail = "" if got is None else f" (got: {got})"
        self._line(Text("✗", style="bold red"), Text(f"expected: {what}{detail}",
                                                     style="bold red"))
        raise StepFailed(f"{what}{detail}")

    def toast(self, ev: dict[str, Any] | None) -> None:
        t = render.toast_text(ev) if ev is not None else None
        if t is not None:
            self.out.print(Panel(t, title="what the app's toast shows", title_align="left",
                                 expand=False, border_style="dim"))

    # plumbing ------------------------------------------------------------------------------
    @property
    def c(self) -> Client:
        assert self.app is not None
        return self.app

    @property
    def ev(self) -> EventLog:
        assert self.events is not None
        return self.events

    async def call(self, method: str, params: dict[str, Any],
                   payloads: tuple[bytes, ...] = ()) -> dict[str, Any]:
        return await self.c.call(method, params, payloads, timeout=CALL_TIMEOUT)

    async def with_progress(self, method: str, params: dict[str, Any], item_id: str,
                            name: str) -> dict[str, Any]:
        from sidecar.tools.console.progress import call_with_progress

        return await call_with_progress(self.c, method, params, project=PROJECT,
                                        names={item_id: name}, only={item_id},
                                        timeout=CALL_TIMEOUT, console=self.out)

    async def listing(self, project: str, **filters: Any) -> dict[str, Any]:
        return await self.call("listMediaItems", {"projectId": project, "sort": SortKey.CREATED_AT,
                                                  "order": SortOrder.ASC, **filters})

    def show_list(self, project: str, page: dict[str, Any]) -> None:
        items = page.get("items") or []
        counts = page.get("counts") or {}
        self.out.print(render.item_table(items, title=f"  project {project}"))
        self.out.print(Text("  ") + render.counts_text(counts))
        b = render.banner(counts, project)
        if b is not None:
            self.out.print(Text("  ") + b)

    def clip(self, label: str) -> bytes:
        data, how = make_clip(label)
        self.clips[label] = data
        self.clip_how = how
        return data

    async def plays(self, item_id: str, data: bytes, where: ByteLocation) -> None:
        """What the shim's media-sidecar:// handler does for a <video>: ask where the bytes
        are, then read a range from the middle (a seek) and check it is the clip's."""
        src = await self.call("getMediaSource", {"projectId": PROJECT, "id": item_id})
        self.check(src.get("mimeType") == "video/mp4",
                   f"its type was sniffed from the bytes: {src.get('mimeType')}", src)
        self.check(src.get("bytes") == where,
                   f"getMediaSource says where its bytes are: {where}", src.get("bytes"))
        mid = len(data) // 2
        res, got = await self.c.read_range(PROJECT, item_id, mid, 4096, timeout=CALL_TIMEOUT)
        self.check(got == data[mid:mid + 4096] and res.get("size") == len(data),
                   f"a seek to the middle reads exactly the clip's bytes (readMediaRange "
                   f"{mid}+{len(got)}): <video src=\"media-sidecar://item/{PROJECT}/{item_id}\"> "
                   "plays and seeks")

    # the tour --------------------------------------------------------------------------------
    async def run(self) -> None:
        started = time.monotonic()
        steps = (self.stage, self.step_generate, self.step_disk_full, self.step_retry,
                 self.step_blocked, self.step_download_later, self.step_expired,
                 self.step_projects, self.step_csp)
        for step in steps:
            await step()
            self.steps_ok += 1
        self.out.print()
        self.out.print(Rule(style="green"))
        self.out.print(Text(f"✓ All {len(steps) - 1} steps behaved as promised "
                            f"({time.monotonic() - started:.1f} s). Nothing was lost.",
                            style="bold green"))

    async def stage(self) -> None:
        self.heading("Setting the stage",
                     "A fake FAL media host, a data dir that can really fail, and a sidecar "
                     "started the way the Electron shim starts it. Everything stays on this "
                     "machine (loopback) and is removed at the end.")
        data_dir = self.workdir / "library"
        self.disk = await asyncio.to_thread(choose_disk, data_dir, simulate=self.simulate)
        self.say(Text(self.disk.how(), style="bold" if self.disk.real else "bold yellow"))
        await asyncio.to_thread(self.fal.start, self.workdir)
        self.say(f"fake FAL host on https://127.0.0.1:{self.fal.port}, answering as "
                 "fal.media and *.fal.media with a TLS certificate from a throw-away CA made "
                 "just now")
        env = {
            **self.fal.sidecar_env(),
            "MEDIA_SIDECAR_SPILL_DIR": str(self.workdir / "spill"),
            # The background retrier would fix things before you see them; the app's
            # Retry and Download buttons are shown by hand instead.
            "MEDIA_SIDECAR_AUTO_RETRY": "0",
            "MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS": "2",
            "MEDIA_SIDECAR_DOWNLOAD_BACKOFF_BASE": "0.1",
            "MEDIA_SIDECAR_LOG_LEVEL": "info",
        }
        self.say("sidecar settings: MEDIA_SIDECAR_HOST_RESOLVER_RULES="
                 f"\"{env['MEDIA_SIDECAR_HOST_RESOLVER_RULES']}\", MEDIA_SIDECAR_CA_FILE="
                 "<that CA>, MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES=1, background retry off")
        try:
            self.sidecar = await asyncio.to_thread(
                launch, data_dir, self.workdir / "run", self.workdir / "sidecar.log",
                env=env, extra_args=self.disk.sidecar_args)
        except LaunchError as exc:
            raise StepFailed(str(exc)) from exc
        r = self.sidecar.ready
        self.say(f"started `python -m sidecar serve` (secret by environment); its ready "
                 f"line: pid {r.get('pid')}, endpoint {r.get('endpoint')}")
        self.app = await Client.connect(self.sidecar.connection_file,
                                        client_name="demo-app", timeout=CALL_TIMEOUT)
        hello = self.app.hello_result or {}
        self.check(hello.get("protocol", "").split(".")[0] == "1",
                   f"hello: protocol {hello.get('protocol')}, "
                   f"{len(hello.get('methods') or [])} methods, session "
                   f"{str(hello.get('session'))[:8]}…", hello)
        self.listener = await Client.connect(self.sidecar.connection_file,
                                             client_name="demo-toasts", timeout=CALL_TIMEOUT)
        self.events = EventLog(self.listener)
        await self.events.start()
        self.ok("a second connection listens to every event, as the app's window would")

    async def step_generate(self) -> None:
        self.heading("Step 1 · A video is generated and saved from its FAL URL",
                     "FAL finished a generation and answers with a URL. The app asks the "
                     "sidecar to download it: the bytes stream to disk with progress events, "
                     "and the item is saved with its URL kept.")
        data = self.clip("a red fox running through snow")
        url = self.fal.publish("/files/demo/fox.mp4", data)
        self.say(f"FAL generated {url} ({render.human_bytes(len(data))}, {self.clip_how})")
        mark = self.ev.mark()
        params = {"id": "fox", "projectId": PROJECT, "name": "fox.mp4", "type": MediaType.VIDEO,
                  "sourceUrl": url, "download": True,
                  "metadata": {"model": "fal-ai/ltx-video", "prompt": "a red fox in snow"}}
        self.say("addMediaItem {sourceUrl, download: true}")
        res = await self.with_progress("addMediaItem", params, "fox", "fox.mp4")
        item = res["item"]
        self.check(item["status"] == ItemStatus.SAVED and res["durable"], "saved and durable",
                   item["status"])
        self.check(item.get("sha256") == hashlib.sha256(data).hexdigest(),
                   "the bytes on disk are exactly FAL's (sha256 matches)")
        self.check(item.get("sourceUrl") == url, "the FAL URL is kept with the item")
        hits = self.fal.hits("/files/demo/fox.mp4")
        self.check(any(h.host.startswith("v3.fal.media") for h in hits),
                   "the sidecar fetched it as v3.fal.media (TLS verified against the CA)",
                   [h.host for h in hits])
        saved = await self.ev.wait("itemSaved", since=mark, item_id="fox")
        self.check(saved is not None, "itemSaved event received")
        await self.plays("fox", data, ByteLocation.FILE)
        self.show_list(PROJECT, await self.listing(PROJECT))

    async def step_disk_full(self) -> None:
        assert self.disk is not None
        self.heading("Step 2 · The disk fills up: the new item is kept, marked unsaved",
                     "The app hands the sidecar a clip it rendered itself (bytes, no URL to "
                     "fall back on) while the disk is full. The old code rolled the item back "
                     "and it vanished; the sidecar keeps it listed, holds its bytes, and says so.")
        self.say(await self.disk.fill(self.c))
        data = self.clip("fox edit, color graded")
        mark = self.ev.mark()
        self.say(f"addMediaItem with {render.human_bytes(len(data))} of inline bytes "
                 "(a binary frame)")
        res = await self.call("addMediaItem", {"id": "fox-edit", "projectId": PROJECT,
                                               "name": "fox-edit.mp4", "type": MediaType.VIDEO,
                                               "mimeType": "video/mp4"}, (data,))
        item = res["item"]
        err = item.get("storageError") or {}
        self.check(item["status"] == ItemStatus.UNSAVED and not res["durable"],
                   "the reply says unsaved, honestly (not durable)", item["status"])
        self.check(err.get("errno") == "ENOSPC",
                   f"the error is the disk's: {err.get('errno')} ({err.get('message')})", err)
        self.check(item.get("metadata", {}).get("unsaved") is True,
                   "the seeds' flag metadata.unsaved is set too")
        ev = await self.ev.wait("itemUnsaved", since=mark, item_id="fox-edit")
        self.check(ev is not None, "itemUnsaved event received (the app shows a toast)")
        self.toast(ev)
        self.say("unsaved is still playable: the sidecar serves the bytes it holds")
        await self.plays("fox-edit", data, ByteLocation.MEMORY)
        page = await self.listing(PROJECT)
        counts = page["counts"]
        self.check(counts.get("unsaved") == 1 and any(i["id"] == "fox-edit"
                                                      for i in page["items"]),
                   "still listed, and counted for the banner", counts)
        self.show_list(PROJECT, page)

    async def step_retry(self) -> None:
        assert self.disk is not None
        self.heading("Step 3 · Space returns: Retry saves it",
                     "The sidecar kept the bytes, so the app's [Retry] (or [Retry all]) "
                     "button just works once there is room again.")
        self.say(await self.disk.free(self.c))
        mark = self.ev.mark()
        self.say("retrySaveItem {id: fox-edit}")
        res = await self.call("retrySaveItem", {"id": "fox-edit", "projectId": PROJECT})
        item = res["item"]
        self.check(item["status"] == ItemStatus.SAVED and res["durable"], "saved and durable",
                   item["status"])
        self.check(item.get("sha256") == hashlib.sha256(
            self.clips["fox edit, color graded"]).hexdigest(), "with exactly the bytes given")
        ev = await self.ev.wait("itemSaved", since=mark, item_id="fox-edit")
        self.check(ev is not None, "itemSaved event received")
        self.toast(ev)
        page = await self.listing(PROJECT)
        self.check(page["counts"].get("unsaved") == 0, "no unsaved items left: the banner "
                   "goes away", page["counts"])

    async def step_blocked(self) -> None:
        assert self.disk is not None
        self.heading("Step 4 · Storage is blocked: a new video is kept as a link (urlOnly)",
                     "Read-only storage (or private mode, or a quota) means nothing can be "
                     "written. A video with a URL stays usable: it is listed as urlOnly and "
                     "plays from its FAL URL (the CSP allows it) until it can be downloaded.")
        self.say(await self.disk.block(self.c))
        data = self.clip("an owl at dusk")
        url = self.fal.publish("/files/demo/owl.mp4", data)
        self.say(f"FAL generated {url}; addMediaItem {{sourceUrl, download: true}}")
        mark = self.ev.mark()
        res = await self.with_progress("addMediaItem", {
            "id": "owl", "projectId": PROJECT, "name": "owl.mp4", "type": MediaType.VIDEO,
            "sourceUrl": url, "download": True}, "owl", "owl.mp4")
        item = res["item"]
        err = item.get("storageError") or {}
        self.check(item["status"] == ItemStatus.URL_ONLY and not res["durable"],
                   "kept as urlOnly (not durable), not lost", item["status"])
        self.check(err.get("errno") == "EROFS"
                   and err.get("errorType") == ErrorType.STORAGE_BLOCKED,
                   f"the error is the disk's: {err.get('errno')} ({err.get('message')})", err)
        self.check(item.get("metadata", {}).get("urlOnly") is True,
                   "the seeds' flag metadata.urlOnly is set too")
        ev = await self.ev.wait("itemUrlOnly", since=mark, item_id="owl")
        self.check(ev is not None, "itemUrlOnly event received")
        self.toast(ev)
        src = await self.call("getMediaSource", {"projectId": PROJECT, "id": "owl"})
        self.check(src.get("bytes") == ByteLocation.NONE and src.get("sourceUrl") == url,
                   "no local bytes: window.mediaStore.playbackUrl(item) gives its FAL URL, "
                   "which the CSP allows", src)
        st = await self.call("storageStatus", {})
        self.check(bool(st.get("blocked")), "storageStatus says blocked (the app's banner)",
                   st.get("blocked"))

    async def step_download_later(self) -> None:
        assert self.disk is not None
        self.heading("Step 5 · Storage is writable again: download it later",
                     "FAL keeps files for at least 7 days; the link is downloaded and saved "
                     "while it still works.")
        self.say(await self.disk.unblock(self.c))
        mark = self.ev.mark()
        self.say("downloadUrlOnlyItem {id: owl}")
        res = await self.with_progress("downloadUrlOnlyItem",
                                       {"id": "owl", "projectId": PROJECT}, "owl", "owl.mp4")
        item = res["item"]
        self.check(item["status"] == ItemStatus.SAVED and res["durable"], "saved and durable",
                   item["status"])
        self.check(item.get("sha256") == hashlib.sha256(
            self.clips["an owl at dusk"]).hexdigest(), "with exactly FAL's bytes")
        ev = await self.ev.wait("itemSaved", since=mark, item_id="owl")
        self.check(ev is not None, "itemSaved event received")
        st = await self.call("storageStatus", {})
        self.check(not st.get("blocked") and bool(st.get("writable")),
                   "storageStatus says writable again", st)

    async def step_expired(self) -> None:
        self.heading("Step 6 · FAL deleted an old file: the link has expired",
                     "A video from last week was kept as a link only. FAL has since deleted "
                     "it (410 Gone). Downloading it now fails clearly and the item is marked "
                     "expired instead of retrying forever.")
        data = self.clip("a cat from last week")
        path = "/files/demo/old-cat.mp4"
        url = self.fal.publish(path, data, host="fal.media")
        res = await self.call("addMediaItem", {"id": "old-cat", "projectId": PROJECT,
                                               "name": "old-cat.mp4", "type": MediaType.VIDEO,
                                               "sourceUrl": url})
        self.check(res["item"]["status"] == ItemStatus.URL_ONLY, f"{url} registered as a link "
                   "(urlOnly: no download asked)", res["item"]["status"])
        self.fal.expire(path)
        self.say("FAL deleted the file; downloadUrlOnlyItem {id: old-cat}")
        mark = self.ev.mark()
        try:
            await self.with_progress("downloadUrlOnlyItem",
                                     {"id": "old-cat", "projectId": PROJECT},
                                     "old-cat", "old-cat.mp4")
        except RemoteError as exc:
            self.check(exc.code == "url_expired", f"the reply is the error url_expired: "
                       f"{exc.message}", exc.code)
        else:
            self.check(False, "the reply is the error url_expired", "a success")
        got = await self.call("getMediaItem", {"id": "old-cat", "projectId": PROJECT})
        self.check(got["item"]["status"] == ItemStatus.EXPIRED, "the item is now expired (still "
                   "listed, so the user knows what is gone)", got["item"]["status"])
        self.check(any(h.status == 410 for h in self.fal.hits(path)),
                   "FAL answered 410 Gone; no retries were wasted on it",
                   [h.status for h in self.fal.hits(path)])
        ev = await self.ev.wait("itemExpired", since=mark, item_id="old-cat")
        self.check(ev is not None, "itemExpired event received")
        self.toast(ev)

    async def step_projects(self) -> None:
        self.heading("Step 7 · The library, by project",
                     "Every item belongs to a project; a list never shows another project's "
                     "items, and its counts feed the app's banner.")
        data = self.clip("a trailer for another film")
        res = await self.call("addMediaItem", {"id": "trailer", "projectId": OTHER_PROJECT,
                                               "name": "trailer.mp4", "type": MediaType.VIDEO},
                              (data,))
        self.check(res["item"]["status"] == ItemStatus.SAVED,
                   f"added trailer.mp4 to project {OTHER_PROJECT}", res["item"]["status"])
        page = await self.listing(PROJECT)
        self.show_list(PROJECT, page)
        ids = [i["id"] for i in page["items"]]
        counts = page["counts"]
        self.check(ids == ["fox", "fox-edit", "owl", "old-cat"],
                   f"{PROJECT} lists its 4 items, oldest first", ids)
        self.check((counts.get("saved"), counts.get("unsaved"), counts.get("urlOnly"),
                    counts.get("expired"), counts.get("total")) == (3, 0, 0, 1, 4),
                   "counts: 3 saved, 0 unsaved, 0 urlOnly, 1 expired, 4 in all", counts)
        self.check("trailer" not in ids, f"{OTHER_PROJECT}'s trailer is not shown in "
                   f"{PROJECT}")
        other = await self.listing(OTHER_PROJECT)
        self.check([i["id"] for i in other["items"]] == ["trailer"],
                   f"{OTHER_PROJECT} lists only its trailer",
                   [i["id"] for i in other["items"]])
        expired = await self.listing(PROJECT, status=[ItemStatus.EXPIRED])
        self.check([i["id"] for i in expired["items"]] == ["old-cat"],
                   "filter by status (expired) works", [i["id"] for i in expired["items"]])
        self.say(Text(f"from a shell, `media-sidecar list -p {PROJECT}` prints this table "
                      "for a running sidecar (it finds it by its connection file: no secret "
                      "to type)", style="dim"))

    async def step_csp(self) -> None:
        from protocol.csp import build_csp, load_policy

        self.heading("Step 8 · The Content-Security-Policy the shim installs",
                     "Playback of FAL URLs needs media-src to name both https://fal.media and "
                     "https://*.fal.media (neither matches the other), and nothing broader.")
        header = build_csp(load_policy())
        self.out.print(Text("  Content-Security-Policy: ", style="bold") + Text(header))
        media = next((d for d in header.split("; ") if d.startswith("media-src ")), "")
        sources = media.split()[1:]
        self.check("https://fal.media" in sources and "https://*.fal.media" in sources,
                   "media-src allows fal.media and *.fal.media", media)
        self.check("https:" not in header.split() and "'unsafe-eval'" not in header,
                   "no bare https: wildcard, no 'unsafe-eval'")
        self.say(Text("the same from a shell: media-sidecar csp --format header|meta|json",
                      style="dim"))

    # cleanup -----------------------------------------------------------------------------
    async def close(self) -> None:
        """Stop everything that was started, in reverse order; never raises."""
        if self.events is not None:
            with contextlib.suppress(Exception):
                await self.events.stop()
        for client in (self.listener, self.app):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close()
        self.listener = self.app = None
        if self.sidecar is not None:
            sidecar, self.sidecar = self.sidecar, None
            with contextlib.suppress(Exception):
                await asyncio.to_thread(sidecar.stop)
            self.last_log = sidecar.log_tail()
        self.close_sync()

    def close_sync(self) -> None:
        with contextlib.suppress(Exception):
            self.fal.close()
        if self.disk is not None:
            disk, self.disk = self.disk, None
            with contextlib.suppress(Exception, StorageSetupError):
                disk.cleanup()
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    last_log = ""
    clip_how = ""
