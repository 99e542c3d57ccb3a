from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sidecar.settings import Settings
from tests.service.caller import Caller, make_settings, open_caller


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def caller(settings: Settings) -> AsyncIterator[Caller]:
    c = await open_caller(settings)
    yield c
    await c.close()
