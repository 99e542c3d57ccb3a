"""Settings of the media store (owned by the store; composed into sidecar.settings)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class StoreConfig:
    # The seeds' rollback plan: a failed save removes the item and the add fails.
    rollback_on_failure: bool = False
    # Bytes of unsaved items held in memory before spilling to ``spill_dir``.
    hold_memory_budget: int = 256 * 1024 * 1024
    # Where spilled copies and the fallback journal go: None = ``<data>/spill`` (kept across
    # reboots, owner-only); a path (another filesystem) gets one sub-directory per data dir.
    spill_dir: Path | None = None
    spill_budget: int = 8 * 1024 * 1024 * 1024
    # Local files ``addMediaItem.sourcePath`` may read from.
    import_roots: tuple[Path, ...] = field(default_factory=lambda: (Path.home(),))
    max_metadata_bytes: int = 64 * 1024
    retry_concurrency: int = 4
    # Background retry of unsaved items (and of records the database could not take):
    # first attempt at start / after a failure, then exponential backoff up to the max.
    auto_retry: bool = True
    retry_backoff_initial: float = 1.0
    retry_backoff_max: float = 60.0
    # Threads that run blocking store work (fsync, SQLite) off the event loop.
    io_threads: int = 8

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StoreConfig:
        kw: dict[str, object] = {}
        if "MEDIA_SIDECAR_ROLLBACK_ON_FAILURE" in env:
            kw["rollback_on_failure"] = _flag(env["MEDIA_SIDECAR_ROLLBACK_ON_FAILURE"])
        if "MEDIA_SIDECAR_HOLD_MEMORY_BUDGET" in env:
            kw["hold_memory_budget"] = int(env["MEDIA_SIDECAR_HOLD_MEMORY_BUDGET"])
        if "MEDIA_SIDECAR_SPILL_DIR" in env:
            kw["spill_dir"] = Path(env["MEDIA_SIDECAR_SPILL_DIR"])
        if "MEDIA_SIDECAR_SPILL_BUDGET" in env:
            kw["spill_budget"] = int(env["MEDIA_SIDECAR_SPILL_BUDGET"])
        if "MEDIA_SIDECAR_AUTO_RETRY" in env:
            kw["auto_retry"] = _flag(env["MEDIA_SIDECAR_AUTO_RETRY"])
        if env.get("MEDIA_SIDECAR_RETRY_BACKOFF_INITIAL"):
            kw["retry_backoff_initial"] = float(env["MEDIA_SIDECAR_RETRY_BACKOFF_INITIAL"])
        if env.get("MEDIA_SIDECAR_RETRY_BACKOFF_MAX"):
            kw["retry_backoff_max"] = float(env["MEDIA_SIDECAR_RETRY_BACKOFF_MAX"])
        if env.get("MEDIA_SIDECAR_IMPORT_ROOTS"):
            kw["import_roots"] = tuple(
                Path(p) for p in env["MEDIA_SIDECAR_IMPORT_ROOTS"].split(os.pathsep) if p
            )
        return cls(**kw)  # type: ignore[arg-type]
