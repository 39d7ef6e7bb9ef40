"""What a processor receives: the bytes of one Kafka message and where it came from."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    timestamp: float | None = None


def batch_token(name: str, messages: Iterable[RawMessage]) -> str:
    """An insert_deduplication_token that is the same when the same messages are redelivered.

    Built from the exact (topic, partition, offset) set, so a batch retried after a crash
    before the offset commit is dropped by the warehouse instead of written twice.
    """
    h = hashlib.sha256(name.encode())
    for m in sorted(messages, key=lambda m: (m.topic, m.partition, m.offset)):
        h.update(f"|{m.topic}:{m.partition}:{m.offset}".encode())
    return f"{name}-{h.hexdigest()[:40]}"


def content_token(name: str, rows: Iterable[Sequence[Any]]) -> str:
    """A deduplication token from the rows themselves: the same rows again are dropped.

    For derived rows (minutes, scores, alerts) that do not come from one set of offsets. Rows
    that differ in any value get a different token, so a real update is never dropped.
    """
    h = hashlib.sha256(name.encode())
    for row in rows:
        h.update(orjson.dumps([*row], default=str, option=orjson.OPT_NON_STR_KEYS))
    return f"{name}-{h.hexdigest()[:40]}"
