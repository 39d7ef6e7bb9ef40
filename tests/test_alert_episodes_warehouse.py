"""Alerts that update, against a real warehouse: one alert per episode, exactly once per revision.

Pins what a restart and a replay do: a spike over two minute-closing passes is one alert (one
id) whose second pass writes revision 2; a new job (a restart) reads the episode back from the
alerts and continues it with revision 3, not a new alert; publishing any revision again, or an
older one, writes and sends nothing; the table keeps one row per revision and FINAL the latest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from pipeline.campaign import load_campaign
from pipeline.jobs.base import JobContext
from pipeline.jobs.minutes import MinuteCloser
from pipeline.scoring.alerts import Alert, spike_alert
from pipeline.scoring.buzz import Spike
from pipeline.scoring.episodes import Episode
from pipeline.scoring.subjects import compile_subjects
from pipeline.scoring.validator_reach import index_validators
from pipeline.stream.alerts import AlertPublisher
from pipeline.stream.progress import NEVER
from pipeline.stream.reader import WarehouseReader
from pipeline.stream.writer import WarehouseWriter
from pipeline.tables import MENTION_SCORES, STREAM_PARTITIONS, MentionScoreRow, StreamPartitionRow
from pipeline.warehouse.client import get_client

CAMPAIGN = load_campaign()
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SPIKE = T0 + timedelta(minutes=40)  # after 40 quiet minutes of 2 posts each
M = timedelta(minutes=1)


class Wire:
    """The publisher's broker side: every message it sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def __call__(self, messages: Sequence[tuple[str, bytes, bytes]]) -> None:
        self.sent += [orjson.loads(v) for _, _, v in messages]


def parts(url: str) -> tuple[WarehouseWriter, WarehouseReader]:
    def client() -> Any:
        return get_client(url=url)

    return WarehouseWriter(client), WarehouseReader(client)


def scores(minute: datetime, n: int, tag: str) -> list[MentionScoreRow]:
    return [
        MentionScoreRow(
            event_id=f"ep:{tag}-{i}", subject="kim", minute=minute, occurred_at=minute,
            author_id=f"a{tag}{i}", terms=["Jordan Kim"], sentiment=0.2, negative=0,
            engagement_weight=1.0, audience_weight=1.0, validator="", reshare_of=None,
            reply_to=None,
        )
        for i in range(n)
    ]  # fmt: skip


def caught_up(writer: WarehouseWriter, through: datetime) -> None:
    """Every partition is past ``through``: minutes up to it may close."""
    at = through + M + timedelta(seconds=60)
    rows = [StreamPartitionRow(t, p, 10, NEVER, at, 0, "test")
            for t in ("buzz.mentions", "buzz.signups") for p in range(2)]  # fmt: skip
    writer.insert(STREAM_PARTITIONS, rows, f"ep-progress-{through.isoformat()}")


def closer(url: str, wire: Wire) -> MinuteCloser:
    writer, reader = parts(url)
    ctx = JobContext(
        CAMPAIGN, compile_subjects(CAMPAIGN.subjects), index_validators(CAMPAIGN), reader, writer,
        AlertPublisher(writer, reader, wire), lambda: {"buzz.mentions": 2, "buzz.signups": 2},
    )  # fmt: skip
    return MinuteCloser(ctx, settle=timedelta(0))  # the rows are all written up front


def stored(url: str) -> list[tuple[Any, ...]]:
    rows = (
        get_client(url=url)
        .query(
            "SELECT alert_id, kind, revision, at, last_at, title FROM buzz.alerts FINAL ORDER BY at"
        )
        .result_rows
    )
    return [tuple(r) for r in rows]


def test_an_episode_updates_across_passes_and_restarts_and_replays_add_nothing(
    own_warehouse: str,
) -> None:
    writer, _ = parts(own_warehouse)
    rows = [r for k in range(40) for r in scores(T0 + k * M, 2, f"q{k}")]
    rows += scores(SPIKE, 20, "s0") + scores(SPIKE + M, 25, "s1") + scores(SPIKE + 3 * M, 30, "s3")
    rows += scores(SPIKE + 4 * M, 2, "q40")
    writer.insert(MENTION_SCORES, rows, "ep-scores")
    wire = Wire()

    caught_up(writer, SPIKE)  # first pass: the quiet minutes and the spike's first minute
    job = closer(own_warehouse, wire)
    asyncio.run(job.run_once())
    [(alert_id, kind, revision, at, last_at, _)] = stored(own_warehouse)
    assert (kind, revision, at.replace(tzinfo=UTC)) == ("spike", 1, SPIKE)
    caught_up(writer, SPIKE + M)  # second pass: the spike goes on
    asyncio.run(job.run_once())
    [(same, _, revision, at, last_at, title)] = stored(own_warehouse)
    assert same == alert_id and revision == 2 and last_at.replace(tzinfo=UTC) == SPIKE + M
    assert title.endswith("(2 min so far, peak 25)")
    assert [(m["alert_id"], m["revision"], m["update"]) for m in wire.sent] == [
        (alert_id, 1, False),
        (alert_id, 2, True),
    ]

    # A restart: a new job reads the episode back and continues it after a quiet minute.
    caught_up(writer, SPIKE + 4 * M)
    restarted = closer(own_warehouse, wire)
    asyncio.run(restarted.run_once())
    [(same, _, revision, at, last_at, _)] = stored(own_warehouse)
    assert same == alert_id and revision == 3 and at.replace(tzinfo=UTC) == SPIKE
    assert last_at.replace(tzinfo=UTC) == SPIKE + 3 * M
    assert len(wire.sent) == 3 and wire.sent[-1]["last_at"] == (SPIKE + 3 * M).isoformat()
    raw = get_client(url=own_warehouse).query("SELECT count() FROM buzz.alerts").result_rows
    assert raw == [(3,)]  # one row per revision; FINAL shows the latest

    # Replays: nothing new closes, and publishing any revision again (or an older one) is a no-op.
    assert asyncio.run(closer(own_warehouse, wire).run_once()) is None
    _, reader = parts(own_warehouse)
    fresh = AlertPublisher(writer, reader, wire)
    spike = Spike("kim", "candidate", SPIKE + 3 * M, 30, 2.0, 19.8, 0.0, False)
    for rev in (3, 2, 1):
        ep = Episode("spike", "kim", SPIKE, SPIKE + 3 * M, 3, 30.0, rev, 19.8)
        again: Alert = spike_alert(spike, None, "Jordan Kim", ep)
        assert again.alert_id == alert_id
        assert asyncio.run(fresh.publish([again])) == []
    assert len(wire.sent) == 3
    assert get_client(url=own_warehouse).query("SELECT count() FROM buzz.alerts").result_rows == [
        (3,)
    ]
