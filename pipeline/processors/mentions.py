"""Validate ``buzz.mentions`` messages and turn the valid ones into ``buzz.mentions`` rows.

Failure policy: see :mod:`pipeline.processors.common` (invalid input becomes a dead letter with
its reason, topic, partition and offset; the rest of the batch flows on; nothing raises).
"""

from __future__ import annotations

from typing import Any

from pipeline.events import Mention
from pipeline.processors.common import Processed, process_batch
from pipeline.processors.raw import RawMessage

__all__ = ["MENTION_COLUMNS", "Processed", "mention_row", "process_mentions"]

MENTION_COLUMNS = (
    "event_id", "platform", "occurred_at", "ingested_at",
    "author_id", "author_handle", "author_name", "author_audience",
    "text", "url", "lang", "likes", "reshares", "replies", "quotes",
    "reshare_of", "reply_to", "links", "hashtags",
)  # fmt: skip


def mention_row(m: Mention) -> list[Any]:
    a, e = m.author, m.engagement
    return [
        m.event_id, m.platform, m.occurred_at, m.ingested_at,
        a.id, a.handle, a.display_name, a.audience,
        m.text, m.url, m.lang, e.likes, e.reshares, e.replies, e.quotes,
        m.reshare_of, m.reply_to, m.links, m.hashtags,
    ]  # fmt: skip


def process_mentions(messages: list[RawMessage]) -> Processed[Mention]:
    """Validate a batch; duplicate event_ids inside the batch keep their last version."""
    return process_batch(messages, Mention, mention_row)
