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

Plain HTTP with the kit's one helper (``pipeline.sources.http``, on requests) rather than the
``atproto`` SDK: two read-only GET endpoints do not need its generated models. The mapping of
post views to mentions is ``mapping.py`` (pure).

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
from pipeline.sources.bluesky.mapping import UnmappablePost, post_fields
from pipeline.sources.emitter import Record
from pipeline.sources.errors import SourceError
from pipeline.sources.http import TimeoutSession, fetch_json
from pipeline.sources.terms import campaign_terms, quote_term

PROFILE_BATCH = 25  # getProfiles' limit on actors per call


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
        self.session = TimeoutSession((10.0, cfg.timeout))
        self.profiles: dict[str, tuple[float, int]] = {}  # did -> (fetched at, followers)

    def teardown(self) -> None:
        self.session.close()

    def poll(self) -> Iterator[Record]:
        seen: set[str] = set()
        for query in self.queries:
            yield from self._search(query, seen)

    def _search(self, query: str, seen: set[str]) -> Iterator[Record]:
        cfg = self.config
        state = self.checkpoint.setdefault("queries", {}).get(query) or {}
        since: str | None = state.get("since")
        recent: dict[str, str] = dict(state.get("recent") or {})  # uri -> indexedAt
        params: dict[str, Any] = {"q": query, "sort": "latest", "limit": cfg.limit}
        if cfg.lang:
            params["lang"] = cfg.lang
        if since:
            params["since"] = _iso(_parse(since) - timedelta(seconds=cfg.overlap_seconds))
        done = set(recent)
        for _ in range(cfg.max_pages):
            body, resp = fetch_json(
                self.session, f"{cfg.base_url}/app.bsky.feed.searchPosts", "searchPosts",
                params=params,
            )  # fmt: skip
            posts = body.get("posts") if isinstance(body, dict) else None
            if not isinstance(posts, list):
                yield self.dead_letter(resp.body, "searchPosts: no 'posts' list in the answer")
                break
            fresh = [p for p in posts if not (isinstance(p, Mapping) and p.get("uri") in done)]
            audiences = self._audiences(fresh)
            for post in fresh:
                yield from self._record(post, audiences, seen)
                stamp = post.get("indexedAt") if isinstance(post, Mapping) else None
                if isinstance(stamp, str) and _valid(stamp):
                    recent[str(post.get("uri"))] = stamp
            cursor = body.get("cursor")
            if not cursor or not posts:
                break
            params["cursor"] = cursor
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
                body, _ = fetch_json(
                    self.session, f"{self.config.base_url}/app.bsky.actor.getProfiles",
                    "getProfiles", params=[("actors", d) for d in batch],
                )  # fmt: skip
            except SourceError as exc:
                self.log.warning("bluesky: %s; audiences of %d authors unknown", exc, len(batch))
                continue
            profiles = body.get("profiles") if isinstance(body, dict) else None
            for d in batch:  # deleted or suspended actors are left out: remember them as 0
                self.profiles[d] = (now, 0)
            for profile in profiles or []:
                if isinstance(profile, Mapping) and profile.get("did"):
                    self.profiles[profile["did"]] = (now, int(profile.get("followersCount") or 0))
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
