"""Settings of the media store (owned by the store; composed into sidecar.settings).

Each user-settable field declares its variable, flag and meaning (``sidecar.setting``);
the README and ``serve --help`` tables are generated from these declarations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sidecar.setting import at_least, from_env, setting

MIB = 1024 * 1024


def _resolved(text: str) -> Path:
    if not text.strip():
        raise ValueError("expected a path")
    return Path(text.strip()).expanduser().resolve()


@dataclass(frozen=True)
class StoreConfig:
    rollback_on_failure: bool = field(default=False, metadata=setting(
        "the seeds' old rollback: a failed save removes the item and the add fails",
        env="MEDIA_SIDECAR_ROLLBACK_ON_FAILURE"))
    hold_memory_budget: int = field(default=256 * MIB, metadata=setting(
        "bytes of unsaved items held in memory before they spill to files",
        env="MEDIA_SIDECAR_HOLD_MEMORY_BUDGET", check=at_least(0)))
    # None = ``<data>/spill`` (kept across reboots, owner-only); a path (another filesystem)
    # gets one sub-directory per data dir.
    spill_dir: Path | None = field(default=None, metadata=setting(
        "where held copies and the fallback journal go (one sub-directory per data dir)",
        env="MEDIA_SIDECAR_SPILL_DIR", default_doc="<data dir>/spill"))
    spill_budget: int = field(default=8 * 1024 * MIB, metadata=setting(
        "bytes of unsaved items that may be spilled to files",
        env="MEDIA_SIDECAR_SPILL_BUDGET", check=at_least(0)))
    import_roots: tuple[Path, ...] = field(default_factory=lambda: (Path.home(),), metadata=(
        setting("a directory addMediaItem.sourcePath may read from",
                env="MEDIA_SIDECAR_IMPORT_ROOTS", flag="--import-root", parse=_resolved,
                metavar="DIR", default_doc="the home directory (variable: os.pathsep list)")))
    import_max_bytes: int = field(default=8 * 1024 * MIB, metadata=setting(
        "the size cap of a local import (its size is taken when it is opened)",
        env="MEDIA_SIDECAR_IMPORT_MAX_BYTES", check=at_least(1)))
    import_hardlinks: bool = field(default=False, metadata=setting(
        "import files with more than one hard link (refused by default: another name of "
        "the same inode may live outside the import roots)",
        env="MEDIA_SIDECAR_IMPORT_HARDLINKS"))
    max_metadata_bytes: int = 64 * 1024
    retry_concurrency: int = 4
    # Background retry of unsaved items (and of records the database could not take):
    # first attempt at start / after a failure, then exponential backoff up to the max.
    auto_retry: bool = field(default=True, metadata=setting(
        "retry unsaved items in the background when storage may be back",
        env="MEDIA_SIDECAR_AUTO_RETRY"))
    retry_backoff_initial: float = field(default=1.0, metadata=setting(
        "seconds before the first background retry", env="MEDIA_SIDECAR_RETRY_BACKOFF_INITIAL",
        check=at_least(0)))
    retry_backoff_max: float = field(default=60.0, metadata=setting(
        "longest pause between background retries, in seconds",
        env="MEDIA_SIDECAR_RETRY_BACKOFF_MAX", check=at_least(0)))
    # Threads that run blocking store work (fsync, SQLite) off the event loop.
    io_threads: int = 8

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StoreConfig:
        config: StoreConfig = from_env(cls, env)
        return config
