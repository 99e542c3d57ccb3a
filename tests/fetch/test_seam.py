"""The seam: only sidecar exceptions leave Downloader.fetch, and constructing one is free."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from sidecar.errors import SidecarError
from sidecar.fetch import transport
from sidecar.fetch.api import SinkWriteError
from sidecar.fetch.config import FetchConfig
from sidecar.fetch.downloader import Downloader

CONFIG = FetchConfig(max_attempts=2, backoff_base=0.001, backoff_max=0.001)
REQUEST = httpx.Request("GET", "https://fal.media/a.mp4")


def every_httpx_exception() -> list[BaseException]:
    """One instance of every exception class httpx exports, whatever its constructor."""
    found: list[BaseException] = []
    for name in sorted(dir(httpx)):
        cls = getattr(httpx, name)
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            continue
        for args, kwargs in (
            (("boom",), {"request": REQUEST}),
            (("boom",), {"request": REQUEST, "response": httpx.Response(500, request=REQUEST)}),
            (("boom",), {}),
            ((), {}),
        ):
            try:
                found.append(cls(*args, **kwargs))
                break
            except TypeError:
                continue
        else:
            raise AssertionError(f"cannot build httpx.{name}")
    return found


EXCEPTIONS = every_httpx_exception()


class RaisingBody(httpx.SyncByteStream):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __iter__(self) -> Iterator[bytes]:
        yield b"\x00\x00\x00\x18ftypmp42"
        raise self.exc


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> Callable[..., httpx.Client]:
    return lambda config, resolver: httpx.Client(transport=httpx.MockTransport(handler))


def caused_by(exc: BaseException, cause: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if seen is cause:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@pytest.mark.parametrize("where", ["send", "body"])
@pytest.mark.parametrize("exc", EXCEPTIONS, ids=lambda e: type(e).__name__)
async def test_every_httpx_exception_is_translated_at_the_seam(
        exc: BaseException, where: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if where == "send":
            raise exc
        return httpx.Response(200, headers={"content-type": "video/mp4"},
                              stream=RaisingBody(exc))

    monkeypatch.setattr(transport, "build_client", mock_client(handler))
    fetcher = Downloader(CONFIG)
    dest = tmp_path / "f"
    with pytest.raises((SidecarError, SinkWriteError)) as info:
        await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert caused_by(info.value, exc), f"{type(info.value).__name__} does not chain the cause"
    assert not dest.exists()
    await fetcher.aclose()


def test_constructing_a_fetcher_imports_no_http_client() -> None:
    code = (
        "import sys\n"
        "from sidecar.fetch.config import FetchConfig\n"
        "from sidecar.fetch.downloader import Downloader\n"
        "f = Downloader(FetchConfig(host_resolver_rules='MAP fal.media 127.0.0.1:1'))\n"
        "f.check_url('https://v3.fal.media/files/a.mp4')\n"
        "loaded = sorted(m for m in ('httpx', 'httpcore', 'h11', 'idna', 'certifi')\n"
        "                if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == ""


async def test_the_client_is_built_once_and_shared(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    built: list[httpx.Client] = []

    def build(config: FetchConfig, resolver: object) -> httpx.Client:
        client = httpx.Client(transport=httpx.MockTransport(
            lambda r: httpx.Response(200, headers={"content-type": "image/png"},
                                     stream=httpx.ByteStream(b"png"))))
        built.append(client)
        return client

    monkeypatch.setattr(transport, "build_client", build)
    fetcher = Downloader(CONFIG)
    assert built == []
    for i in range(3):
        await fetcher.fetch("https://fal.media/a.png", tmp_path / str(i))
    assert len(built) == 1
    await fetcher.aclose()
    assert built[0].is_closed
