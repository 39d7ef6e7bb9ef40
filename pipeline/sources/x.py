"""``x``: X (Twitter) API v2 mentions, by filtered stream or recent search (tweepy).

Modes (``--mode``):

- ``stream``: keep the filtered stream's rules (tag ``buzz``) in step with the campaign's tracked
  terms (``x_rules.build_rules``), then hold ``GET /2/tweets/search/stream`` open, reconnecting
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

tweepy does the REST calls (rules, search) with ``return_type=dict``, so mapping works on X's own
JSON (``x_map.py``, pure). The stream connection itself is read here with requests, not with
tweepy's ``StreamingClient``: that one runs its own callback loop with its own sleeps and hides
the status headers and malformed lines that our failure policy needs.

Failure policy:

- 429: retriable, waiting until ``x-rate-limit-reset``; 5xx, timeouts, connection errors:
  retriable with backoff (the runner's, or ``call_with_retry`` when reconnecting a stream).
- 401: fatal, "check BUZZ_SOURCE_X_BEARER_TOKEN". 403 from the stream endpoints: fallback to search
  in ``auto``, fatal in ``stream``. Other 4xx: fatal with X's error detail. A 400 about an expired
  ``since_id`` (older than the 7 days recent search covers) drops it and searches again.
- A tweet (or stream line) that cannot be mapped: dead letter with the reason; the stream goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import orjson
import requests
import tweepy
from pydantic import Field, SecretStr, field_validator

from pipeline.campaign import load_campaign
from pipeline.events import Mention
from pipeline.sources.base import PollingConfig, PollingSource, SourceConfig
from pipeline.sources.emitter import Record
from pipeline.sources.http_util import TimeoutSession, wait_hint
from pipeline.sources.retry import FatalError, RetriableError, SourceError, call_with_retry
from pipeline.sources.x_map import UnmappableTweet, tweet_fields, users_by_id
from pipeline.sources.x_rules import build_rules

API = "https://api.twitter.com/2"
STREAM_URL = f"{API}/tweets/search/stream"
RULE_TAG = "buzz"
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]
USER_FIELDS = ["public_metrics", "username", "name"]
TWEET_FIELDS = [
    "created_at",
    "public_metrics",
    "entities",
    "lang",
    "referenced_tweets",
    "conversation_id",
    "author_id",
]
TOKEN_HINT = "check BUZZ_SOURCE_X_BEARER_TOKEN (or --bearer-token)"


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


class _StreamUnavailable(Exception):
    """403 from the stream endpoints: this tier has no filtered stream."""


def _http_error(exc: tweepy.HTTPException, what: str) -> SourceError:
    """Map tweepy's HTTP exceptions onto the kit's failure classes."""
    resp = exc.response
    status = getattr(resp, "status_code", 0)
    headers = getattr(resp, "headers", {}) or {}
    detail = "; ".join(exc.api_messages) or str(exc)
    if isinstance(exc, tweepy.TooManyRequests):
        return RetriableError(f"{what}: rate limited (429)", wait_hint(headers))
    if isinstance(exc, tweepy.TwitterServerError):
        return RetriableError(f"{what}: HTTP {status}", wait_hint(headers))
    if isinstance(exc, tweepy.Unauthorized):
        return FatalError(f"{what}: X answered 401 Unauthorized: {TOKEN_HINT}")
    return FatalError(f"{what}: HTTP {status}: {detail}")


class XSource(PollingSource[XConfig]):
    name: ClassVar[str] = "x"
    description: ClassVar[str] = (
        "X (Twitter) API v2: filtered stream of the campaign's terms, or recent search with "
        "since_id when the tier has no stream"
    )
    Config: ClassVar[type[SourceConfig]] = XConfig

    def setup(self) -> None:
        cfg = self.config
        terms = cfg.terms or [
            t for s in load_campaign(self.ctx.settings.campaign_file).subjects for t in s.terms
        ]
        try:
            self.rules = build_rules(terms, cfg.rule_max_length, cfg.rule_suffix)
        except ValueError as exc:
            raise FatalError(f"--terms / campaign terms: {exc}") from None
        if len(self.rules) > cfg.max_rules:
            raise FatalError(
                f"the tracked terms need {len(self.rules)} rules, more than --max-rules "
                f"{cfg.max_rules}: track fewer terms or raise --rule-max-length"
            )
        self.session = TimeoutSession((10.0, cfg.timeout))
        token = cfg.bearer_token.get_secret_value()
        self.client = tweepy.Client(token, return_type=dict, wait_on_rate_limit=False)
        self.client.session = self.session
        self.streaming = tweepy.StreamingClient(token, return_type=dict)
        self.streaming.session = self.session
        self.mode = cfg.mode
        self._rules_synced = False

    def teardown(self) -> None:
        self.session.close()

    # -- the loop ------------------------------------------------------------------------------
    def poll(self) -> Iterator[Record]:
        if self.mode != "search":
            try:
                yield from self._stream()
                return
            except _StreamUnavailable as exc:
                if self.mode == "stream":
                    raise FatalError(f"{exc}; use --mode search on this tier") from None
                self.log.warning("%s: falling back to recent search (--mode search)", exc)
                self.mode = "search"
        yield from self._search_pass()

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except tweepy.HTTPException as exc:
            raise _http_error(exc, what) from exc
        except requests.RequestException as exc:
            raise RetriableError(f"{what}: {type(exc).__name__}: {exc}") from exc

    # -- search --------------------------------------------------------------------------------
    def _search_pass(self) -> Iterator[Record]:
        since = self.checkpoint.get("since_id")
        newest = int(since) if since else 0
        seen: set[str] = set()
        for query in self.rules:
            for page in self._search_pages(query, since):
                meta = page.get("meta") or {}
                newest = max(newest, int(meta.get("newest_id") or 0))
                yield from self._records(page, seen, track=False)
        if newest:
            self.checkpoint["since_id"] = str(newest)

    def _search_pages(self, query: str, since_id: str | None) -> Iterator[dict[str, Any]]:
        token: str | None = None
        for n in range(self.config.max_pages):
            try:
                page = self._call(
                    "recent search",
                    self.client.search_recent_tweets,
                    query,
                    since_id=since_id,
                    next_token=token,
                    max_results=100,
                    expansions=EXPANSIONS,
                    tweet_fields=TWEET_FIELDS,
                    user_fields=USER_FIELDS,
                )
            except FatalError as exc:
                # since_id older than the 7 days recent search covers: start from what it has.
                if since_id and "since_id" in str(exc) and n == 0:
                    self.log.warning("since_id %s expired; searching without it", since_id)
                    since_id = None
                    continue
                raise
            yield page
            token = (page.get("meta") or {}).get("next_token")
            if not token:
                return
        self.log.warning(
            "recent search: stopped after --max-pages %d for %r; older matches of this poll "
            "are skipped",
            self.config.max_pages,
            query,
        )

    # -- stream --------------------------------------------------------------------------------
    def _sync_rules(self) -> None:
        """Make the rules tagged ``buzz`` exactly ours; rules with other tags are left alone."""
        try:
            have = self._call("stream rules", self.streaming.get_rules)
            ours = {r["value"]: r["id"] for r in have.get("data") or [] if r.get("tag") == RULE_TAG}
            stale = [rid for value, rid in ours.items() if value not in self.rules]
            if stale:
                self._call("stream rules", self.streaming.delete_rules, stale)
            missing = [tweepy.StreamRule(v, RULE_TAG) for v in self.rules if v not in ours]
            if missing:
                self._call("stream rules", self.streaming.add_rules, missing)
        except FatalError as exc:
            if isinstance(exc.__cause__, tweepy.Forbidden):
                raise _StreamUnavailable(f"stream rules: 403 Forbidden ({exc})") from None
            raise
        self._rules_synced = True
        self.log.info("x: %d stream rule(s) in place", len(self.rules))

    def _connect(self) -> requests.Response:
        params = {
            "expansions": ",".join(EXPANSIONS),
            "tweet.fields": ",".join(TWEET_FIELDS),
            "user.fields": ",".join(USER_FIELDS),
        }
        auth = {"Authorization": f"Bearer {self.config.bearer_token.get_secret_value()}"}
        try:
            resp = self.session.get(STREAM_URL, params=params, headers=auth, stream=True)
        except requests.RequestException as exc:
            raise RetriableError(f"stream: {type(exc).__name__}: {exc}") from exc
        if resp.status_code == 200:
            return resp
        resp.close()
        if resp.status_code == 403:
            raise _StreamUnavailable(f"stream: 403 Forbidden: {resp.text[:200]}")
        if resp.status_code == 401:
            raise FatalError(f"stream: X answered 401 Unauthorized: {TOKEN_HINT}")
        if resp.status_code == 429 or resp.status_code >= 500:
            raise RetriableError(f"stream: HTTP {resp.status_code}", wait_hint(resp.headers))
        raise FatalError(f"stream: HTTP {resp.status_code}: {resp.text[:300]}")

    def _stream(self) -> Iterator[Record]:
        if not self._rules_synced:
            self._sync_rules()
        if self.config.catch_up and self.checkpoint.get("since_id"):
            yield from self._search_pass()
        while not self.ctx.stopping():
            resp = call_with_retry(
                self._connect,
                backoff=self.backoff,
                sleep=self.ctx.wait,
                on_retry=lambda n, wait, exc: self.log.warning(
                    "%s; reconnecting in %.1fs (attempt %d)", exc, wait, n
                ),
            )
            with resp:
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
