"""The worker's fast decoder for ``buzz.mentions``: the contract of ``pipeline.events``, faster.

Every mention the worker reads is decoded once. pydantic (``pipeline.events.decode``) is the
contract and the source of every dead-letter reason, but it costs about 25 microseconds a
mention, a fifth of the worker's whole budget. This module decodes the common case, an ordinary
well-formed mention, with msgspec into frozen records carrying the same constraints, at a
fraction of the cost; anything it is not certain about goes to pydantic, which decides:

* whatever msgspec refuses (a missing field, a wrong type, a value over a limit, a number
  pydantic would coerce, invalid UTF-8, ...);
* a top-level string with whitespace at either end (pydantic strips it before checking it);
* a time not written as ``YYYY-MM-DD[T ]HH:MM:SS[.ffffff](Z|+HH:MM)``, or outside the range
  ``pipeline.events`` accepts.

So a mention accepted here is one pydantic accepts, with the same values (a property test,
tests/test_wire.py, holds the two to that), and every other input gets exactly pydantic's answer:
the same event, the same truncation, the same reason.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from pipeline.events import (
    EARLIEST,
    FUTURE_SKEW,
    ID_LIMIT,
    LIST_LIMIT,
    TEXT_LIMIT,
    URL_LIMIT,
    InvalidEvent,
    Mention,
    MentionLike,
    decode,
    norm_tags,
    utcnow,
)
from pipeline.topics import MENTIONS

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=ID_LIMIT)]
Count = Annotated[int, msgspec.Meta(ge=0)]
_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")


class WireAuthor(msgspec.Struct, frozen=True):
    id: Id
    handle: Id
    display_name: Annotated[str, msgspec.Meta(max_length=500)] = ""
    audience: Count = 0


class WireEngagement(msgspec.Struct, frozen=True):
    likes: Count = 0
    reshares: Count = 0
    replies: Count = 0
    quotes: Count = 0


class _Wire(msgspec.Struct, frozen=True):
    """What arrives; times are read as text and parsed below."""

    schema_version: Literal[1]
    event_id: Annotated[
        str, msgspec.Meta(min_length=3, max_length=ID_LIMIT, pattern=r"^[a-z0-9_.-]+:.+$")
    ]
    platform: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    occurred_at: str
    author: WireAuthor
    text: Annotated[str, msgspec.Meta(max_length=TEXT_LIMIT)]
    ingested_at: str | None = None
    url: Annotated[str, msgspec.Meta(max_length=URL_LIMIT)] = ""
    lang: Annotated[str, msgspec.Meta(max_length=32)] = ""
    engagement: WireEngagement = msgspec.field(default_factory=WireEngagement)
    reshare_of: Id | None = None
    reply_to: Id | None = None
    links: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=URL_LIMIT)]],
        msgspec.Meta(max_length=LIST_LIMIT),
    ] = []
    hashtags: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=LIST_LIMIT)
    ] = []
    truncated: list[str] = []


class WireMention(msgspec.Struct, frozen=True):
    """A decoded mention: the fields of ``pipeline.events.Mention``, as a light record."""

    event_id: str
    platform: str
    occurred_at: datetime
    ingested_at: datetime
    author: WireAuthor
    text: str
    url: str
    lang: str
    engagement: WireEngagement
    reshare_of: str | None
    reply_to: str | None
    links: list[str]
    hashtags: list[str]
    truncated: list[str]


_DECODER = msgspec.json.Decoder(_Wire)


def _edges_are_plain(values: tuple[str | None, ...]) -> bool:
    return all(not (v and (v[0].isspace() or v[-1].isspace())) for v in values)


def _time(text: str, latest: datetime) -> datetime | None:
    """The time, in UTC, when it is written plainly and within range; else None."""
    if _TIME.fullmatch(text) is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is not UTC:
        t = t.astimezone(UTC)
    return t if EARLIEST <= t <= latest else None


def decode_mention(raw: bytes | None) -> MentionLike:
    """The mention in ``raw``; raises ``InvalidEvent`` with pydantic's reason when it is not one."""
    if raw is not None:
        try:
            w = _DECODER.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            w = None
        if w is not None and _edges_are_plain(
            (w.event_id, w.platform, w.text, w.url, w.lang, w.reshare_of, w.reply_to, *w.links,
             *w.hashtags, *w.truncated)
        ):  # fmt: skip
            latest = utcnow() + FUTURE_SKEW
            occurred = _time(w.occurred_at, latest)
            ingested = utcnow() if w.ingested_at is None else _time(w.ingested_at, latest)
            if occurred is not None and ingested is not None:
                return WireMention(
                    event_id=w.event_id,
                    platform=w.platform,
                    occurred_at=occurred,
                    ingested_at=ingested,
                    author=w.author,
                    text=w.text,
                    url=w.url,
                    lang=w.lang,
                    engagement=w.engagement,
                    reshare_of=w.reshare_of,
                    reply_to=w.reply_to,
                    links=w.links,
                    hashtags=norm_tags(w.hashtags),
                    truncated=w.truncated,
                )
    event = decode(MENTIONS, raw)
    if not isinstance(event, Mention):  # pragma: no cover - decode() of buzz.mentions is one
        raise InvalidEvent(f"not a Mention: {type(event).__name__}")
    return event
