"""What a connector raises to tell the runner what to do, and the servers' hints on when to retry.

Failure classes (the policy is in ``base.py``; the runner applies it with the project's one retry
policy, ``pipeline.retry``):

- :class:`FatalError`: cannot continue (bad credentials, 4xx on the endpoint itself, a bug);
- :class:`RetriableError`: transient (timeout, connection reset, 429, 5xx); its ``retry_after``
  carries the server's own hint, which ``pipeline.retry`` waits out exactly.

Servers say when to come back: ``Retry-After`` (seconds or an HTTP date, RFC 9110), X's
``x-rate-limit-reset`` and Bluesky's ``RateLimit-Reset`` (epoch seconds), Mastodon's
``X-RateLimit-Reset`` (an ISO 8601 time). Waiting less than that only burns the quota, so the
hint wins over the computed backoff.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from datetime import datetime

__all__ = [
    "FatalError",
    "RetriableError",
    "SourceError",
    "error_for_status",
    "retry_after_seconds",
]


class SourceError(Exception):
    """Base of the errors a connector raises to tell the runner what to do."""


class FatalError(SourceError):
    """Cannot continue (bad credentials, 4xx on the endpoint itself, a bug): stop with exit 1."""


class RetriableError(SourceError):
    """Transient (timeout, connection reset, 429, 5xx): back off and try again."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _epoch_hint(value: str, now: float) -> float | None:
    try:
        return max(0.0, float(value) - now)
    except ValueError:
        return None


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, in any of the forms above; None when it did not."""
    now = time.time() if now is None else now
    lower = {k.lower(): v.strip() for k, v in headers.items()}
    value = lower.get("retry-after")
    if value is not None:
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - now)
    if "x-rate-limit-reset" in lower:  # X: epoch seconds
        return _epoch_hint(lower["x-rate-limit-reset"], now)
    if "ratelimit-reset" in lower:  # Bluesky, the IETF draft: epoch seconds
        return _epoch_hint(lower["ratelimit-reset"], now)
    reset = lower.get("x-ratelimit-reset")
    if reset:  # Mastodon: an ISO 8601 time; some servers send epoch seconds under this name
        if reset.replace(".", "", 1).isdigit():
            return _epoch_hint(reset, now)
        try:
            when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            return None
        return max(0.0, when.timestamp() - now)
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
