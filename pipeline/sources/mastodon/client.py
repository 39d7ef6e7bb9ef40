"""One Mastodon instance's API as the ``mastodon`` connector reads it: pages of statuses.

- ``GET /api/v1/timelines/tag/:hashtag``: public on most instances, no token needed;
- ``GET /api/v2/search?type=statuses``: only with an access token (Mastodon answers full-text
  search only to logged-in users, and only where the instance has search enabled).

Paging moves forward in time: from a known status id we ask ``min_id=<id>`` (the page right
after it) and follow the ``Link: rel="prev"`` header to the next newer page while it stays on
the instance; a feed seen for the first time gets its newest page only (no backfill).

HTTP with the kit's one helper (``pipeline.sources.http``, on requests) rather than Mastodon.py,
which would add a dependency for two GET calls and hides the rate-limit headers behind its own
sleeping. Failure policy: the helper's (429 waits until ``X-RateLimit-Reset``; 5xx, timeouts and
non-JSON answers retriable), and 401/403 fatal with "check BUZZ_SOURCE_MASTODON_ACCESS_TOKEN".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlparse

from pipeline.sources.errors import FatalError
from pipeline.sources.http import TimeoutSession, fetch_json

TOKEN_HINT = "check BUZZ_SOURCE_MASTODON_ACCESS_TOKEN (or --access-token)"


def id_key(status_id: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings of growing length: this compares them as numbers."""
    return (len(status_id), status_id)


@dataclass(frozen=True)
class Page:
    statuses: list[Any] | None  # None: the answer held no list of statuses
    body: bytes
    newest: str | None  # the newest status id on the page


class MastodonClient:
    def __init__(self, instance_url: str, timeout: float, access_token: str | None) -> None:
        self.base = instance_url
        self.host = urlparse(instance_url).netloc.lower()
        auth = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        self.session = TimeoutSession((10.0, timeout), headers=auth)

    def close(self) -> None:
        self.session.close()

    def tag_pages(self, tag: str, since: str | None, limit: int, max_pages: int) -> Iterator[Page]:
        url = f"{self.base}/api/v1/timelines/tag/{quote(tag, safe='')}"
        yield from self._pages(f"mastodon tags {tag!r}", url, {}, since, limit, max_pages)

    def search_pages(
        self, term: str, since: str | None, limit: int, max_pages: int
    ) -> Iterator[Page]:
        params = {"q": term, "type": "statuses", "resolve": "false"}
        url = f"{self.base}/api/v2/search"
        yield from self._pages(f"mastodon search {term!r}", url, params, since, limit, max_pages)

    def _pages(
        self,
        what: str,
        url: str,
        params: dict[str, str],
        since: str | None,
        limit: int,
        max_pages: int,
    ) -> Iterator[Page]:
        """Pages newer than ``since``, oldest page first; without ``since``, the newest page."""
        next_url, query = url, {**params, "limit": limit}
        if since is not None:
            query["min_id"] = since
        for _ in range(max_pages):
            body, got = self._get(next_url, query, what)
            statuses = body.get("statuses") if isinstance(body, dict) else body
            if not isinstance(statuses, list):
                yield Page(None, got.body, None)
                return
            if not statuses:
                return
            ids = [str(s["id"]) for s in statuses if isinstance(s, Mapping) and s.get("id")]
            newest = max(ids, key=id_key) if ids else None
            yield Page(statuses, got.body, newest)
            if since is None:
                return  # first sight of this feed: its newest page only, no backfill
            if newest is not None and id_key(newest) > id_key(since):
                since = newest
            next_url, query = self._newer(got.links, url, params, since, limit)

    def _newer(
        self, links: Mapping[str, Any], url: str, params: dict[str, str], cursor: str, limit: int
    ) -> tuple[str, dict[str, Any]]:
        """The next newer page: the Link rel="prev" URL when it stays on the instance."""
        prev = (links.get("prev") or {}).get("url")
        if prev and urlparse(prev).netloc.lower() == self.host and "min_id=" in prev:
            return prev, {}
        return url, {**params, "limit": limit, "min_id": cursor}

    def _get(self, url: str, query: dict[str, Any], what: str) -> tuple[Any, Any]:
        try:
            return fetch_json(self.session, url, what, params=query or None)
        except FatalError as exc:
            if "HTTP 401" in str(exc) or "HTTP 403" in str(exc):
                raise FatalError(f"{exc}: {TOKEN_HINT}") from None
            raise
