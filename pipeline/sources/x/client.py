"""The X API v2 as the ``x`` connector uses it: tweepy for the REST calls (stream rules, recent
search), requests for the filtered stream itself.

tweepy does the REST calls with ``return_type=dict``, so mapping works on X's own JSON
(``mapping.py``). The stream connection is opened here with requests, not with tweepy's
``StreamingClient``: that one runs its own callback loop with its own sleeps and hides the status
headers and malformed lines that the failure policy needs. Every request goes through the kit's
``TimeoutSession`` (tweepy passes no timeout of its own).

Failure policy (the classes of ``pipeline.sources.errors``): 429 retriable, waiting until
``x-rate-limit-reset``; 5xx, timeouts, connection errors retriable; 401 fatal with "check
BUZZ_SOURCE_X_BEARER_TOKEN"; 403 from the stream endpoints is :class:`StreamUnavailable` (the
tier has no filtered stream; the source decides); other 4xx fatal with X's error detail. A 400
about an expired ``since_id`` (older than the 7 days recent search covers) drops it and searches
again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import requests
import tweepy

from pipeline.sources.errors import FatalError, RetriableError, SourceError, retry_after_seconds
from pipeline.sources.http import TimeoutSession, status_error

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
log = logging.getLogger("pipeline.sources.x")


class StreamUnavailable(Exception):
    """403 from the stream endpoints: this tier has no filtered stream."""


def http_error(exc: tweepy.HTTPException, what: str) -> SourceError:
    """Map tweepy's HTTP exceptions onto the kit's failure classes."""
    resp = exc.response
    status = getattr(resp, "status_code", 0)
    headers = getattr(resp, "headers", {}) or {}
    detail = "; ".join(exc.api_messages) or str(exc)
    if isinstance(exc, tweepy.TooManyRequests):
        return RetriableError(f"{what}: rate limited (429)", retry_after_seconds(headers))
    if isinstance(exc, tweepy.TwitterServerError):
        return RetriableError(f"{what}: HTTP {status}", retry_after_seconds(headers))
    if isinstance(exc, tweepy.Unauthorized):
        return FatalError(f"{what}: X answered 401 Unauthorized: {TOKEN_HINT}")
    return FatalError(f"{what}: HTTP {status}: {detail}")


class XClient:
    """One bearer token's view of the API: recent search, stream rules, the stream."""

    def __init__(self, bearer_token: str, timeout: float) -> None:
        self._token = bearer_token
        self.session = TimeoutSession((10.0, timeout))
        self.rest = tweepy.Client(bearer_token, return_type=dict, wait_on_rate_limit=False)
        self.rest.session = self.session
        self.streaming = tweepy.StreamingClient(bearer_token, return_type=dict)
        self.streaming.session = self.session

    def close(self) -> None:
        self.session.close()

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except tweepy.HTTPException as exc:
            raise http_error(exc, what) from exc
        except requests.RequestException as exc:
            raise RetriableError(f"{what}: {type(exc).__name__}: {exc}") from exc

    def search_pages(
        self, query: str, since_id: str | None, max_pages: int
    ) -> Iterator[dict[str, Any]]:
        """Pages of ``search_recent_tweets`` newer than ``since_id``, newest first."""
        token: str | None = None
        for n in range(max_pages):
            try:
                page = self._call(
                    "recent search",
                    self.rest.search_recent_tweets,
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
                    log.warning("since_id %s expired; searching without it", since_id)
                    since_id = None
                    continue
                raise
            yield page
            token = (page.get("meta") or {}).get("next_token")
            if not token:
                return
        log.warning(
            "recent search: stopped after --max-pages %d for %r; older matches of this poll "
            "are skipped",
            max_pages,
            query,
        )

    def sync_rules(self, rules: list[str]) -> None:
        """Make the rules tagged ``buzz`` exactly ``rules``; rules with other tags stay."""
        try:
            have = self._call("stream rules", self.streaming.get_rules)
            ours = {r["value"]: r["id"] for r in have.get("data") or [] if r.get("tag") == RULE_TAG}
            stale = [rid for value, rid in ours.items() if value not in rules]
            if stale:
                self._call("stream rules", self.streaming.delete_rules, stale)
            missing = [tweepy.StreamRule(v, RULE_TAG) for v in rules if v not in ours]
            if missing:
                self._call("stream rules", self.streaming.add_rules, missing)
        except FatalError as exc:
            if isinstance(exc.__cause__, tweepy.Forbidden):
                raise StreamUnavailable(f"stream rules: 403 Forbidden ({exc})") from None
            raise

    def connect(self) -> requests.Response:
        """The filtered stream, open (read it with ``iter_lines``, close it when done)."""
        params = {
            "expansions": ",".join(EXPANSIONS),
            "tweet.fields": ",".join(TWEET_FIELDS),
            "user.fields": ",".join(USER_FIELDS),
        }
        auth = {"Authorization": f"Bearer {self._token}"}
        try:
            resp = self.session.get(STREAM_URL, params=params, headers=auth, stream=True)
        except requests.RequestException as exc:
            raise RetriableError(f"stream: {type(exc).__name__}: {exc}") from exc
        if resp.status_code == 200:
            return resp
        with resp:
            if resp.status_code == 403:
                raise StreamUnavailable(f"stream: 403 Forbidden: {resp.text[:200]}")
            if resp.status_code == 401:
                raise FatalError(f"stream: X answered 401 Unauthorized: {TOKEN_HINT}")
            err = status_error(resp, "stream")
            raise err if err is not None else FatalError(f"stream: HTTP {resp.status_code}")
