"""Downloader.fetch against real HTTPS servers on loopback standing in for fal.media."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from sidecar.errors import (
    Cancelled,
    DownloadFailed,
    HostNotAllowed,
    PayloadTooLarge,
    UrlExpired,
)
from sidecar.fetch.api import Fetched
from sidecar.fetch.config import FetchConfig
from sidecar.fetch.downloader import Downloader
from tests.fetch.server import (
    Handler,
    MediaServer,
    chunked,
    cut,
    redirect,
    serve,
    stall_head,
    status,
    trickle,
)

BODY = random.Random(4).randbytes(3 * 1024 * 1024 + 12345)
SHA = hashlib.sha256(BODY).hexdigest()


async def test_downloads_a_file_with_its_hash_size_and_type(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/files/a.mp4", serve(BODY))
    got = await fetcher.fetch("https://v3.fal.media/files/a.mp4", dest)
    assert got == Fetched(path=dest, size=len(BODY), sha256=SHA, mime_type="video/mp4",
                          final_url="https://v3.fal.media/files/a.mp4")
    assert dest.read_bytes() == BODY


async def test_sends_the_real_host_name_in_host_header_and_sni(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/x.png", serve(b"\x89PNG....", content_type="image/png"))
    await fetcher.fetch("https://v3b.fal.media/x.png", dest)
    [seen] = fal.log.requests
    assert seen.headers["host"] == "v3b.fal.media"
    assert seen.sni == "v3b.fal.media"
    assert seen.headers["accept-encoding"] == "identity"


async def test_reports_progress_up_to_the_total(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/a.mp4", serve(BODY))
    calls: list[tuple[int, int | None]] = []
    await fetcher.fetch("https://fal.media/a.mp4", dest,
                        progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(BODY), len(BODY))  # delivered before fetch returned
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


async def test_downloads_a_chunked_body_without_length(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/c.webm", chunked(BODY, content_type="video/webm"))
    got = await fetcher.fetch("https://fal.media/c.webm", dest)
    assert (got.size, got.sha256, got.mime_type) == (len(BODY), SHA, "video/webm")


async def test_downloads_over_plain_http_on_loopback_when_allowed(
        make_fetcher: Callable[..., Downloader], config: FetchConfig, dest: Path) -> None:
    with MediaServer(None) as plain:
        plain.route("/a.mp4", serve(BODY))
        fetcher = make_fetcher(config, allow_http_loopback=True,
                               allowed_hosts=("fal.media", "127.0.0.1", "localhost"))
        got = await fetcher.fetch(f"http://127.0.0.1:{plain.port}/a.mp4", dest)
        assert got.sha256 == SHA


@pytest.mark.parametrize("code", [400, 401, 403, 404, 410])
async def test_gone_url_raises_url_expired_without_retrying(
        code: int, fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/old.mp4", status(code))
    with pytest.raises(UrlExpired) as info:
        await fetcher.fetch("https://v3.fal.media/old.mp4", dest)
    assert info.value.data == {"status": code}
    assert len(fal.log.requests) == 1
    assert not dest.exists()


async def test_server_error_is_retried_then_the_file_is_saved(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/a.mp4", status(500), status(503), serve(BODY))
    got = await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert got.sha256 == SHA
    assert len(fal.log.requests) == 3


async def test_persistent_server_errors_fail_after_max_attempts(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/a.mp4", status(502))
    with pytest.raises(DownloadFailed, match="after 3 attempts"):
        await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert len(fal.log.requests) == 3
    assert not dest.exists()


async def test_cut_connection_is_resumed_with_a_range_request(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    half = len(BODY) // 2
    fal.route("/a.mp4", cut(BODY, half), serve(BODY))
    got = await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert (got.size, got.sha256) == (len(BODY), SHA)
    first, second = fal.log.requests
    assert "range" not in first.headers
    assert second.headers["range"] == f"bytes={half}-"
    assert second.headers["if-range"] == '"v1"'


async def test_server_ignoring_range_restarts_from_zero(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/a.mp4", cut(BODY, 100_000), serve(BODY, ranges=False))
    got = await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert (got.size, got.sha256) == (len(BODY), SHA)
    assert fal.log.requests[1].headers["range"] == "bytes=100000-"


async def test_changed_file_is_downloaded_again_from_zero(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    new = BODY[::-1]
    fal.route("/a.mp4", cut(BODY, 100_000, etag='"old"'), serve(new, etag='"new"'))
    got = await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert got.sha256 == hashlib.sha256(new).hexdigest()
    assert fal.log.requests[1].headers["if-range"] == '"old"'


async def test_follows_a_redirect_to_an_allowed_host(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/r", redirect("https://v3.fal.media/files/a.mp4?sig=1"))
    fal.route("/files/a.mp4", serve(BODY))
    got = await fetcher.fetch("https://fal.media/r", dest)
    assert got.final_url == "https://v3.fal.media/files/a.mp4?sig=1"
    assert [r.headers["host"] for r in fal.log.requests] == ["fal.media", "v3.fal.media"]


async def test_follows_a_relative_redirect(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/r", redirect("/files/a.mp4", 307))
    fal.route("/files/a.mp4", serve(BODY))
    got = await fetcher.fetch("https://fal.media/r", dest)
    assert got.final_url == "https://fal.media/files/a.mp4"


@pytest.mark.parametrize("location", [
    "https://evil.example/a.mp4",
    "https://fal.media.evil.example/a.mp4",
    "http://v3.fal.media/a.mp4",
    "https://127.0.0.1/a.mp4",
    "https://fal.media@evil.example/a.mp4",
    "//evil.example/a.mp4",
])
async def test_redirect_to_another_host_is_refused_and_never_contacted(
        location: str, fal: MediaServer, evil: MediaServer, fetcher: Downloader,
        dest: Path) -> None:
    fal.route("/r", redirect(location))
    with pytest.raises(HostNotAllowed):
        await fetcher.fetch("https://fal.media/r", dest)
    assert len(fal.log.requests) == 1
    assert evil.log.connections == 0
    assert not dest.exists()


async def test_endless_redirects_fail(fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/r", redirect("/r"))
    with pytest.raises(DownloadFailed, match="redirects"):
        await fetcher.fetch("https://fal.media/r", dest)
    assert len(fal.log.requests) == fetcher.config.max_redirects + 1


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/a.mp4",
    "https://10.0.0.1/a.mp4",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/a.mp4",
    "https://2130706433/a.mp4",
    "http://fal.media/a.mp4",
    "https://fal.media.evil.example/a.mp4",
    "https://evil.example#@fal.media/a.mp4",
    "https://evil.example\\@fal.media/a.mp4",
    "https://fal.media@evil.example/a.mp4",
    "https://user:pw@fal.media/a.mp4",
    "https://fal.media:8443@evil.example/a.mp4",
    "ftp://fal.media/a.mp4",
    "file:///etc/passwd",
])
async def test_refused_url_sends_no_request(
        url: str, fal: MediaServer, evil: MediaServer, fetcher: Downloader, dest: Path) -> None:
    with pytest.raises(HostNotAllowed):
        fetcher.check_url(url)
    with pytest.raises(HostNotAllowed):
        await fetcher.fetch(url, dest)
    assert fal.log.connections == evil.log.connections == 0
    assert not dest.exists()


async def test_plain_http_is_refused_when_the_loopback_flag_is_off(
        make_fetcher: Callable[..., Downloader], config: FetchConfig, dest: Path) -> None:
    with MediaServer(None) as plain:
        fetcher = make_fetcher(config, allowed_hosts=("127.0.0.1",), allow_http_loopback=False)
        with pytest.raises(HostNotAllowed):
            await fetcher.fetch(f"http://127.0.0.1:{plain.port}/a.mp4", dest)
        assert plain.log.connections == 0


async def test_private_address_is_refused_without_the_flag(
        fal: MediaServer, make_fetcher: Callable[..., Downloader], config: FetchConfig,
        dest: Path) -> None:
    # fal.media is mapped to 127.0.0.1: an allowed name resolving to a loopback address.
    fetcher = make_fetcher(config, allow_private_addresses=False)
    fetcher.check_url("https://fal.media/a.mp4")  # the name itself is fine
    with pytest.raises(HostNotAllowed, match="loopback"):
        await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert fal.log.connections == 0
    assert not dest.exists()


async def test_allowed_name_resolving_to_loopback_by_dns_is_refused(
        make_fetcher: Callable[..., Downloader], config: FetchConfig, dest: Path) -> None:
    fetcher = make_fetcher(config, allowed_hosts=("localhost",), host_resolver_rules="",
                           allow_private_addresses=False)
    with pytest.raises(HostNotAllowed, match="localhost resolved to"):
        await fetcher.fetch("https://localhost/a.mp4", dest)


async def test_certificate_is_verified_for_the_real_host_name(
        ca_file: Path, make_fetcher: Callable[..., Downloader], config: FetchConfig, dest: Path,
        ca: object) -> None:
    with MediaServer(ca, ("other.example",)) as wrong:  # type: ignore[arg-type]
        wrong.route("/a.mp4", serve(BODY))
        fetcher = make_fetcher(config, host_resolver_rules=f"MAP fal.media 127.0.0.1:{wrong.port}")
        with pytest.raises(DownloadFailed, match="CERTIFICATE_VERIFY_FAILED"):
            await fetcher.fetch("https://fal.media/a.mp4", dest)
        assert wrong.log.requests == []
        assert wrong.log.connections == 1  # not retried: it would fail the same way


async def test_body_over_the_cap_by_content_length_is_refused(
        fal: MediaServer, make_fetcher: Callable[..., Downloader], config: FetchConfig,
        dest: Path) -> None:
    fal.route("/a.mp4", serve(BODY))
    fetcher = make_fetcher(config, max_bytes=len(BODY) - 1)
    with pytest.raises(PayloadTooLarge):
        await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert not dest.exists()
    assert len(fal.log.requests) == 1


async def test_body_over_the_cap_while_streaming_is_refused(
        fal: MediaServer, make_fetcher: Callable[..., Downloader], config: FetchConfig,
        dest: Path) -> None:
    fal.route("/a.mp4", chunked(BODY))
    fetcher = make_fetcher(config, max_bytes=1024 * 1024)
    with pytest.raises(PayloadTooLarge):
        await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert not dest.exists()


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/json"])
async def test_wrong_content_type_fails_without_retrying(
        content_type: str, fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/a.mp4", serve(b"<html>login</html>", content_type=content_type))
    with pytest.raises(DownloadFailed, match="not a video, image or audio"):
        await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert len(fal.log.requests) == 1
    assert not dest.exists()


async def test_octet_stream_is_accepted_for_a_media_file_name(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/files/out.webm", serve(BODY, content_type="application/octet-stream"))
    fal.route("/files/out.bin", serve(BODY, content_type="application/octet-stream"))
    got = await fetcher.fetch("https://fal.media/files/out.webm", dest)
    assert got.mime_type == "video/webm"
    with pytest.raises(DownloadFailed):
        await fetcher.fetch("https://fal.media/files/out.bin", dest.with_suffix(".2"))


async def test_cancel_mid_download_stops_promptly_and_removes_the_file(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/a.mp4", trickle(BODY, first=1024 * 1024, then_sleep=30))
    cancel = asyncio.Event()
    seen: list[int] = []

    def progress(done: int, total: int | None) -> None:
        seen.append(done)
        cancel.set()

    # The server stalls for 30 s and the read timeout is 2 s: only the cancel ends this soon.
    with pytest.raises(Cancelled):
        await asyncio.wait_for(fetcher.fetch("https://fal.media/a.mp4", dest,
                                             progress=progress, cancel=cancel), timeout=1.5)
    assert seen
    assert not dest.exists()
    assert len(fal.log.requests) == 1


async def test_cancel_while_waiting_for_the_response_stops_promptly(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/a.mp4", stall_head(30))
    cancel = asyncio.Event()
    asyncio.get_running_loop().call_later(0.2, cancel.set)
    with pytest.raises(Cancelled):
        await asyncio.wait_for(fetcher.fetch("https://fal.media/a.mp4", dest, cancel=cancel),
                               timeout=1.5)
    assert not dest.exists()


async def test_cancel_during_backoff_stops_retrying(
        fal: MediaServer, make_fetcher: Callable[..., Downloader], config: FetchConfig,
        dest: Path) -> None:
    fal.route("/a.mp4", status(503))
    fetcher = make_fetcher(config, backoff_base=30.0, backoff_max=30.0)
    cancel = asyncio.Event()
    asyncio.get_running_loop().call_later(0.3, cancel.set)
    with pytest.raises(Cancelled):
        await asyncio.wait_for(fetcher.fetch("https://fal.media/a.mp4", dest, cancel=cancel),
                               timeout=2)
    assert len(fal.log.requests) == 1
    assert not dest.exists()


async def test_cancelled_task_removes_the_file(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/a.mp4", trickle(BODY, first=1024 * 1024, then_sleep=30))
    started = asyncio.Event()
    task = asyncio.create_task(fetcher.fetch("https://fal.media/a.mp4", dest,
                                             progress=lambda d, t: started.set()))
    await asyncio.wait_for(started.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 1.5)
    assert not dest.exists()


async def test_aclose_cancels_downloads_in_flight(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    fal.route("/a.mp4", trickle(BODY, first=1024 * 1024, then_sleep=30))
    started = asyncio.Event()
    task = asyncio.create_task(fetcher.fetch("https://fal.media/a.mp4", dest,
                                             progress=lambda d, t: started.set()))
    await asyncio.wait_for(started.wait(), 2)
    await fetcher.aclose()
    with pytest.raises(Cancelled):
        await asyncio.wait_for(task, 1.5)
    assert not dest.exists()


async def test_read_timeouts_are_retried_then_fail(
        fal: MediaServer, make_fetcher: Callable[..., Downloader], config: FetchConfig,
        dest: Path) -> None:
    fal.route("/a.mp4", stall_head(5))
    fetcher = make_fetcher(config, read_timeout=0.2)
    with pytest.raises(DownloadFailed, match="timed out"):
        await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert len(fal.log.requests) == 3
    assert not dest.exists()


async def test_stalled_body_is_resumed_after_a_read_timeout(
        fal: MediaServer, make_fetcher: Callable[..., Downloader], config: FetchConfig,
        dest: Path) -> None:
    fal.route("/a.mp4", trickle(BODY, first=1024 * 1024 + 7, then_sleep=5), serve(BODY))
    fetcher = make_fetcher(config, read_timeout=0.3)
    got = await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert got.sha256 == SHA
    assert fal.log.requests[1].headers["range"] == f"bytes={1024 * 1024 + 7}-"


async def test_cookies_from_one_download_are_not_sent_with_the_next(
        fal: MediaServer, fetcher: Downloader, tmp_path: Path) -> None:
    fal.route("/a.mp4", serve(BODY, extra={"Set-Cookie": "session=secret; Path=/"}))
    await fetcher.fetch("https://fal.media/a.mp4", tmp_path / "1")
    await fetcher.fetch("https://fal.media/a.mp4", tmp_path / "2")
    assert "cookie" not in fal.log.requests[1].headers


async def test_a_failing_progress_callback_does_not_lose_the_download(
        fal: MediaServer, fetcher: Downloader, dest: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    fal.route("/a.mp4", serve(BODY))

    def broken(done: int, total: int | None) -> None:
        raise RuntimeError("ui went away")

    got = await fetcher.fetch("https://fal.media/a.mp4", dest, progress=broken)
    assert got.sha256 == SHA
    assert "progress callback failed" in caplog.text


def partial(body: bytes, start: int, *, total: int | None = None) -> Callable[[Handler], None]:
    """A 206 that claims to start at ``start`` whatever was asked."""

    def respond(h: Handler) -> None:
        part = body[start:]
        h.send(206, {"Content-Type": "video/mp4", "ETag": '"v1"', "Accept-Ranges": "bytes",
                     "Content-Length": str(len(part)),
                     "Content-Range": f"bytes {start}-{len(body) - 1}/{total or len(body)}"},
               part)

    return respond


@pytest.mark.parametrize("bad", ["wrong start", "wrong total", "416"])
async def test_a_resume_the_server_gets_wrong_starts_over_from_zero(
        bad: str, fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    second = {"wrong start": partial(BODY, 5), "wrong total": partial(BODY, 100_000, total=7),
              "416": status(416)}[bad]
    fal.route("/a.mp4", cut(BODY, 100_000), second, serve(BODY))
    got = await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert (got.size, got.sha256) == (len(BODY), SHA)
    assert "range" in fal.log.requests[1].headers
    assert "range" not in fal.log.requests[2].headers


async def test_a_compressed_body_is_stored_decoded(
        fal: MediaServer, fetcher: Downloader, dest: Path) -> None:
    packed = gzip.compress(BODY)

    def respond(h: Handler) -> None:
        h.send(200, {"Content-Type": "video/mp4", "Content-Encoding": "gzip",
                     "Content-Length": str(len(packed))}, packed)

    fal.route("/a.mp4", respond)
    got = await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert (got.size, got.sha256) == (len(BODY), SHA)
