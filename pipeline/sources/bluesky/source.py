"""``bluesky``: posts from ``app.bsky.feed.searchPosts`` on a public AppView, as mentions.

Each tracked term (``--query``, default: every campaign term, phrases quoted) is searched with
``sort=latest``, paging with ``cursor`` up to ``max_pages``. Authors' audiences come from
``app.bsky.actor.getProfiles`` (``followersCount``), asked in batches of 25 actors and cached for
``profile_ttl`` seconds, since search results carry no follower counts.

Checkpoint, per query: ``since``, the newest ``indexedAt`` seen, and ``recent``, the URIs (with
their ``indexedAt``) emitted within ``overlap_seconds`` of it. The next poll asks
``since=<since - overlap>`` (the server filters on its own sort time, which can be a little
earlier than ``indexedAt``) and skips the URIs it already emitted, so a restart neither loses
nor repeats posts. Like X search, results come newest first, so the checkpoint moves only when
a query's pages are all yielded.

The two endpoints are read in ``client.py``; post views become mentions in ``mapping.py``
(pure).

Failure policy: 429 waits until ``RateLimit-Reset``; 5xx, timeouts and non-JSON answers are
retriable; other 4xx are fatal with the XRPC error (a 403 on ``searchPosts`` means this AppView
does not serve search without login: point ``--base-url`` at one that does); a post that cannot
be mapped becomes a dead letter. A failed profile lookup leaves audiences at 0 for that batch
rather than stopping the search (logged).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import orjson
from pydantic import Field, field_validator

from pipeline.events import Mention
from pipeline.sources.base import PollingConfig, PollingSource, SourceConfig
from pipeline.sources.bluesky.client import PROFILE_BATCH, BlueskyClient
from pipeline.sources.bluesky.mapping import UnmappablePost, post_fields
from pipeline.sources.emitter import Record
from pipeline.sources.errors import SourceError
from pipeline.sources.terms import campaign_terms, quote_term


class BlueskyConfig(PollingConfig):
    base_url: str = Field("https://public.api.bsky.app/xrpc", description="XRPC base of an AppView")
    query: list[str] = Field(default_factory=list, description="Searches (default: campaign terms)")
    lang: str = Field("", description="Only posts in this language (e.g. en)")
    limit: int = Field(100, ge=1, le=100, description="Posts per page (maximum 100)")
    max_pages: int = Field(5, ge=1, le=100, description="Pages per query and poll")
    overlap_seconds: float = Field(300.0, ge=0, description="Re-ask this much before `since`")
    profile_ttl: float = Field(3600.0, ge=0, description="Seconds a follower count is reused")
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for the AppView")

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://public.api.bsky.app/xrpc")
        return v.rstrip("/")

    @field_validator("query", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        # The CLI passes one `--option value` as a string and a repeated option as a list.
        return [v] if isinstance(v, str) else v


class BlueskySource(PollingSource[BlueskyConfig]):
    name: ClassVar[str] = "bluesky"
    description: ClassVar[str] = "Bluesky: app.bsky.feed.searchPosts on a public AppView"
    Config: ClassVar[type[SourceConfig]] = BlueskyConfig

    def setup(self) -> None:
        cfg = self.config
        if cfg.query:
            self.queries = list(dict.fromkeys(cfg.query))
        else:
            terms = campaign_terms(self.ctx.settings)
            self.queries = list(dict.fromkeys(quote_term(t) for t in terms))
        self.client = BlueskyClient(cfg.base_url, cfg.timeout)
        self.profiles: dict[str, tuple[float, int]] = {}  # did -> (fetched at, followers)

    def teardown(self) -> None:
        self.client.close()

    def poll(self) -> Iterator[Record]:
        seen: set[str] = set()
        for query in self.queries:
            yield from self._search(query, seen)

    def _search(self, query: str, seen: set[str]) -> Iterator[Record]:
        cfg = self.config
        state = self.checkpoint.setdefault("queries", {}).get(query) or {}
        since: str | None = state.get("since")
        recent: dict[str, str] = dict(state.get("recent") or {})  # uri -> indexedAt
        asked = _iso(_parse(since) - timedelta(seconds=cfg.overlap_seconds)) if since else None
        done = set(recent)
        pages = self.client.search_pages(
            query, since=asked, lang=cfg.lang, limit=cfg.limit, max_pages=cfg.max_pages
        )
        for page in pages:
            if page.posts is None:
                yield self.dead_letter(page.body, "searchPosts: no 'posts' list in the answer")
                break
            fresh = [p for p in page.posts if not (isinstance(p, Mapping) and p.get("uri") in done)]
            audiences = self._audiences(fresh)
            for post in fresh:
                yield from self._record(post, audiences, seen)
                stamp = post.get("indexedAt") if isinstance(post, Mapping) else None
                if isinstance(stamp, str) and _valid(stamp):
                    recent[str(post.get("uri"))] = stamp
        if recent:
            newest = max(recent.values(), key=_parse)
            floor = _parse(newest) - timedelta(seconds=cfg.overlap_seconds)
            # Only URIs the next poll's overlap window can return again are worth keeping.
            keep = {u: t for u, t in recent.items() if _parse(t) >= floor}
            self.checkpoint["queries"][query] = {"since": newest, "recent": keep}

    def _audiences(self, posts: list[Any]) -> dict[str, int]:
        """Followers of the posts' authors: cached, the rest asked 25 actors at a time."""
        now = time.monotonic()
        dids = {
            p["author"]["did"]
            for p in posts
            if isinstance(p, Mapping) and isinstance(p.get("author"), Mapping)
            and p["author"].get("did")
        }  # fmt: skip
        missing = sorted(
            d
            for d in dids
            if d not in self.profiles or now - self.profiles[d][0] > self.config.profile_ttl
        )
        for i in range(0, len(missing), PROFILE_BATCH):
            batch = missing[i : i + PROFILE_BATCH]
            try:
                counts = self.client.followers(batch)
            except SourceError as exc:
                self.log.warning("bluesky: %s; audiences of %d authors unknown", exc, len(batch))
                continue
            for did, followers in counts.items():
                self.profiles[did] = (now, followers)
        return {d: self.profiles[d][1] for d in dids if d in self.profiles}

    def _record(self, post: Any, audiences: Mapping[str, int], seen: set[str]) -> Iterator[Record]:
        raw = orjson.dumps(post)
        try:
            fields = post_fields(post, audiences)
        except (UnmappablePost, KeyError, TypeError, AttributeError, ValueError) as exc:
            yield self.dead_letter(raw, f"unmappable post: {exc}")
            return
        if fields["event_id"] in seen:
            return  # found by two of our queries in one poll
        seen.add(fields["event_id"])
        yield self.build(Mention, raw, **fields)


def _parse(stamp: str) -> datetime:
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _valid(stamp: str) -> bool:
    try:
        _parse(stamp)
    except ValueError:
        return False
    return True


def _iso(when: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ``, the form the AppView uses."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
