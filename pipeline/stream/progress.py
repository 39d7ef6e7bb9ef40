"""How far the stream has got, per partition, and the watermark minute closing waits for.

Every worker reports, for each partition it owns (``buzz.stream_partitions``, about once a
second):

* ``next_offset``: every message before it is written to the warehouse;
* ``event_time_watermark``: the latest event time among those messages, capped at the time they
  were processed (a source clock running ahead cannot push it into the future);
* ``caught_up_at``: the last time the worker had written everything the broker held for the
  partition (the time of the fetch that showed no more messages).

A minute may close once *every* partition is past it. A partition is past time ``t`` when its
watermark, or the time it was last caught up, is at least ``t + LATENESS``: either it has read
events later than that (a backfill streaming in event-time order), or nothing older can still be
waiting for it (it had read all there was). The minimum over partitions is the stream's
watermark. A partition nobody reports for (its worker died, the group is rebalancing, a worker
is re-reading what it had not committed after a restart) holds the watermark back until its new
owner has caught up: that is what keeps a restart from closing minutes before their data is in.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pipeline.tables import StreamPartitionRow

LATENESS = timedelta(seconds=60)  # how far out of order events may arrive and still count
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class PartitionProgress:
    next_offset: int = -1  # -1: nothing known yet
    watermark: datetime = NEVER
    caught_up_at: datetime = NEVER

    def written(self, next_offset: int, latest: datetime | None, now: datetime) -> None:
        """A batch up to ``next_offset`` is written; ``latest`` its latest event time."""
        self.next_offset = max(self.next_offset, next_offset)
        if latest is not None:
            self.watermark = max(self.watermark, min(latest, now))

    def caught_up(self, at: datetime) -> None:
        self.caught_up_at = max(self.caught_up_at, at)


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
            StreamPartitionRow(t, p, pp.next_offset, pp.watermark, pp.caught_up_at, self.worker)
            for (t, p), pp in sorted(self.parts.items())
        ]


def partition_time(watermark: datetime, caught_up_at: datetime) -> datetime:
    """How far in event time one partition is known to be complete (before lateness)."""
    return max(watermark, caught_up_at)


def stream_watermark(
    reports: Iterable[tuple[str, int, datetime, datetime]],
    expected: Mapping[str, int],
    lateness: timedelta = LATENESS,
) -> datetime | None:
    """Every event up to the returned time is written, on every partition of every topic.

    ``reports`` are (topic, partition, event_time_watermark, caught_up_at); ``expected`` maps
    each topic to its partition count. ``None`` while any partition has no report.
    """
    seen: dict[tuple[str, int], datetime] = {}
    for topic, partition, watermark, caught_up_at in reports:
        if topic in expected:
            seen[(topic, partition)] = partition_time(watermark, caught_up_at)
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


def minutes_between(after: datetime, through: datetime) -> Sequence[datetime]:
    """The minute starts in (after, through]."""
    out = []
    m = after + timedelta(minutes=1)
    while m <= through:
        out.append(m)
        m += timedelta(minutes=1)
    return out
