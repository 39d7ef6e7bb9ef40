"""The one HTTP fetch helper of the connectors: a timeout on every request, a size cap,
conditional GET, and answers sorted into the kit's failure classes.

requests, because tweepy already brings it: one HTTP stack for every connector, and one way to
replay recorded responses in tests (``responses``, or ``testing.FixtureServer``). Two things
requests lacks by default are added here: a timeout on every request (requests waits forever
otherwise, and tweepy passes none) and a cap on what one answer may weigh (read in chunks, cut
off at ``max_bytes``, so a hostile endless body never fills memory).

Failure policy: connection errors, timeouts, 408, 429 and 5xx raise :class:`RetriableError` with
the server's hint (``errors.retry_after_seconds``); other 4xx raise :class:`FatalError` with the
first 300 characters of the server's answer; a body over ``max_bytes`` raises
:class:`TooLarge` (carrying its head, for a dead letter); a 200 whose body is not JSON, asked
for as JSON, is retriable (a proxy's error page). Statuses a connector handles itself (a 404 on
one topic) are passed in ``allow`` and returned as they are.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import requests

from pipeline.sources.errors import FatalError, RetriableError, SourceError, error_for_status

__all__ = ["Fetched", "TimeoutSession", "TooLarge", "fetch", "fetch_json", "status_error"]

USER_AGENT = "campaign-buzz/0.1 (source connector)"
CHUNK = 64 * 1024


class TimeoutSession(requests.Session):
    """A ``requests.Session`` whose requests time out unless the caller says otherwise."""

    def __init__(
        self,
        timeout: float | tuple[float, float] = (10.0, 30.0),
        *,
        user_agent: str = USER_AGENT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = user_agent
        self.headers.update(headers or {})

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)


class TooLarge(FatalError):
    """The answer grew past ``max_bytes``: a hostile or broken source, not read further."""

    def __init__(self, what: str, limit: int, head: bytes) -> None:
        super().__init__(f"{what}: answer larger than the {limit}-byte cap")
        self.head = head


@dataclass(frozen=True)
class Fetched:
    """One answer: its status (2xx, 304, or one of ``allow``), body and headers."""

    what: str
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    links: Mapping[str, Any] = field(default_factory=dict)  # the Link header, parsed

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("Last-Modified")

    def json(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            kind = self.headers.get("Content-Type", "?")
            raise RetriableError(f"{self.what}: the answer is not JSON ({kind})") from None


def status_error(resp: requests.Response, what: str) -> SourceError | None:
    """The kit's error for a response's status (None when 2xx/3xx), with the server's hint."""
    err = error_for_status(resp.status_code, resp.headers, what)
    if isinstance(err, FatalError):
        detail = next(resp.iter_content(300), b"").decode("utf-8", "replace").strip()
        if detail:
            err = FatalError(f"{err}: {detail}")
    return err


def fetch(
    session: requests.Session,
    url: str,
    what: str,
    *,
    params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int | None = None,
    allow: Collection[int] = (),
) -> Fetched:
    """GET ``url`` (conditionally, with ``etag``/``last_modified``); raise by the policy above."""
    sent = dict(headers or {})
    if etag:
        sent["If-None-Match"] = etag
    if last_modified:
        sent["If-Modified-Since"] = last_modified
    try:
        # stream=True so a huge body is cut off at the cap instead of being read into memory.
        with session.get(url, params=params, headers=sent, stream=True) as resp:
            got = dict(resp.headers)
            if resp.status_code == 304 or resp.status_code in allow:
                return Fetched(what, resp.status_code, b"", got, resp.links)
            err = status_error(resp, what)
            if err is not None:
                raise err
            declared = resp.headers.get("Content-Length", "")
            if max_bytes is not None and declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(what, max_bytes, b"")
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_content(CHUNK):
                chunks.append(chunk)
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise TooLarge(what, max_bytes, b"".join(chunks)[:CHUNK])
            return Fetched(what, resp.status_code, b"".join(chunks), got, resp.links)
    except requests.RequestException as exc:
        raise RetriableError(f"{what}: {type(exc).__name__}: {exc}") from exc


def fetch_json(
    session: requests.Session,
    url: str,
    what: str,
    *,
    params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
) -> tuple[Any, Fetched]:
    """GET ``url`` and decode its JSON; raise the kit's RetriableError/FatalError on failure."""
    got = fetch(session, url, what, params=params, headers=headers, max_bytes=max_bytes)
    return got.json(), got
