"""``x``: X (Twitter) API v2 mentions, by filtered stream or recent search.

Modes (``--mode``):

- ``stream``: keep the filtered stream's rules (tag ``buzz``) in step with the campaign's tracked
  terms (``rules.build_rules``), then hold ``GET /2/tweets/search/stream`` open, reconnecting
  after drops. Needs a tier that has the filtered stream (Pro and up). With ``--once`` it reads
  until the stream goes quiet (the first keep-alive, which X sends only when idle).
- ``search``: every ``poll_interval`` seconds, ``search_recent_tweets`` for each query (the same
  packed terms) with ``since_id``, paging with ``next_token`` up to ``max_pages``.
- ``auto`` (default): stream, and search instead when the stream endpoints answer 403 (the tier
  has no filtered stream).

Checkpoint: ``since_id``, the newest tweet id emitted (both modes). Search asks only for newer
tweets and moves it when all pages of a poll were yielded (a crash mid-poll repeats that poll;
stable ``x:<id>`` event ids absorb it). Before (re)connecting a stream, ``catch_up`` runs one
search pass from ``since_id`` so tweets posted while we were away are not lost.

The API calls are in ``client.py``, the mapping of X's JSON in ``mapping.py`` (pure).

Failure policy: the client's (429 waits until ``x-rate-limit-reset``; 5xx, timeouts, resets
retriable; 401 fatal, "check BUZZ_SOURCE_X_BEARER_TOKEN"; other 4xx fatal with X's detail). A
dropped stream whose reconnection fails raises the retriable error to the runner, which backs
off and polls again (catching up by search first). 403 from the stream endpoints: search in
``auto``, fatal in ``stream``. A tweet (or stream line) that cannot be mapped: a dead letter with
the reason; the stream goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import orjson
import requests
from pydantic import Field, SecretStr, field_validator

from pipeline.events import Mention
from pipeline.sources.base import PollingConfig, PollingSource, SourceConfig
from pipeline.sources.emitter import Record
from pipeline.sources.errors import FatalError
from pipeline.sources.terms import campaign_terms
from pipeline.sources.x.client import StreamUnavailable, XClient
from pipeline.sources.x.mapping import UnmappableTweet, tweet_fields, users_by_id
from pipeline.sources.x.rules import build_rules


class XConfig(PollingConfig):
    bearer_token: SecretStr = Field(description="App-only bearer token of the X project")
    mode: Literal["auto", "stream", "search"] = Field(
        "auto", description="auto: stream, search when the tier has no filtered stream (403)"
    )
    terms: list[str] = Field(
        default_factory=list, description="Tracked terms (default: every subject's terms)"
    )
    rule_suffix: str = Field("", description="Appended to each rule/query, e.g. 'lang:en'")
    rule_max_length: int = Field(512, ge=20, le=4096, description="Rule/query length limit")
    max_rules: int = Field(25, ge=1, le=1000, description="Rules the tier allows")
    max_pages: int = Field(10, ge=1, le=1000, description="Search pages (100 tweets) per poll")
    catch_up: bool = Field(True, description="Search since the checkpoint before streaming")
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for X (stream: read gap)")

    @field_validator("terms", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        # The CLI passes one `--option value` as a string and a repeated option as a list.
        return [v] if isinstance(v, str) else v


class XSource(PollingSource[XConfig]):
    name: ClassVar[str] = "x"
    description: ClassVar[str] = (
        "X (Twitter) API v2: filtered stream of the campaign's terms, or recent search with "
        "since_id when the tier has no stream"
    )
    Config: ClassVar[type[SourceConfig]] = XConfig

    def setup(self) -> None:
        cfg = self.config
        terms = cfg.terms or campaign_terms(self.ctx.settings)
        try:
            self.rules = build_rules(terms, cfg.rule_max_length, cfg.rule_suffix)
        except ValueError as exc:
            raise FatalError(f"--terms / campaign terms: {exc}") from None
        if len(self.rules) > cfg.max_rules:
            raise FatalError(
                f"the tracked terms need {len(self.rules)} rules, more than --max-rules "
                f"{cfg.max_rules}: track fewer terms or raise --rule-max-length"
            )
        self.client = XClient(cfg.bearer_token.get_secret_value(), cfg.timeout)
        self.mode = cfg.mode
        self._rules_synced = False

    def teardown(self) -> None:
        self.client.close()

    # -- the loop ------------------------------------------------------------------------------
    def poll(self) -> Iterator[Record]:
        if self.mode != "search":
            try:
                yield from self._stream()
                return
            except StreamUnavailable as exc:
                if self.mode == "stream":
                    raise FatalError(f"{exc}; use --mode search on this tier") from None
                self.log.warning("%s: falling back to recent search (--mode search)", exc)
                self.mode = "search"
        yield from self._search_pass()

    # -- search --------------------------------------------------------------------------------
    def _search_pass(self) -> Iterator[Record]:
        since = self.checkpoint.get("since_id")
        newest = int(since) if since else 0
        seen: set[str] = set()
        for query in self.rules:
            for page in self.client.search_pages(query, since, self.config.max_pages):
                meta = page.get("meta") or {}
                newest = max(newest, int(meta.get("newest_id") or 0))
                yield from self._records(page, seen, track=False)
        if newest:
            self.checkpoint["since_id"] = str(newest)

    # -- stream --------------------------------------------------------------------------------
    def _stream(self) -> Iterator[Record]:
        if not self._rules_synced:
            self.client.sync_rules(self.rules)
            self._rules_synced = True
            self.log.info("x: %d stream rule(s) in place", len(self.rules))
        if self.config.catch_up and self.checkpoint.get("since_id"):
            yield from self._search_pass()
        while not self.ctx.stopping():
            with self.client.connect() as resp:
                yield from self._read(resp)
            if self.ctx.once or self.ctx.stopping():
                return
            self.log.warning("x: stream disconnected; reconnecting")

    def _read(self, resp: requests.Response) -> Iterator[Record]:
        """Yield from one connection until it ends (with --once: until it goes quiet)."""
        seen: set[str] = set()
        try:
            for line in resp.iter_lines():
                if self.ctx.stopping():
                    return
                if not line.strip():
                    if self.ctx.once:  # caught up: X sends keep-alives only when idle
                        return
                    continue
                try:
                    message = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    yield self.dead_letter(line, f"stream line is not JSON: {exc}")
                    continue
                if not isinstance(message, dict) or "data" not in message:
                    # Operational messages (e.g. an announced disconnect) carry only errors.
                    self.log.warning("x stream message: %s", line[:300].decode("utf-8", "replace"))
                    continue
                yield from self._records({**message, "data": [message["data"]]}, seen, track=True)
        except (requests.RequestException, ValueError) as exc:
            self.log.warning("x: stream connection lost: %s", exc)

    # -- mapping -------------------------------------------------------------------------------
    def _records(self, page: dict[str, Any], seen: set[str], *, track: bool) -> Iterator[Record]:
        """Mentions and dead letters of one page; ``track``: move since_id with each (stream).

        A search pass must not move it mid-pass: results come newest first, so a checkpoint
        saved halfway would skip the older pages after a restart.
        """
        data = page.get("data") or []
        if not isinstance(data, list):
            yield self.dead_letter(orjson.dumps(page), "'data' is not a list of tweets")
            return
        try:
            users = users_by_id(page.get("includes"))
        except (TypeError, AttributeError) as exc:
            users = {}
            self.log.warning("x: unreadable includes.users (%s); authors will be missing", exc)
        for tweet in data:
            raw = orjson.dumps(tweet)
            try:
                fields = tweet_fields(tweet, users)
            except (UnmappableTweet, KeyError, TypeError, AttributeError, ValueError) as exc:
                yield self.dead_letter(raw, f"unmappable tweet: {exc}")
                continue
            if fields["event_id"] in seen:
                continue  # matched two of our queries in one poll
            seen.add(fields["event_id"])
            record = self.build(Mention, raw, **fields)
            if track and isinstance(record, Mention):
                newest = int(self.checkpoint.get("since_id") or 0)
                self.checkpoint["since_id"] = str(max(newest, int(record.event_id[2:])))
            yield record
