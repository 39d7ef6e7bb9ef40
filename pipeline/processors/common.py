"""What every raw-topic processor shares: decode a batch, dead-letter what does not fit.

Failure policy (the same for every topic): a message that is not JSON, has an unknown
``schema_version`` or does not fit the topic's schema becomes a dead letter with the reason,
topic, partition and offset; the rest of the batch flows on. Nothing here raises on bad input.
Duplicate ``event_id``\\ s inside one batch keep their last version (a source re-sending an
event with fresher engagement counts wins), so one batch never writes the same key twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pipeline.events import DeadLetter, InvalidEvent, decode
from pipeline.processors.raw import RawMessage

E = TypeVar("E")


@dataclass
class Processed(Generic[E]):
    rows: list[list[Any]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    events: list[E] = field(default_factory=list)  # the valid events, one per event_id


def dead_letter_for(msg: RawMessage, reason: str) -> DeadLetter:
    return DeadLetter.for_payload(
        msg.value or b"",
        reason,
        source_topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
    )


def process_batch(
    messages: Sequence[RawMessage], kind: type[E], to_row: Callable[[E], list[Any]]
) -> Processed[E]:
    """Validate a batch of one topic's messages into rows of ``kind`` and dead letters."""
    out: Processed[E] = Processed()
    latest: dict[str, E] = {}
    for msg in messages:
        try:
            event = decode(msg.topic, msg.value)
        except InvalidEvent as exc:
            out.dead_letters.append(dead_letter_for(msg, str(exc)))
            continue
        if not isinstance(event, kind):  # a topic/model mix-up is a bug, but not a crash
            out.dead_letters.append(dead_letter_for(msg, f"not a {kind.__name__}"))
            continue
        latest[event.event_id] = event
    out.events = list(latest.values())
    out.rows = [to_row(e) for e in out.events]
    return out
