"""Fixtures of the fetch tests: a CA, HTTPS servers standing in for fal.media and for a
foreign host, and a Downloader configured to reach them through host resolver rules."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from sidecar.fetch.config import FetchConfig
from sidecar.fetch.downloader import Downloader
from tests.fetch.server import MediaServer


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def fal(ca: trustme.CA) -> Iterator[MediaServer]:
    """fal.media, v3.fal.media, v3b.fal.media..."""
    with MediaServer(ca, ("fal.media", "*.fal.media")) as server:
        yield server


@pytest.fixture
def evil(ca: trustme.CA) -> Iterator[MediaServer]:
    """A host that is not allowed; it has a valid certificate, so only policy keeps us out."""
    with MediaServer(ca, ("evil.example", "fal.media.evil.example")) as server:
        yield server


@pytest.fixture
def config(fal: MediaServer, evil: MediaServer, ca_file: Path) -> FetchConfig:
    rules = (f"MAP fal.media 127.0.0.1:{fal.port}, MAP *.fal.media 127.0.0.1:{fal.port}, "
             f"MAP evil.example 127.0.0.1:{evil.port}, MAP *.evil.example 127.0.0.1:{evil.port}")
    return FetchConfig(
        host_resolver_rules=rules, ca_file=ca_file, allow_private_addresses=True,
        connect_timeout=2.0, read_timeout=2.0, max_attempts=3,
        backoff_base=0.01, backoff_max=0.05,
    )


@pytest.fixture
def make_fetcher() -> Iterator[Callable[..., Downloader]]:
    """Build Fetchers from a base config with overrides; closes them after the test."""
    made: list[Downloader] = []

    def make(base: FetchConfig, **overrides: object) -> Downloader:
        fetcher = Downloader(dataclasses.replace(base, **overrides))  # type: ignore[arg-type]
        made.append(fetcher)
        return fetcher

    yield make
    import asyncio

    async def close_all() -> None:
        for f in made:
            await f.aclose()

    asyncio.run(close_all())


@pytest.fixture
def fetcher(config: FetchConfig, make_fetcher: Callable[..., Downloader]) -> Downloader:
    return make_fetcher(config)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "download.part"
