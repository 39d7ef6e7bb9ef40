"""Events read back from the warehouse (for cascades and spike explanations).

The raw tables hold exactly what the events carried, so a stored row turns back into the same
event model the scorers take; the scorers need not know where their input came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline.events import Author, Engagement, Mention, ThreadPost
from pipeline.processors.mentions import MENTION_COLUMNS
from pipeline.processors.threads import THREAD_POST_COLUMNS

MENTION_SELECT = ", ".join(MENTION_COLUMNS)
THREAD_POST_SELECT = ", ".join(THREAD_POST_COLUMNS)


def as_utc(v: datetime) -> datetime:
    """A time read back from the warehouse (clickhouse-connect gives naive UTC) as aware UTC."""
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def mention_from_row(row: Sequence[Any]) -> Mention:
    """A row of ``SELECT MENTION_SELECT FROM buzz.mentions`` as a Mention."""
    r = dict(zip(MENTION_COLUMNS, row, strict=True))
    return Mention(
        event_id=r["event_id"],
        platform=r["platform"],
        occurred_at=as_utc(r["occurred_at"]),
        ingested_at=as_utc(r["ingested_at"]),
        author=Author(
            id=r["author_id"],
            handle=r["author_handle"],
            display_name=r["author_name"],
            audience=r["author_audience"],
        ),
        text=r["text"],
        url=r["url"],
        lang=r["lang"],
        engagement=Engagement(
            likes=r["likes"], reshares=r["reshares"], replies=r["replies"], quotes=r["quotes"]
        ),
        reshare_of=r["reshare_of"],
        reply_to=r["reply_to"],
        links=list(r["links"]),
        hashtags=list(r["hashtags"]),
    )


def thread_post_from_row(row: Sequence[Any]) -> ThreadPost:
    """A row of ``SELECT THREAD_POST_SELECT FROM buzz.thread_posts`` as a ThreadPost."""
    r = dict(zip(THREAD_POST_COLUMNS, row, strict=True))
    return ThreadPost(
        event_id=r["event_id"],
        platform=r["platform"],
        occurred_at=as_utc(r["occurred_at"]),
        ingested_at=as_utc(r["ingested_at"]),
        thread_id=r["thread_id"],
        post_id=r["post_id"],
        parent_id=r["parent_id"],
        thread_title=r["thread_title"],
        author=Author(
            id=r["author_id"],
            handle=r["author_handle"],
            display_name=r["author_name"],
            audience=r["author_audience"],
        ),
        text=r["text"],
        links=list(r["links"]),
        url=r["url"],
    )
