"""``rss``: RSS/Atom news and blog feeds as mentions, comment feeds as thread activity.

    buzz source run rss --url https://example.org/feed --comments-url https://blog.example/comments/feed/

Each poll fetches every feed with a conditional GET (``If-None-Match`` / ``If-Modified-Since``
from the feed's last answer, kept in the checkpoint), parses the bytes with feedparser and yields
the entries it has not yielded before, oldest first. News entries become ``Mention``s; entries of
a comments feed (``--comments-url``, or ``{"url": ..., "kind": "comments"}`` in ``--feeds``)
become ``ThreadPost``s threaded by the commented article.

Checkpoint, per feed URL: ``etag``, ``last_modified``, ``seen`` (digests of the last ``remember``
entries yielded, so a restart or an unchanged feed repeats nothing), ``failures`` and ``retry_at``.
The ETag moves only once the whole feed was yielded: an interrupted poll re-reads the feed and
``seen`` skips what already went out.

Failure policy (per feed: one failing feed never stops the others, and never the source):

- network error, timeout, HTTP 4xx/5xx/429: logged, and that feed backs off exponentially
  (honouring ``Retry-After``) up to ``feed_backoff_max`` seconds; the other feeds carry on.
- not a feed (HTML, garbage), a feed declaring entities (billion laughs), or a response over
  ``max_bytes``: a dead letter with the reason and the first bytes, and the feed backs off.
- an entry that cannot become an event (no id, invalid field): a dead letter, the rest go on.
- anything else is a bug: fatal (the runner's policy).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, Field, ValidationInfo, field_validator
from pydantic_settings import NoDecode

from pipeline.events import DeadLetter, Mention, ThreadPost
from pipeline.sources.base import PollingConfig, PollingSource, SourceConfig
from pipeline.sources.emitter import Record
from pipeline.sources.errors import SourceError
from pipeline.sources.http import TimeoutSession, TooLarge, fetch
from pipeline.sources.rss.mapping import (
    NotAFeed,
    entry_key,
    mention_fields,
    parse_feed,
    thread_post_fields,
)

DEAD_LETTER_HEAD = 64 * 1024  # bytes of a bad feed kept in its dead letter: enough to diagnose
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)
FEED_BACKOFF_START = 60.0  # seconds a feed rests after its first failure, doubling after that


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http(s) URL, got {url!r}")
    return url.strip()


def _as_list(value: Any) -> Any:
    """One CLI ``--url`` is a str, several are a list; env vars may separate URLs by spaces."""
    if isinstance(value, str):
        return [v for v in re.split(r"[\s,]+", value) if v]
    return value


class FeedSpec(BaseModel):
    url: str
    kind: Literal["news", "comments"] = "news"

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v)


class RssConfig(PollingConfig):
    url: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="News/blog feed URL (repeatable)"
    )
    comments_url: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comments feed URL, e.g. WordPress /comments/feed/"
    )
    feeds: list[FeedSpec] = Field(
        default_factory=list,
        validate_default=True,
        description='JSON list of {"url": ..., "kind": "news" | "comments"}',
    )
    poll_interval: float = Field(300.0, gt=0, description="Seconds between two polls")
    timeout: float = Field(20.0, gt=0, le=300, description="Seconds per HTTP request")
    max_bytes: int = Field(5_000_000, ge=1024, description="Size cap of one feed response")
    max_entries: int = Field(500, ge=1, description="Entries read per feed and poll")
    remember: int = Field(2000, ge=10, description="Entries remembered per feed against repeats")
    feed_backoff_max: float = Field(3600.0, gt=0, description="Longest pause of a failing feed")
    user_agent: str = "campaign-buzz-rss/0.1"

    @field_validator("url", "comments_url", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return _as_list(v)

    @field_validator("url", "comments_url")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        return [_check_url(u) for u in v]

    @field_validator("feeds", mode="before")
    @classmethod
    def _feeds_json(cls, v: Any) -> Any:
        return json.loads(v) if isinstance(v, str) else v

    @field_validator("feeds")
    @classmethod
    def _some_feed(cls, v: list[FeedSpec], info: ValidationInfo) -> list[FeedSpec]:
        if not v and not info.data.get("url") and not info.data.get("comments_url"):
            raise ValueError(
                "no feeds: give --url URL (repeatable), --comments-url URL, or this JSON list"
            )
        return v

    def all_feeds(self) -> list[FeedSpec]:
        specs = [FeedSpec(url=u) for u in self.url]
        specs += [FeedSpec(url=u, kind="comments") for u in self.comments_url]
        specs += self.feeds
        unique: dict[str, FeedSpec] = {}
        for spec in specs:
            unique.setdefault(spec.url, spec)
        return list(unique.values())


class RssSource(PollingSource[RssConfig]):
    name: ClassVar[str] = "rss"
    description: ClassVar[str] = (
        "RSS/Atom news and blog feeds as mentions; comment feeds as thread activity"
    )
    Config: ClassVar[type[SourceConfig]] = RssConfig

    def setup(self) -> None:
        self.session = TimeoutSession(
            self.config.timeout, user_agent=self.config.user_agent, headers={"Accept": ACCEPT}
        )

    def teardown(self) -> None:
        self.session.close()

    def poll(self) -> Iterator[Record]:
        states: dict[str, Any] = self.checkpoint.setdefault("feeds", {})
        for spec in self.config.all_feeds():
            if self.ctx.stopping():
                return
            state = states.setdefault(spec.url, {})
            if state.get("retry_at", 0) > datetime.now(UTC).timestamp():
                continue  # this feed is backing off; the others go on
            yield from self._poll_feed(spec, state)

    def _poll_feed(self, spec: FeedSpec, state: dict[str, Any]) -> Iterator[Record]:
        try:
            got = fetch(
                self.session,
                spec.url,
                f"feed {spec.url}",
                etag=state.get("etag"),
                last_modified=state.get("last_modified"),
                max_bytes=self.config.max_bytes,
            )
        except TooLarge as exc:
            yield self.dead_letter(exc.head, f"{exc} (--max-bytes)")
            self._back_off(spec, state, str(exc), None)
            return
        except SourceError as exc:  # network, timeout, any HTTP error: this feed rests
            self._back_off(spec, state, str(exc), getattr(exc, "retry_after", None))
            return
        if got.status == 304:
            state.pop("failures", None)
            state.pop("retry_at", None)
            self.log.debug("%s: not modified", spec.url)
            return
        if (yield from self.feed_records(spec, got.body, state)):
            # Only now that every entry went out may the next poll skip this version of it.
            state["etag"], state["last_modified"] = got.etag, got.last_modified

    def feed_records(
        self, spec: FeedSpec, body: bytes, state: dict[str, Any]
    ) -> Generator[Record, None, bool]:
        """The records of one fetched feed: one per entry not yielded before (an event, or a
        dead letter saying why not), or one dead letter for a body that is no feed.

        Returns whether the body was a feed. ``state`` is the feed's checkpoint entry.
        """
        try:
            parsed = parse_feed(body)
        except NotAFeed as exc:
            yield self.dead_letter(body[:DEAD_LETTER_HEAD], f"feed {spec.url}: {exc}")
            self._back_off(spec, state, str(exc), None)
            return False
        state.pop("failures", None)
        state.pop("retry_at", None)
        seen: list[str] = state.setdefault("seen", [])
        known, here = set(seen), set()
        now = datetime.now(UTC)
        # Feeds list newest first; yield oldest first so event order follows publication.
        for entry in reversed(parsed.entries[: self.config.max_entries]):
            key = entry_key(entry)
            if key is None:
                yield self._record(spec, parsed, entry, key, now)  # a dead letter, every time
                continue
            digest = hashlib.sha1(f"{spec.url}\n{key}".encode()).hexdigest()[:16]
            if digest in here:  # two entries of one feed with one id: the second is kept aside
                raw = orjson.dumps({"feed": spec.url, "entry": entry}, default=str)
                yield self.dead_letter(raw, f"feed {spec.url}: entry id {key!r} repeats an entry")
                continue
            here.add(digest)
            if digest in known:
                continue  # yielded by an earlier poll
            # Advanced as the entry is yielded: the runner sends each record before it asks for
            # the next and saves the checkpoint only after a flush, so this neither loses nor
            # repeats the entry (a stop right after this yield still counts it as sent).
            seen.append(digest)
            known.add(digest)
            yield self._record(spec, parsed, entry, key, now)
        del seen[: max(0, len(seen) - self.config.remember)]
        return True

    def _record(
        self, spec: FeedSpec, parsed: Any, entry: Any, key: str | None, now: datetime
    ) -> Mention | ThreadPost | DeadLetter:
        raw = orjson.dumps({"feed": spec.url, "entry": entry}, default=str)
        if key is None:
            return self.dead_letter(raw, f"feed {spec.url}: entry has no id, link, title or text")
        if spec.kind == "comments":
            return self.build(ThreadPost, raw, **thread_post_fields(spec.url, parsed, entry, now))
        return self.build(Mention, raw, **mention_fields(spec.url, parsed, entry, now))

    def _back_off(
        self, spec: FeedSpec, state: dict[str, Any], why: str, hint: float | None
    ) -> None:
        failures = int(state.get("failures", 0)) + 1
        # The feed's pause is kept in the checkpoint (retry_at), not waited out: the other
        # feeds go on meanwhile. The server's hint wins; else 60 s doubling to the maximum.
        cap = self.config.feed_backoff_max
        wait = (
            min(hint, cap)
            if hint is not None
            else min(cap, FEED_BACKOFF_START * 2 ** (failures - 1))
        )
        state["failures"] = failures
        state["retry_at"] = datetime.now(UTC).timestamp() + wait
        self.log.warning(
            "%s: %s; skipping this feed for %.0fs (failure %d)", spec.url, why, wait, failures
        )
