"""X API v2 tweets (with their expansions) to ``Mention`` fields: a pure function, no I/O.

Input is the JSON X returns for search and stream alike: a tweet object plus ``includes.users``
(``expansions=author_id``). What comes from where:

- author: the included user of ``author_id``; audience = ``public_metrics.followers_count``
- ``referenced_tweets``: ``retweeted``/``quoted`` -> ``reshare_of`` ``x:<id>``, ``replied_to`` ->
  ``reply_to`` ``x:<id>``
- links: ``entities.urls[].expanded_url`` (``unwound_url`` when X resolved a shortener), without
  media attachments (``media_key``) and without the link to a quoted tweet (that is reshare_of)
- hashtags: ``entities.hashtags[].tag``; engagement: ``public_metrics``
- ``occurred_at``: ``created_at``, or the time inside the snowflake id when the field is missing

A tweet that cannot be mapped raises :class:`UnmappableTweet` with the reason; the source turns it
into a dead letter.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["UnmappableTweet", "snowflake_time", "tweet_fields", "users_by_id"]

# Milliseconds between the Unix epoch and X's snowflake epoch (2010-11-04T01:42:54.657Z).
_TWEPOCH_MS = 1288834974657
_RESHARE_TYPES = {"retweeted", "quoted"}


class UnmappableTweet(ValueError):
    """The tweet lacks what a mention needs; the message is the dead letter's reason."""


def snowflake_time(tweet_id: str) -> datetime:
    """When a tweet was created, read from its id (ids since late 2010 are snowflakes)."""
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + _TWEPOCH_MS) / 1000, tz=UTC)


def users_by_id(includes: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    users = (includes or {}).get("users") or []
    return {str(u["id"]): u for u in users if isinstance(u, dict) and "id" in u}


def _metrics(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    m = obj.get("public_metrics")
    return m if isinstance(m, Mapping) else {}


def tweet_fields(tweet: Any, users: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Keyword arguments for ``Mention`` from one tweet; raises UnmappableTweet."""
    if not isinstance(tweet, Mapping):
        raise UnmappableTweet(f"tweet is a {type(tweet).__name__}, not an object")
    tid = str(tweet.get("id") or "")
    if not tid.isdigit():
        raise UnmappableTweet(f"tweet id {tid!r} is not numeric")
    if not isinstance(tweet.get("text"), str):
        raise UnmappableTweet(f"tweet {tid} has no text")
    author_id = tweet.get("author_id")
    if not author_id:
        raise UnmappableTweet(f"tweet {tid} has no author_id (request expansions=author_id)")
    user = users.get(str(author_id))
    if user is None:
        raise UnmappableTweet(f"tweet {tid}: author {author_id} missing from includes.users")
    handle = user.get("username")
    if not handle:
        raise UnmappableTweet(f"tweet {tid}: author {author_id} has no username")

    reshare_of = reply_to = None
    referenced: set[str] = set()
    for ref in tweet.get("referenced_tweets") or []:
        if not isinstance(ref, Mapping) or not ref.get("id"):
            continue
        referenced.add(str(ref["id"]))
        if ref.get("type") in _RESHARE_TYPES and reshare_of is None:
            reshare_of = f"x:{ref['id']}"
        elif ref.get("type") == "replied_to":
            reply_to = f"x:{ref['id']}"

    entities = tweet.get("entities") or {}
    links: list[str] = []
    for u in entities.get("urls") or []:
        link = u.get("unwound_url") or u.get("expanded_url") or u.get("url")
        if not link or u.get("media_key") or link in links:
            continue
        # X appends the quoted tweet's own URL; it is already reshare_of, not an outside link.
        if "/status/" in link and link.rstrip("/").rsplit("/", 1)[-1] in referenced:
            continue
        links.append(link)
    hashtags = [h["tag"] for h in entities.get("hashtags") or [] if h.get("tag")]

    created = tweet.get("created_at") or snowflake_time(tid)
    metrics = _metrics(tweet)
    return {
        "event_id": f"x:{tid}",
        "platform": "x",
        "occurred_at": created,
        "author": {
            "id": str(author_id),
            "handle": handle,
            "display_name": user.get("name") or "",
            "audience": _metrics(user).get("followers_count") or 0,
        },
        # X escapes &, < and > in tweet text (a legacy of its HTML timeline).
        "text": html.unescape(tweet["text"]),
        "url": f"https://x.com/{handle}/status/{tid}",
        "lang": tweet.get("lang") or "",
        "engagement": {
            "likes": metrics.get("like_count") or 0,
            "reshares": metrics.get("retweet_count") or 0,
            "replies": metrics.get("reply_count") or 0,
            "quotes": metrics.get("quote_count") or 0,
        },
        "reshare_of": reshare_of,
        "reply_to": reply_to,
        "links": links,
        "hashtags": hashtags,
    }
