"""The minute-closing job against a real warehouse: the aggregation production runs, exactly once.

Pins: a closed minute's figures are the aggregate of ``buzz.mention_scores`` with each event
once (a row written twice counts once), only minutes every partition is past and no row was
written to lately are closed, and a second pass closes nothing again.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.campaign import load_campaign
from pipeline.jobs.base import JobContext
from pipeline.jobs.minutes import MinuteCloser
from pipeline.scoring.subjects import compile_subjects
from pipeline.scoring.validator_reach import index_validators
from pipeline.stream.alerts import AlertPublisher
from pipeline.stream.progress import NEVER
from pipeline.stream.reader import WarehouseReader
from pipeline.stream.writer import WarehouseWriter
from pipeline.tables import MENTION_SCORES, STREAM_PARTITIONS, MentionScoreRow, StreamPartitionRow
from pipeline.warehouse.client import get_client

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
T0 = NOW - timedelta(minutes=10)
CAMPAIGN = load_campaign()


def score(
    n: str, minute: datetime, author: str, tone: float, ew: float, aw: float
) -> MentionScoreRow:
    return MentionScoreRow(
        event_id=f"jw:{n}", subject="kim", minute=minute, occurred_at=minute, author_id=author,
        terms=["Jordan Kim"], sentiment=tone, negative=int(tone <= -0.45), engagement_weight=ew,
        audience_weight=aw, validator="", reshare_of=None, reply_to=None,
    )  # fmt: skip


def test_closed_minutes_are_the_aggregate_with_each_event_once(own_warehouse: str) -> None:
    def client() -> object:
        return get_client(url=own_warehouse)

    writer, reader = WarehouseWriter(client), WarehouseReader(client)  # type: ignore[arg-type]
    rows = [
        score("1", T0, "a", -0.6, 2.0, 4.0),
        score("2", T0, "a", 0.4, 1.0, 1.0),
        score("3", T0 + timedelta(minutes=1), "b", 0.0, 1.0, 1.0),
        score("4", NOW, "c", 0.0, 1.0, 1.0),  # this minute is not over: not closed
    ]
    writer.insert(MENTION_SCORES, rows, "jw-1")
    writer.insert(MENTION_SCORES, rows[:2], "jw-2")  # the same events again (a replay)
    caught_up = NOW + timedelta(seconds=30)
    progress = [
        StreamPartitionRow(t, p, 10, NEVER, caught_up, 0, "test")
        for t in ("buzz.mentions", "buzz.signups")
        for p in range(2)
    ]
    writer.insert(STREAM_PARTITIONS, progress, "jw-progress")
    sent: list[object] = []

    async def send(messages: object) -> None:
        sent.append(messages)

    ctx = JobContext(
        CAMPAIGN, compile_subjects(CAMPAIGN.subjects), index_validators(CAMPAIGN), reader, writer,
        AlertPublisher(writer, reader, send),
        lambda: {"buzz.mentions": 2, "buzz.signups": 2},
    )  # fmt: skip
    # Rows written within the settle time may belong to a minute still filling up: none closes.
    assert asyncio.run(MinuteCloser(ctx, settle=timedelta(minutes=5)).run_once()) is None
    closer = MinuteCloser(ctx, settle=timedelta(0))
    closed = asyncio.run(closer.run_once())
    assert closed is not None
    got = {r.minute: r for r in closed.buzz_rows if r.subject == "kim"}
    first = got[T0]
    assert (first.mentions, first.unique_authors) == (2, 1)
    assert (first.engagement_volume, first.audience_volume) == (3.0, 5.0)
    assert first.sentiment_mean == pytest.approx(-0.1) and first.negative_share == 0.5
    assert got[T0 + timedelta(minutes=1)].mentions == 1
    assert NOW not in got  # the watermark (caught up at NOW + 30 s, less 60 s) is before its end
    # Closed through the last minute with rows before the watermark (quiet ones close as zeros
    # with the next minute that has rows).
    assert closer.through == T0 + timedelta(minutes=1)
    assert asyncio.run(closer.run_once()) is None  # nothing new to close
