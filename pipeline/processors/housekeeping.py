"""``buzz.dead_letters`` and ``buzz.source_status``: written to their tables as they come.

Dead letters come from the worker's own processors and from the sources. One that is itself
unreadable is still kept, wrapped in a dead letter of its own (nothing bad is dropped). An
unreadable source heartbeat is dead-lettered like any bad input.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from pipeline.events import DeadLetter, SourceStatus, describe_validation_error
from pipeline.processors.common import dead_letter_for
from pipeline.processors.raw import RawMessage
from pipeline.stream.output import Output
from pipeline.tables import DEAD_LETTERS, SOURCE_STATUS, DeadLetterRow, SourceStatusRow


def dead_letter_row(d: DeadLetter) -> DeadLetterRow:
    return DeadLetterRow(
        event_id=d.event_id,
        source_topic=d.source_topic,
        partition=d.partition,
        offset=d.offset,
        source=d.source,
        reason=d.reason,
        payload=d.payload,
        payload_size=d.payload_size,
        payload_sha256=d.payload_sha256,
        payload_truncated=int(d.payload_truncated),
        received_at=d.received_at,
    )


def source_status_row(st: SourceStatus) -> SourceStatusRow:
    return SourceStatusRow(
        source=st.source,
        instance=st.instance,
        status=st.status,
        started_at=st.started_at,
        updated_at=st.updated_at,
        events_total=st.events_total,
        dead_letters_total=st.dead_letters_total,
        last_success_at=st.last_success_at,
        last_error_at=st.last_error_at,
        last_error=st.last_error,
    )


class DeadLetterProcessor:
    topic = "buzz.dead_letters"

    def revoked(self, partitions: set[int]) -> None:
        pass

    async def process(self, messages: Sequence[RawMessage]) -> Output:
        out = Output()
        for m in messages:
            try:
                d = DeadLetter.model_validate_json(m.value or b"")
            except ValueError:
                d = dead_letter_for(m, "unreadable dead letter")
            out.add(DEAD_LETTERS, dead_letter_row(d), m)
        return out


class SourceStatusProcessor:
    topic = "buzz.source_status"

    def revoked(self, partitions: set[int]) -> None:
        pass

    async def process(self, messages: Sequence[RawMessage]) -> Output:
        out = Output()
        for m in messages:
            try:
                st = SourceStatus.model_validate_json(m.value or b"")
            except ValueError as exc:
                reason = (
                    describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
                )
                out.dead_letters.append(dead_letter_for(m, f"bad source status: {reason}"))
                continue
            out.add(SOURCE_STATUS, source_status_row(st), m)
        return out
