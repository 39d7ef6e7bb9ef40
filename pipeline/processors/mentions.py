"""Validate ``buzz.mentions`` messages and turn the valid ones into ``buzz.mentions`` rows.

Failure policy: a message that is not JSON, has an unknown ``schema_version`` or does not fit
the schema becomes a dead letter with the reason, topic, partition and offset; the rest of the
batch flows on. Nothing here raises on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.events import DeadLetter, InvalidEvent, Mention, decode
from pipeline.processors.raw import RawMessage

MENTION_COLUMNS = (
    "event_id", "platform", "occurred_at", "ingested_at",
    "author_id", "author_handle", "author_name", "author_audience",
    "text", "url", "lang", "likes", "reshares", "replies", "quotes",
    "reshare_of", "reply_to", "links", "hashtags",
)  # fmt: skip


@dataclass
class Processed:
    rows: list[list[Any]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


def mention_row(m: Mention) -> list[Any]:
    a, e = m.author, m.engagement
    return [
        m.event_id, m.platform, m.occurred_at, m.ingested_at,
        a.id, a.handle, a.display_name, a.audience,
        m.text, m.url, m.lang, e.likes, e.reshares, e.replies, e.quotes,
        m.reshare_of, m.reply_to, m.links, m.hashtags,
    ]  # fmt: skip


def process_mentions(messages: list[RawMessage]) -> Processed:
    """Validate a batch; duplicate event_ids inside the batch keep their last version."""
    out = Processed()
    latest: dict[str, Mention] = {}
    for msg in messages:
        try:
            event = decode(msg.topic, msg.value)
        except InvalidEvent as exc:
            out.dead_letters.append(
                DeadLetter.for_payload(
                    msg.value or b"",
                    str(exc),
                    source_topic=msg.topic,
                    partition=msg.partition,
                    offset=msg.offset,
                )
            )
            continue
        assert isinstance(event, Mention)
        latest[event.event_id] = event
    out.rows = [mention_row(m) for m in latest.values()]
    return out
