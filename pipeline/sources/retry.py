"""Retry with exponential backoff that honours the server's own hints.

Servers say when to come back: ``Retry-After`` (seconds or an HTTP date, RFC 9110) and X's
``x-rate-limit-reset`` (epoch seconds when the window resets). Waiting less than that only burns
the quota, so the hint wins over the computed backoff (capped at ``Backoff.max_hint``).

Failure policy (applied by :func:`call_with_retry` and by the runner around ``poll``/``stream``):
``RetriableError`` (timeouts, 429, 5xx) is retried with backoff up to ``max_attempts`` in a row and
then becomes fatal; anything else propagates at once.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class SourceError(Exception):
    """Base of the errors a connector raises to tell the runner what to do."""


class FatalError(SourceError):
    """Cannot continue (bad credentials, 4xx on the endpoint itself, a bug): stop with exit 1."""


class RetriableError(SourceError):
    """Transient (timeout, connection reset, 429, 5xx): back off and try again."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait according to ``Retry-After`` or ``x-rate-limit-reset``, if present."""
    now = time.time() if now is None else now
    lower = {k.lower(): v for k, v in headers.items()}
    value = lower.get("retry-after")
    if value is not None:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - now)
    reset = lower.get("x-rate-limit-reset") or lower.get("x-ratelimit-reset")
    if reset is not None:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            return None
    return None


def error_for_status(
    status: int, headers: Mapping[str, str], what: str, now: float | None = None
) -> SourceError | None:
    """Classify an HTTP status: ``None`` when fine, else the error to raise.

    429 and 5xx are retriable (with the server's hint); 408 is a timeout, also retriable; other
    4xx mean our request or credentials are wrong, which retrying will not fix: fatal. A connector
    that can skip one bad item (say a 404 on one post) decides that itself before calling this.
    """
    if status < 400:
        return None
    if status in (408, 429) or status >= 500:
        return RetriableError(f"{what}: HTTP {status}", retry_after_seconds(headers, now))
    return FatalError(f"{what}: HTTP {status}")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter; ``max_attempts`` consecutive failures become fatal."""

    initial: float = 1.0
    multiplier: float = 2.0
    maximum: float = 120.0
    jitter: float = 0.1
    max_attempts: int = 8
    max_hint: float = 900.0

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_hint)
        base = min(self.maximum, self.initial * self.multiplier ** (attempt - 1))
        spread = base * self.jitter
        return max(0.0, base + (rng or random).uniform(-spread, spread))


def call_with_retry(
    fn: Callable[[], T],
    *,
    backoff: Backoff = Backoff(),
    sleep: Callable[[float], object] = time.sleep,
    on_retry: Callable[[int, float, RetriableError], None] | None = None,
) -> T:
    """Call ``fn`` until it returns, retrying ``RetriableError`` with backoff.

    ``sleep`` is injectable (tests pass a fake; the runner passes a wait that returns True when a
    stop was requested, in which case we give up at once with the last error).
    """
    attempt = 0
    while True:
        try:
            return fn()
        except RetriableError as exc:
            attempt += 1
            if attempt >= backoff.max_attempts:
                raise FatalError(f"gave up after {attempt} attempts: {exc}") from exc
            wait = backoff.delay(attempt, exc.retry_after)
            if on_retry is not None:
                on_retry(attempt, wait, exc)
            if sleep(wait) is True:
                raise
