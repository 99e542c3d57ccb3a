"""open_beneath: no symlink followed in any component, both ways (openat2 and the walk)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.service.beneath import open_beneath, openat2_available
from tests.support import require

WAYS = [pytest.param(False, id="walk"), pytest.param(True, id="openat2")]


@pytest.fixture
def root(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    r = tmp_path / "root"
    (r / "a" / "b").mkdir(parents=True)
    (r / "a" / "b" / "f").write_bytes(b"inside")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "f").write_bytes(b"outside")
    (r / "dirlink").symlink_to(tmp_path / "out")
    (r / "rel-dirlink").symlink_to("a")
    (r / "a" / "filelink").symlink_to(r / "a" / "b" / "f")
    fd = os.open(r, os.O_RDONLY | os.O_DIRECTORY)
    yield r, fd
    os.close(fd)


def _open(fd: int, rel: str, use_openat2: bool) -> bytes:
    if use_openat2:
        require(openat2_available(), "openat2 (Linux >= 5.6)")
    f = open_beneath(fd, rel, os.O_RDONLY, use_openat2=use_openat2)
    try:
        return os.read(f, 100)
    finally:
        os.close(f)


@pytest.mark.parametrize("use_openat2", WAYS)
def test_a_plain_path_opens(root: tuple[Path, int], use_openat2: bool) -> None:
    assert _open(root[1], "a/b/f", use_openat2) == b"inside"
    assert _open(root[1], "./a//b/./f", use_openat2) == b"inside"


@pytest.mark.parametrize("use_openat2", WAYS)
@pytest.mark.parametrize("rel", ["dirlink/f", "rel-dirlink/b/f", "a/filelink", "a/../a/b/f",
                                 "a/b/f/x", "", "."])
def test_links_dotdot_and_non_dirs_are_refused(root: tuple[Path, int], rel: str,
                                               use_openat2: bool) -> None:
    with pytest.raises(OSError) as info:
        _open(root[1], rel, use_openat2)
    assert info.value.errno in (errno.ELOOP, errno.ENOTDIR, errno.EXDEV, errno.EINVAL)
