"""What every topic's processor shares: decode a batch once, dead-letter what does not fit.

Failure policy (the same for every topic): a message that is not JSON, has an unknown
``schema_version`` or does not fit the topic's schema becomes a dead letter with the reason,
topic, partition and offset; the rest of the batch flows on. A message that makes a scorer fail
(a bug, or data no test imagined) is dead-lettered the same way with the error, instead of
stopping the partition. Nothing here raises on bad input. Duplicate ``event_id``\\ s inside one
batch keep their last version (a source re-sending an event with fresher engagement counts wins),
so one batch never writes the same key twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pipeline.events import DeadLetter, InvalidEvent, decode
from pipeline.processors.raw import RawMessage
from pipeline.stream.output import Output

E = TypeVar("E")


def dead_letter_for(msg: RawMessage, reason: str, *, suffix: str = "") -> DeadLetter:
    """The dead letter of ``msg``; ``suffix`` tells apart a second one for the same message."""
    d = DeadLetter.for_payload(
        msg.value or b"",
        reason,
        source_topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
    )
    return d.model_copy(update={"event_id": d.event_id + suffix}) if suffix else d


def reader_of(kind: type[E]) -> Callable[[RawMessage], E]:
    """Read a message of its topic with ``pipeline.events.decode``, expecting a ``kind``."""

    def read(msg: RawMessage) -> E:
        event = decode(msg.topic, msg.value)
        if not isinstance(event, kind):  # a topic/model mix-up is a bug, but not a crash
            raise InvalidEvent(f"not a {kind.__name__}")
        return event

    return read


def decode_batch(
    messages: Sequence[RawMessage], out: Output, read: Callable[[RawMessage], E]
) -> list[tuple[E, RawMessage]]:
    """The valid events in ``messages`` (one per event_id, the last wins).

    ``read`` decodes one message (raising InvalidEvent with the reason). Dead letters go to
    ``out``, and so does the latest event time seen on each partition.
    """
    dead = out.dead_letters
    latest: dict[str, tuple[E, RawMessage]] = {}
    for msg in messages:
        try:
            event: Any = read(msg)
        except InvalidEvent as exc:
            dead.append(dead_letter_for(msg, str(exc)))
            continue
        latest.pop(event.event_id, None)  # keep batch order: the last version goes last
        latest[event.event_id] = (event, msg)
        out.saw(msg.partition, event.occurred_at)
    return list(latest.values())


def failed(msg: RawMessage, what: str, exc: Exception) -> DeadLetter:
    """A message a scorer could not handle: dead-lettered with the error, not a crash."""
    return dead_letter_for(msg, f"{what} failed: {type(exc).__name__}: {exc}", suffix="@" + what)
