"""Retry policy across attempts: what is retryable, how long to wait, what carries over.

Owns the state shared by the attempts of one fetch, free of httpx so the event-loop side can
use it without importing the HTTP stack. ``Transient`` marks a retryable outcome (timeout,
connection error, 5xx/408/425/429, a body cut short); it never leaves the package: the
downloader turns the last one into ``DownloadFailed``. Waits grow exponentially from
``backoff_base`` up to ``backoff_max``, with jitter (uniform in the upper half, so concurrent
downloads do not retry in step), and honour a server's Retry-After within the same cap.
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass


class Transient(Exception):  # a retryable outcome, not an error type
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class ResumeState:
    """What one attempt learned that the next one needs."""

    final_url: str
    total: int | None = None  # full size, once a response told it
    validator: str | None = None  # for If-Range
    etag: str | None = None
    resumable: bool = False
    mime: str = ""
    # told (total, etag, validator, mime) whenever a whole body sets them (kept for a resume)
    learned: Callable[[int | None, str | None, str | None, str], None] | None = None


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    delay = min(cap, base * 2 ** (attempt - 1))
    delay = random.uniform(delay / 2, delay)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


_DELAY_SECONDS = re.compile(r"[0-9]{1,10}")  # ASCII digits only (str.isdigit takes "²", "٣")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or an HTTP date); None for anything
    else. Never raises: the header is the server's, whatever it holds."""
    value = (value or "").strip()
    if not value or len(value) > 64:
        return None
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)
    if not value.isascii():
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
        delay = when.timestamp() - time.time()
    except (TypeError, ValueError, OverflowError, OSError, IndexError):
        return None
    return max(0.0, delay) if math.isfinite(delay) else None
