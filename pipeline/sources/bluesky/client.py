"""A public Bluesky AppView's XRPC API as the ``bluesky`` connector reads it.

- ``app.bsky.feed.searchPosts`` (``sort=latest``), paged with ``cursor``;
- ``app.bsky.actor.getProfiles``, at most 25 actors a call, for follower counts (search results
  carry none).

Plain HTTP with the kit's one helper (``pipeline.sources.http``, on requests) rather than the
``atproto`` SDK: two read-only GET endpoints do not need its generated models. Failure policy:
the helper's (429 waits until ``RateLimit-Reset``; 5xx, timeouts and non-JSON answers
retriable; other 4xx fatal with the XRPC error: a 403 on ``searchPosts`` means this AppView does
not serve search without login).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.sources.http import TimeoutSession, fetch_json

PROFILE_BATCH = 25  # getProfiles' limit on actors per call


@dataclass(frozen=True)
class SearchPage:
    posts: list[Any] | None  # None: the answer held no list of posts
    body: bytes


class BlueskyClient:
    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url
        self.session = TimeoutSession((10.0, timeout))

    def close(self) -> None:
        self.session.close()

    def search_pages(
        self, query: str, *, since: str | None, lang: str, limit: int, max_pages: int
    ) -> Iterator[SearchPage]:
        """Pages of posts matching ``query`` indexed since ``since``, newest first."""
        params: dict[str, Any] = {"q": query, "sort": "latest", "limit": limit}
        if lang:
            params["lang"] = lang
        if since:
            params["since"] = since
        url = f"{self.base_url}/app.bsky.feed.searchPosts"
        for _ in range(max_pages):
            body, got = fetch_json(self.session, url, "searchPosts", params=params)
            posts = body.get("posts") if isinstance(body, dict) else None
            if not isinstance(posts, list):
                yield SearchPage(None, got.body)
                return
            yield SearchPage(posts, got.body)
            cursor = body.get("cursor")
            if not cursor or not posts:
                return
            params["cursor"] = cursor

    def followers(self, dids: list[str]) -> dict[str, int]:
        """Follower counts of up to 25 actors; those the AppView leaves out (deleted) are 0."""
        body, _ = fetch_json(
            self.session, f"{self.base_url}/app.bsky.actor.getProfiles", "getProfiles",
            params=[("actors", d) for d in dids[:PROFILE_BATCH]],
        )  # fmt: skip
        counts = dict.fromkeys(dids[:PROFILE_BATCH], 0)
        profiles = body.get("profiles") if isinstance(body, dict) else None
        for profile in profiles or []:
            if isinstance(profile, Mapping) and profile.get("did"):
                counts[profile["did"]] = int(profile.get("followersCount") or 0)
        return counts
