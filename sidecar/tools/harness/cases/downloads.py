"""Downloads, against the harness's own loopback HTTP server: saved with progress, gone
URLs expire the item, failures keep it urlOnly, a running download can be cancelled.

They apply only to a server that accepts plain-http loopback URLs (a development or test
setting); against a production configuration they are reported as SKIP.
"""

from __future__ import annotations

import os

from protocol.vocabulary import DownloadOutcome, ItemStatus, MediaType
from sidecar.tools.harness.context import Context, sha256
from sidecar.tools.harness.outcome import check
from sidecar.tools.harness.peer import Json, expect_error
from sidecar.tools.harness.registry import case

SLOW_DOWNLOAD = 60.0  # retries of a failing URL back off; give them time


def _register(ctx: Context, project: str, url: str) -> Json:
    peer = ctx.peer()
    item: Json = peer.call("addMediaItem", {"projectId": project, "name": "remote.mp4",
                                            "type": MediaType.VIDEO, "sourceUrl": url})["item"]
    check(item["status"] == ItemStatus.URL_ONLY,
          f"a registered URL is {item['status']}, not urlOnly")
    return item


@case("downloads.url_only_item_is_downloaded_and_saved")
def download_saves(ctx: Context) -> None:
    """downloadUrlOnlyItem saves the bytes durably, reports progress with a final event
    (outcome saved) and announces itemSaved."""
    http = ctx.need_loopback_downloads()
    project, name = ctx.project(), f"{ctx.run_id}-dl.mp4"
    data = os.urandom(256 * 1024)
    item = _register(ctx, project, http.publish(name, data))
    peer = ctx.peer(timeout=max(ctx.options.timeout, SLOW_DOWNLOAD))
    peer.call("subscribe", {"projectId": project})
    result = peer.call("downloadUrlOnlyItem", {"id": item["id"], "projectId": project})
    got = result["item"]
    check(got["status"] == ItemStatus.SAVED and result["durable"] is True,
          f"a downloaded item is {got['status']}")
    check(got["sha256"] == sha256(data) and got["size"] == len(data),
          "the downloaded item's sha256 or size is not the served bytes'")
    peer.event("itemSaved", lambda d: d["item"]["id"] == item["id"])
    final = peer.event("downloadProgress", lambda d: d["id"] == item["id"] and d["final"])
    check(final["data"]["outcome"] == DownloadOutcome.SAVED,
          f"final progress outcome {final['data']}")
    check(final["data"]["bytesDone"] == len(data), "the final progress event's bytesDone")


@case("downloads.add_with_download_saves_the_bytes")
def add_with_download(ctx: Context) -> None:
    """addMediaItem with download: true fetches the URL itself and saves the item."""
    http = ctx.need_loopback_downloads()
    data = os.urandom(64 * 1024)
    url = http.publish(f"{ctx.run_id}-add.mp4", data)
    peer = ctx.peer(timeout=max(ctx.options.timeout, SLOW_DOWNLOAD))
    result = peer.call("addMediaItem", {"projectId": ctx.project(), "name": "fetched.mp4",
                                        "type": MediaType.VIDEO, "sourceUrl": url,
                                        "download": True})
    item = result["item"]
    check(item["status"] == ItemStatus.SAVED and item["sha256"] == sha256(data),
          f"the fetched item is {item['status']} with sha256 {item['sha256']}")
    check(item["sourceUrl"] == url, "the source URL was not kept")


@case("downloads.gone_url_expires_the_item")
def gone_url_expires(ctx: Context) -> None:
    """A URL answering 410 gives url_expired; the item is now expired and itemExpired is
    announced."""
    http = ctx.need_loopback_downloads()
    project = ctx.project()
    item = _register(ctx, project, http.url("gone", f"{ctx.run_id}-gone.mp4"))
    peer = ctx.peer(timeout=max(ctx.options.timeout, SLOW_DOWNLOAD))
    peer.call("subscribe", {"projectId": project})
    peer.error("downloadUrlOnlyItem", {"id": item["id"]}, code="url_expired")
    got = peer.call("getMediaItem", {"id": item["id"]})["item"]
    check(got["status"] == ItemStatus.EXPIRED, f"after a 410 the item is {got['status']}")
    peer.event("itemExpired", lambda d: d["item"]["id"] == item["id"])
    peer.error("downloadUrlOnlyItem", {"id": item["id"]}, code="conflict")


@case("downloads.failing_url_keeps_the_item_url_only")
def failing_url(ctx: Context) -> None:
    """A URL answering 500 (after the server's retries) gives download_failed; the item
    stays urlOnly, downloadable later."""
    http = ctx.need_loopback_downloads()
    project = ctx.project()
    item = _register(ctx, project, http.url("fail", f"{ctx.run_id}-fail.mp4"))
    peer = ctx.peer(timeout=max(ctx.options.timeout, SLOW_DOWNLOAD))
    peer.error("downloadUrlOnlyItem", {"id": item["id"]}, code="download_failed")
    got = peer.call("getMediaItem", {"id": item["id"]})["item"]
    check(got["status"] == ItemStatus.URL_ONLY,
          f"after failed downloads the item is {got['status']}")


@case("downloads.running_download_can_be_cancelled")
def cancel_running(ctx: Context) -> None:
    """cancelDownload stops a running download: cancel answers cancelled: true, the
    download answers cancelled, the item stays urlOnly."""
    http = ctx.need_loopback_downloads()
    project = ctx.project()
    item = _register(ctx, project, http.url("slow", f"{ctx.run_id}-slow.mp4"))
    peer = ctx.peer(timeout=max(ctx.options.timeout, SLOW_DOWNLOAD))
    http.slow_started.clear()
    try:
        rid = peer.send("downloadUrlOnlyItem", {"id": item["id"]})
        check(http.slow_started.wait(peer.timeout), "the download never reached the URL")
        result = peer.call("cancelDownload", {"id": item["id"]})
        check(result["cancelled"] is True, "cancelDownload of a running download: false")
        msg = peer.reply(rid)
        check(msg["type"] == "error", "a cancelled download succeeded")
        expect_error(msg["error"], "cancelled", None, "cancelled download")
    finally:
        http.release.set()
    got = peer.call("getMediaItem", {"id": item["id"]})["item"]
    check(got["status"] == ItemStatus.URL_ONLY,
          f"after a cancelled download the item is {got['status']}")


@case("downloads.download_all_reports_each_outcome")
def download_all(ctx: Context) -> None:
    """downloadAllUrlOnly downloads every urlOnly item of the project and counts the
    saved and the expired."""
    http = ctx.need_loopback_downloads()
    project = ctx.project()
    saved = [_register(ctx, project, http.publish(f"{ctx.run_id}-all{i}.mp4",
                                                  os.urandom(8192)))["id"] for i in range(2)]
    gone = _register(ctx, project, http.url("gone", f"{ctx.run_id}-all-gone.mp4"))["id"]
    peer = ctx.peer(timeout=max(ctx.options.timeout, SLOW_DOWNLOAD))
    result = peer.call("downloadAllUrlOnly", {"projectId": project})
    check((result["attempted"], result["saved"], result["expired"]) == (3, 2, 1),
          f"attempted/saved/expired {result['attempted']}/{result['saved']}/"
          f"{result['expired']}, not 3/2/1")
    statuses = {i: peer.call("getMediaItem", {"id": i})["item"]["status"]
                for i in (*saved, gone)}
    check(statuses == {saved[0]: ItemStatus.SAVED, saved[1]: ItemStatus.SAVED,
                       gone: ItemStatus.EXPIRED},
          f"statuses after downloadAllUrlOnly: {statuses}")
