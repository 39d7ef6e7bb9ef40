"""``mastodon``: statuses from one instance's public hashtag timelines (and search, with a token).

- ``GET /api/v1/timelines/tag/:hashtag`` for each tracked hashtag (``--hashtag``, default: the
  campaign's ``#`` terms). Public on most instances, no token needed.
- ``GET /api/v2/search?type=statuses`` for the other tracked terms, only with ``access_token``:
  Mastodon answers full-text search only to logged-in users (and only where the instance has
  search enabled).

Paging moves forward in time: with a checkpointed id we ask ``min_id=<id>`` (the page right after
it) and follow the ``Link: rel="prev"`` header to the next newer page, yielding each page oldest
first and checkpointing its newest id; so a restart resumes exactly after the last status yielded.
A feed seen for the first time starts from its newest page (no backfill beyond ``limit``).

Ids are per instance, so ``event_id`` is ``mastodon:<instance host>:<status id>``, and reblogs,
replies and quotes point at ids of the same instance. HTML ``content`` becomes text with
``pipeline.sources.html_text``; hashtag and mention links are dropped from ``links`` (they are
in ``hashtags`` and the text already).

HTTP with the kit's one helper (``pipeline.sources.http``, on requests) rather than
Mastodon.py, which would add a dependency for two GET calls and hides the rate-limit headers
behind its own sleeping. The mapping of statuses to mentions is ``mapping.py`` (pure).

Failure policy: 429 waits until ``X-RateLimit-Reset`` (an ISO 8601 time on Mastodon), 5xx,
timeouts and non-JSON answers are retriable; 401/403 are fatal ("check
BUZZ_SOURCE_MASTODON_ACCESS_TOKEN"), other 4xx fatal with the instance's error; a status that
cannot be mapped becomes a dead letter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlparse

import orjson
from pydantic import Field, SecretStr, field_validator

from pipeline.events import Mention
from pipeline.sources.base import PollingConfig, PollingSource, SourceConfig
from pipeline.sources.emitter import Record
from pipeline.sources.errors import FatalError
from pipeline.sources.http import Fetched, TimeoutSession, fetch_json
from pipeline.sources.mastodon.mapping import UnmappableStatus, status_fields
from pipeline.sources.terms import campaign_terms

TOKEN_HINT = "check BUZZ_SOURCE_MASTODON_ACCESS_TOKEN (or --access-token)"


class MastodonConfig(PollingConfig):
    instance_url: str = Field(description="Base URL of the instance, e.g. https://mastodon.social")
    hashtag: list[str] = Field(
        default_factory=list, description="Hashtags to follow (default: the campaign's # terms)"
    )
    access_token: SecretStr | None = Field(None, description="Enables search of the other terms")
    search_terms: list[str] = Field(
        default_factory=list, description="Search terms (default: the campaign's other terms)"
    )
    limit: int = Field(40, ge=1, le=40, description="Statuses per page (Mastodon's maximum: 40)")
    max_pages: int = Field(10, ge=1, le=1000, description="Pages per feed and poll")
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for the instance")

    @field_validator("instance_url")
    @classmethod
    def _base(cls, v: str) -> str:
        parsed = urlparse(v.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http(s) URL such as https://mastodon.social")
        return f"{parsed.scheme}://{parsed.netloc}"

    @field_validator("hashtag", "search_terms", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        # The CLI passes one `--option value` as a string and a repeated option as a list.
        return [v] if isinstance(v, str) else v


def _id_key(status_id: str) -> tuple[int, str]:
    # Mastodon ids are numeric strings of growing length; compare them as numbers.
    return (len(status_id), status_id)


class MastodonSource(PollingSource[MastodonConfig]):
    name: ClassVar[str] = "mastodon"
    description: ClassVar[str] = (
        "Mastodon: public hashtag timelines of one instance (and status search with a token)"
    )
    Config: ClassVar[type[SourceConfig]] = MastodonConfig

    def setup(self) -> None:
        cfg = self.config
        self.base = cfg.instance_url
        self.host = urlparse(self.base).netloc.lower()
        terms = campaign_terms(self.ctx.settings)
        self.tags = [t.lstrip("#") for t in (cfg.hashtag or [t for t in terms if t[:1] == "#"])]
        self.searches: list[str] = []
        if cfg.access_token is not None:
            self.searches = cfg.search_terms or [t for t in terms if t[:1] != "#"]
        elif cfg.search_terms:
            raise FatalError("--search-terms needs --access-token: Mastodon search needs a login")
        if not self.tags and not self.searches:
            raise FatalError("nothing to follow: give --hashtag (or an access token to search)")
        self.session = TimeoutSession((10.0, cfg.timeout))
        if cfg.access_token is not None:
            self.session.headers["Authorization"] = f"Bearer {cfg.access_token.get_secret_value()}"

    def teardown(self) -> None:
        self.session.close()

    def poll(self) -> Iterator[Record]:
        seen: set[str] = set()
        for tag in self.tags:
            url = f"{self.base}/api/v1/timelines/tag/{quote(tag, safe='')}"
            yield from self._feed("tags", tag, url, {}, seen)
        for term in self.searches:
            params = {"q": term, "type": "statuses", "resolve": "false"}
            yield from self._feed("search", term, f"{self.base}/api/v2/search", params, seen)

    def _feed(
        self, kind: str, key: str, url: str, params: dict[str, str], seen: set[str]
    ) -> Iterator[Record]:
        cursors: dict[str, str] = self.checkpoint.setdefault(kind, {})
        what = f"mastodon {kind} {key!r}"
        resuming = key in cursors
        next_url = url
        query: dict[str, Any] | None = {**params, "limit": self.config.limit}
        if resuming:
            query = {**params, "limit": self.config.limit, "min_id": cursors[key]}
        for _ in range(self.config.max_pages):
            body, resp = self._get(next_url, query, what)
            statuses = body.get("statuses") if isinstance(body, dict) else body
            if not isinstance(statuses, list):
                yield self.dead_letter(resp.body, f"{what}: expected a list of statuses")
                return
            if not statuses:
                return
            for status in reversed(statuses):  # oldest first, so the cursor only moves forward
                yield from self._record(status, seen)
            ids = [str(s["id"]) for s in statuses if isinstance(s, Mapping) and s.get("id")]
            if ids:
                newest = max(ids, key=_id_key)
                if key not in cursors or _id_key(newest) > _id_key(cursors[key]):
                    cursors[key] = newest
            if not resuming:
                return  # first sight of this feed: its newest page only, no backfill
            next_url, query = self._newer(resp.links, url, params, cursors[key])

    def _newer(
        self, links: Mapping[str, Any], url: str, params: dict[str, str], cursor: str
    ) -> tuple[str, dict[str, Any] | None]:
        """The next newer page: the Link rel="prev" URL when it stays on the instance."""
        prev = (links.get("prev") or {}).get("url")
        if prev and urlparse(prev).netloc.lower() == self.host and "min_id=" in prev:
            return prev, None
        return url, {**params, "limit": self.config.limit, "min_id": cursor}

    def _get(self, url: str, query: dict[str, Any] | None, what: str) -> tuple[Any, Fetched]:
        try:
            return fetch_json(self.session, url, what, params=query)
        except FatalError as exc:
            if "HTTP 401" in str(exc) or "HTTP 403" in str(exc):
                raise FatalError(f"{exc}: {TOKEN_HINT}") from None
            raise

    def _record(self, status: Any, seen: set[str]) -> Iterator[Record]:
        raw = orjson.dumps(status)
        try:
            fields = status_fields(status, self.host)
        except (UnmappableStatus, KeyError, TypeError, AttributeError, ValueError) as exc:
            yield self.dead_letter(raw, f"unmappable status: {exc}")
            return
        if fields["event_id"] in seen:
            return  # in two of our feeds (two tags, or a tag and a search)
        seen.add(fields["event_id"])
        yield self.build(Mention, raw, **fields)
