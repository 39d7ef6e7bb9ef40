"""Small HTTP helpers shared by the requests-based connectors (x, mastodon, bluesky).

requests, because tweepy already brings it (one HTTP stack for the three social connectors, and
one way to replay recorded responses in tests). Two things it lacks by default, added here:
a timeout on every request (requests waits forever otherwise, and tweepy passes none), and the
kit's failure classes for transport errors and HTTP statuses.

Failure policy (see ``retry.py``): connection errors, timeouts, 408, 429 and 5xx are retriable
with the server's hint (``Retry-After``; X's ``x-rate-limit-reset`` and Bluesky's
``RateLimit-Reset``, epoch seconds; Mastodon's ``X-RateLimit-Reset``, an ISO 8601 time); a 200
whose body is not JSON is retriable too (a proxy's error page); other 4xx are fatal.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import requests

from pipeline.sources.retry import (
    FatalError,
    RetriableError,
    SourceError,
    error_for_status,
    retry_after_seconds,
)

__all__ = ["TimeoutSession", "fetch_json", "status_error", "wait_hint"]

USER_AGENT = "campaign-buzz/0.1 (source connector)"


class TimeoutSession(requests.Session):
    """A ``requests.Session`` whose requests time out unless the caller says otherwise."""

    def __init__(self, timeout: float | tuple[float, float] = (10.0, 30.0)) -> None:
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)


def wait_hint(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, in any of the forms the three platforms use."""
    hint = retry_after_seconds(headers, now)
    if hint is not None:
        return hint
    lower = {k.lower(): v for k, v in headers.items()}
    # Bluesky: the IETF draft's RateLimit-Reset, epoch seconds.
    epoch = lower.get("ratelimit-reset", "")
    if epoch.isdigit():
        current = time.time() if now is None else now
        return max(0.0, float(epoch) - current)
    reset = lower.get("x-ratelimit-reset")
    if reset:
        try:
            when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            return None
        current = datetime.now(when.tzinfo).timestamp() if now is None else now
        return max(0.0, when.timestamp() - current)
    return None


def status_error(resp: requests.Response, what: str) -> SourceError | None:
    """The kit's error for a response's status (None when 2xx/3xx), with the server's hint."""
    err = error_for_status(resp.status_code, resp.headers, what)
    if isinstance(err, RetriableError) and err.retry_after is None:
        err.retry_after = wait_hint(resp.headers)
    if isinstance(err, FatalError):
        detail = resp.text[:300].strip()
        if detail:
            err = FatalError(f"{err}: {detail}")
    return err


def fetch_json(
    session: requests.Session,
    url: str,
    what: str,
    *,
    params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[Any, requests.Response]:
    """GET ``url`` and decode its JSON; raise the kit's Retriable/FatalError on failure."""
    try:
        resp = session.get(url, params=params, headers=headers)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise RetriableError(f"{what}: {type(exc).__name__}: {exc}") from exc
    err = status_error(resp, what)
    if err is not None:
        raise err
    try:
        return resp.json(), resp
    except ValueError:
        kind = resp.headers.get("content-type", "?")
        raise RetriableError(f"{what}: the answer is not JSON ({kind})") from None
