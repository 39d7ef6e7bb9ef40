"""``mastodon``: statuses from one instance's public hashtag timelines (and search, with a token).

Follows ``GET /api/v1/timelines/tag/:hashtag`` for each tracked hashtag (``--hashtag``, default:
the campaign's ``#`` terms) and, with ``--access-token`` only, ``GET /api/v2/search`` for the
other tracked terms (``client.py``). Statuses become mentions in ``mapping.py`` (pure).

Checkpoint, per feed (``tags``, ``search``): the newest status id yielded. Each page is yielded
oldest first and the cursor moves with it, so a restart resumes exactly after the last status
yielded; a feed seen for the first time starts from its newest page (no backfill beyond
``limit``). A status in two feeds (two tags, a tag and a search) goes out once per poll.

Failure policy: 429 waits until ``X-RateLimit-Reset`` (an ISO 8601 time on Mastodon), 5xx,
timeouts and non-JSON answers are retriable; 401/403 are fatal ("check
BUZZ_SOURCE_MASTODON_ACCESS_TOKEN"), other 4xx fatal with the instance's error; an answer that
holds no list of statuses, or a status that cannot be mapped, becomes a dead letter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urlparse

import orjson
from pydantic import Field, SecretStr, field_validator

from pipeline.events import Mention
from pipeline.sources.base import PollingConfig, PollingSource, SourceConfig
from pipeline.sources.emitter import Record
from pipeline.sources.errors import FatalError
from pipeline.sources.mastodon.client import MastodonClient, Page, id_key
from pipeline.sources.mastodon.mapping import UnmappableStatus, status_fields
from pipeline.sources.terms import campaign_terms


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


class MastodonSource(PollingSource[MastodonConfig]):
    name: ClassVar[str] = "mastodon"
    description: ClassVar[str] = (
        "Mastodon: public hashtag timelines of one instance (and status search with a token)"
    )
    Config: ClassVar[type[SourceConfig]] = MastodonConfig

    def setup(self) -> None:
        cfg = self.config
        terms = campaign_terms(self.ctx.settings)
        self.tags = [t.lstrip("#") for t in (cfg.hashtag or [t for t in terms if t[:1] == "#"])]
        self.searches: list[str] = []
        if cfg.access_token is not None:
            self.searches = cfg.search_terms or [t for t in terms if t[:1] != "#"]
        elif cfg.search_terms:
            raise FatalError("--search-terms needs --access-token: Mastodon search needs a login")
        if not self.tags and not self.searches:
            raise FatalError("nothing to follow: give --hashtag (or an access token to search)")
        token = cfg.access_token.get_secret_value() if cfg.access_token is not None else None
        self.client = MastodonClient(cfg.instance_url, cfg.timeout, token)
        self.host = self.client.host

    def teardown(self) -> None:
        self.client.close()

    def poll(self) -> Iterator[Record]:
        seen: set[str] = set()
        cfg, client = self.config, self.client
        for tag in self.tags:
            pages = client.tag_pages(tag, self._cursor("tags", tag), cfg.limit, cfg.max_pages)
            yield from self._feed("tags", tag, pages, seen)
        for term in self.searches:
            since = self._cursor("search", term)
            pages = client.search_pages(term, since, cfg.limit, cfg.max_pages)
            yield from self._feed("search", term, pages, seen)

    def _cursor(self, kind: str, key: str) -> str | None:
        cursor = self.checkpoint.get(kind, {}).get(key)
        return str(cursor) if cursor is not None else None

    def _feed(self, kind: str, key: str, pages: Iterator[Page], seen: set[str]) -> Iterator[Record]:
        cursors: dict[str, str] = self.checkpoint.setdefault(kind, {})
        for page in pages:
            if page.statuses is None:
                what = f"mastodon {kind} {key!r}"
                yield self.dead_letter(page.body, f"{what}: expected a list of statuses")
                return
            for status in reversed(page.statuses):  # oldest first: the cursor only moves forward
                yield from self._record(status, seen)
            newest = page.newest
            if newest and (key not in cursors or id_key(newest) > id_key(cursors[key])):
                cursors[key] = newest

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
