"""What a processor receives: the bytes of one Kafka message and where it came from.

The consumer hands processors aiokafka's own records (they have these attributes), so nothing is
copied per message; ``Message`` builds one by hand (tests, the benchmark).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson


class RawMessage(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def value(self) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class Message:
    """A RawMessage made by hand."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


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
