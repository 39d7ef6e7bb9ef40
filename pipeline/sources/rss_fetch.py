"""HTTP for the rss connector: conditional GET, a timeout, a size cap, and errors sorted by policy.

feedparser can fetch URLs itself, but then timeouts, caching headers and response size are not
ours to control; we fetch with requests and hand feedparser the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from pipeline.sources.retry import retry_after_seconds

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)


class FeedTooLarge(Exception):
    """The response grew past the size cap: a hostile or broken feed, skipped."""

    def __init__(self, limit: int, head: bytes) -> None:
        super().__init__(f"response larger than the {limit}-byte cap (--max-bytes)")
        self.head = head


class FetchFailed(Exception):
    """The feed could not be fetched this time (network, timeout, HTTP error): back off it."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Fetched:
    status: int  # 200, or 304 when the feed has not changed since our ETag / Last-Modified
    body: bytes
    etag: str | None
    last_modified: str | None


def fetch_feed(
    session: requests.Session,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    timeout: float,
    max_bytes: int,
) -> Fetched:
    """GET ``url`` conditionally; raise FetchFailed or FeedTooLarge."""
    headers = {"Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        # stream=True so a huge body is cut off at the cap instead of being read into memory.
        with session.get(url, headers=headers, timeout=timeout, stream=True) as resp:
            if resp.status_code == 304:
                return Fetched(304, b"", etag, last_modified)
            if resp.status_code >= 400:
                hint = retry_after_seconds(resp.headers)
                raise FetchFailed(f"HTTP {resp.status_code}", hint)
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FeedTooLarge(max_bytes, b"")
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_content(64 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    raise FeedTooLarge(max_bytes, b"".join(chunks)[:4096])
            return Fetched(
                resp.status_code,
                b"".join(chunks),
                resp.headers.get("ETag"),
                resp.headers.get("Last-Modified"),
            )
    except requests.RequestException as exc:
        raise FetchFailed(f"{type(exc).__name__}: {exc}") from None
