"""The event loop is chosen in one place (sidecar/loop.py) from the ``event_loop`` setting:
asyncio's own by default, uvloop when asked for; a sidecar on either serves the same
requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.vocabulary import MediaType
from sidecar.client import SyncClient
from sidecar.loop import loop_factory
from sidecar.setting import env_name
from sidecar.settings import Settings
from tests.support import require, spawn_sidecar


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


LOOP_ENV = env_name(Settings, "event_loop")


def test_the_default_is_asyncios_loop_and_a_bad_choice_is_refused() -> None:
    assert Settings.event_loop == "asyncio"
    assert loop_factory("asyncio") is None
    with pytest.raises(ValueError, match="asyncio or uvloop"):
        loop_factory("trio")


def test_a_sidecar_on_uvloop_serves_like_the_default(tmp_path: Path) -> None:
    require(_has_uvloop(), "uvloop (the dev extra installs it)")
    factory = loop_factory("uvloop")
    assert factory is not None
    loop = factory()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()
    sc = spawn_sidecar(tmp_path, env={LOOP_ENV: "uvloop"})
    client = SyncClient(sc.connection_file)
    try:
        assert client.call("ping")["pong"] is True
        added = client.call("addMediaItem", {"projectId": "p", "name": "a.mp4",
                                             "type": MediaType.VIDEO}, [b"frames"])
        assert added["item"]["durable"] is True
        page = client.call("listMediaItems", {"projectId": "p"})
        assert [i["id"] for i in page["items"]] == [added["item"]["id"]]
    finally:
        client.close()
        assert sc.stop() == 0
