"""Validate ``buzz.threads`` messages and turn the valid ones into ``buzz.thread_posts`` rows.

Failure policy: see :mod:`pipeline.processors.common` (invalid input becomes a dead letter with
its reason, topic, partition and offset; the rest of the batch flows on; nothing raises).
"""

from __future__ import annotations

from typing import Any

from pipeline.events import ThreadPost
from pipeline.processors.common import Processed, process_batch
from pipeline.processors.raw import RawMessage

THREAD_POST_COLUMNS = (
    "event_id", "platform", "occurred_at", "ingested_at",
    "thread_id", "post_id", "parent_id", "thread_title",
    "author_id", "author_handle", "author_name", "author_audience",
    "text", "links", "url",
)  # fmt: skip


def thread_post_row(p: ThreadPost) -> list[Any]:
    a = p.author
    return [
        p.event_id, p.platform, p.occurred_at, p.ingested_at,
        p.thread_id, p.post_id, p.parent_id, p.thread_title,
        a.id, a.handle, a.display_name, a.audience,
        p.text, p.links, p.url,
    ]  # fmt: skip


def process_thread_posts(messages: list[RawMessage]) -> Processed[ThreadPost]:
    """Validate a batch; duplicate event_ids inside the batch keep their last version."""
    return process_batch(messages, ThreadPost, thread_post_row)
