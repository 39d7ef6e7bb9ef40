"""How far the stream has got, per partition, and the watermark minute closing waits for.

Every worker reports, for each partition it owns (``buzz.stream_partitions``, about once a
second):

* ``next_offset``: every message before it is written to the warehouse;
* ``event_time_watermark``: the latest event time among those messages, capped at the time they
  were processed (a source clock running ahead cannot push it into the future);
* ``caught_up_at``: the last time the worker had written everything the broker held for the
  partition (the time of the fetch that showed no more messages);
* ``behind``: messages the broker held at the last fetch that were not written yet (-1: not
  known yet).

A partition is past time ``t`` when it has read events later than ``t`` (its watermark; a
backfill streams in event-time order) or, *while it has nothing left to read*, when it was caught
up after ``t``: nothing older can still be waiting in it. A partition with messages left to read
counts only by its watermark, however recently it was caught up before they arrived (a backfill
sent to an idle stream carries old event times). A report older than ``STALE`` does not count at
all (its worker died, or the group is rebalancing): that partition holds every minute back until
its new owner reports. The stream's watermark is the minimum over the partitions, minus
``LATENESS``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pipeline.tables import StreamPartitionRow

LATENESS = timedelta(seconds=60)  # how far out of order events may arrive and still count
STALE = timedelta(seconds=10)  # a report this old no longer speaks for its partition
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class PartitionProgress:
    next_offset: int = -1  # -1: nothing known yet
    watermark: datetime = NEVER
    caught_up_at: datetime = NEVER
    behind: int = -1  # messages held by the broker at the last fetch, not yet written; -1: unknown

    def written(self, next_offset: int, latest: datetime | None, now: datetime) -> None:
        """A batch up to ``next_offset`` is written; ``latest`` its latest event time."""
        self.next_offset = max(self.next_offset, next_offset)
        if latest is not None:
            self.watermark = max(self.watermark, min(latest, now))

    def fetched(self, highwater: int | None, polled_at: datetime | None) -> None:
        """What the last fetch showed: the end of the partition, and when."""
        if highwater is None or polled_at is None or self.next_offset < 0:
            self.behind = -1
            return
        self.behind = max(0, highwater - self.next_offset)
        if self.behind == 0:
            self.caught_up_at = max(self.caught_up_at, polled_at)


@dataclass
class ProgressTracker:
    """The progress of the partitions this worker owns."""

    worker: str = field(default_factory=worker_name)
    parts: dict[tuple[str, int], PartitionProgress] = field(default_factory=dict)

    def assigned(self, topic: str, partition: int, next_offset: int) -> None:
        self.parts.setdefault((topic, partition), PartitionProgress(next_offset))

    def revoked(self, topic: str, partition: int) -> None:
        self.parts.pop((topic, partition), None)

    def get(self, topic: str, partition: int) -> PartitionProgress | None:
        return self.parts.get((topic, partition))

    def rows(self) -> list[StreamPartitionRow]:
        return [
            StreamPartitionRow(
                t, p, pp.next_offset, pp.watermark, pp.caught_up_at, pp.behind, self.worker
            )
            for (t, p), pp in sorted(self.parts.items())
        ]


@dataclass(frozen=True)
class Report:
    """One partition's latest report, as read back from ``buzz.stream_partitions``."""

    topic: str
    partition: int
    watermark: datetime
    caught_up_at: datetime
    behind: int
    updated_at: datetime


def partition_time(r: Report) -> datetime:
    """How far in event time one partition is known to be complete (before lateness)."""
    return max(r.watermark, r.caught_up_at) if r.behind == 0 else r.watermark


def stream_watermark(
    reports: Iterable[Report],
    expected: Mapping[str, int],
    now: datetime,
    lateness: timedelta = LATENESS,
    stale: timedelta = STALE,
) -> datetime | None:
    """Every event up to the returned time is written, on every partition of every topic.

    ``expected`` maps each topic to its partition count. ``None`` while any partition has no
    fresh report (none at all, or one older than ``stale``).
    """
    seen: dict[tuple[str, int], datetime] = {}
    for r in reports:
        if r.topic in expected and now - r.updated_at <= stale:
            seen[(r.topic, r.partition)] = partition_time(r)
    wanted = [(t, p) for t, n in expected.items() for p in range(n)]
    if not wanted or any(k not in seen for k in wanted):
        return None
    return min(seen[k] for k in wanted) - lateness


def closable_through(watermark: datetime | None) -> datetime | None:
    """The last minute that has ended by ``watermark`` (the minute starting then is not over)."""
    if watermark is None:
        return None
    start = watermark.astimezone(UTC).replace(second=0, microsecond=0)
    return start - timedelta(minutes=1)
