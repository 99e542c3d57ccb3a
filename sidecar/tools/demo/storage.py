"""How the demo breaks storage: for real on a small tmpfs (root), or simulated (test hooks).

``RealDisk`` (root): the data dir is a small tmpfs mounted for the demo. "Disk full" fills
it with a file until the kernel answers ENOSPC; "space returns" deletes that file.
"Read-only" bind-mounts the store's temp dir (where every blob is written first) and its
downloads dir (partial downloads, kept for a resume) onto themselves and remounts those
binds read-only, so the kernel answers EROFS; a plain
``mount -o remount,ro`` of the whole tmpfs is refused (EBUSY) while the sidecar holds its
database open for writing, which is also what happens to a real app. "Writable again"
unmounts the bind. Everything is unmounted in ``cleanup``, even after a failure.

``SimulatedDisk`` (not root, or mounting not permitted): the sidecar runs with
``--enable-test-hooks`` and the test-only ``testFault`` method makes the store's OS seam
(sidecar/store/osio.py, the one place every write passes) fail with ENOSPC or EROFS: the
same errno, raised one layer above the kernel.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from protocol.vocabulary import FaultErrno, FaultOp
from sidecar.portable.process import is_superuser

if TYPE_CHECKING:
    from sidecar.client import Client

TMPFS_SIZE = "24m"
FILL_CHUNK = 256 * 1024


class StorageSetupError(Exception):
    """Mounting did not work (then the demo simulates instead)."""


def _run(*cmd: str) -> None:
    res = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, check=False)
    if res.returncode != 0:
        raise StorageSetupError(f"{' '.join(cmd)}: {res.stderr.strip() or res.returncode}")


class Disk:
    """The failure switchboard the tour uses."""

    real = False
    sidecar_args: tuple[str, ...] = ()

    def how(self) -> str:
        raise NotImplementedError

    def prepare(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    async def fill(self, client: Client) -> str:
        raise NotImplementedError

    async def free(self, client: Client) -> str:
        raise NotImplementedError

    async def block(self, client: Client) -> str:
        raise NotImplementedError

    async def unblock(self, client: Client) -> str:
        raise NotImplementedError

    def cleanup(self) -> None:
        return None


class RealDisk(Disk):
    real = True

    def __init__(self) -> None:
        self.data_dir: Path | None = None
        self.mounted = False
        self.ro_binds: list[Path] = []
        self.filler: Path | None = None

    def how(self) -> str:
        return (f"REAL failures: the data dir is a {TMPFS_SIZE} tmpfs; the kernel itself will "
                "answer ENOSPC (disk full) and EROFS (read-only)")

    def prepare(self, data_dir: Path) -> None:
        super().prepare(data_dir)
        _run("mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs",
             str(data_dir))
        self.data_dir = data_dir
        self.mounted = True

    async def fill(self, client: Client) -> str:
        import asyncio

        return await asyncio.to_thread(self._fill)

    def _fill(self) -> str:
        assert self.data_dir is not None
        self.filler = self.data_dir / "filler.bin"
        written = 0
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (FILL_CHUNK, 4096, 1):  # big steps, then fill the last page too
                chunk = b"\0" * size
                while True:
                    try:
                        written += os.write(fd, chunk)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)
        return (f"wrote {written // 1024} KiB of filler into the tmpfs until write() "
                "failed with ENOSPC")

    async def free(self, client: Client) -> str:
        if self.filler is not None:
            with contextlib.suppress(FileNotFoundError):
                self.filler.unlink()
            self.filler = None
        return "deleted the filler file: the tmpfs has room again"

    async def block(self, client: Client) -> str:
        assert self.data_dir is not None
        # Where the store writes bytes first: its temp dir (blobs) and the downloads dir
        # (partial downloads, kept for a resume; see store/partials.py).
        binds = [self.data_dir / "tmp", self.data_dir / "downloads"]
        for where in binds:
            where.mkdir(mode=0o700, exist_ok=True)
            _run("mount", "--bind", str(where), str(where))
            self.ro_binds.append(where)
            _run("mount", "-o", "remount,bind,ro", str(where))
        return (f"mounted {' and '.join(str(b) for b in binds)} read-only (mount --bind + "
                "mount -o remount,bind,ro): every write there now fails with EROFS")

    async def unblock(self, client: Client) -> str:
        while self.ro_binds:
            _run("umount", str(self.ro_binds.pop()))
        return "unmounted the read-only binds: the store's temp and downloads dirs are writable"

    def cleanup(self) -> None:
        while self.ro_binds:
            with contextlib.suppress(StorageSetupError):
                _run("umount", "-l", str(self.ro_binds.pop()))
        if self.mounted and self.data_dir is not None:
            with contextlib.suppress(StorageSetupError):
                _run("umount", "-l", str(self.data_dir))
            self.mounted = False


class SimulatedDisk(Disk):
    sidecar_args = ("--enable-test-hooks",)

    def __init__(self, why: str) -> None:
        self.why = why

    def how(self) -> str:
        return (f"SIMULATED failures ({self.why}): the sidecar runs with --enable-test-hooks "
                "and the test-only testFault method makes the store's OS seam fail with "
                "ENOSPC / EROFS")

    async def fill(self, client: Client) -> str:
        await client.call("testFault", {"op": FaultOp.BLOB_WRITE, "errno": FaultErrno.ENOSPC,
                                        "count": 1_000_000})
        return "testFault: every blob write now fails with ENOSPC (simulated disk full)"

    async def free(self, client: Client) -> str:
        await client.call("testFault", {"op": FaultOp.CLEAR})
        return "testFault clear: blob writes work again (simulated free space)"

    async def block(self, client: Client) -> str:
        await client.call("testFault", {"op": FaultOp.BLOB_FSYNC, "errno": FaultErrno.EROFS,
                                        "count": 1_000_000})
        return "testFault: every blob fsync now fails with EROFS (simulated read-only)"

    async def unblock(self, client: Client) -> str:
        await client.call("testFault", {"op": FaultOp.CLEAR})
        return "testFault clear: storage is writable again (simulated)"


def choose_disk(data_dir: Path, *, simulate: bool) -> Disk:
    """A RealDisk when root and mounting works; else a SimulatedDisk saying why."""
    if simulate:
        disk: Disk = SimulatedDisk("asked for with --simulate")
    elif not is_superuser():
        disk = SimulatedDisk("not root: mounting a tmpfs needs root")
    elif shutil.which("mount") is None:
        disk = SimulatedDisk("no mount command")
    else:
        real = RealDisk()
        try:
            real.prepare(data_dir)
            return real
        except StorageSetupError as exc:
            real.cleanup()
            disk = SimulatedDisk(f"mount failed: {exc}")
    disk.prepare(data_dir)
    return disk
