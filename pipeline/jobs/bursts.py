"""Coordinated bursts, minute by minute, inside the minute job.

A minute's mentions are spread over every partition, so bursts are looked for where minutes
close (``pipeline.jobs.minutes``), over the same settled minutes: for each closed minute the
original posts of that minute (reshares left out) are added to a
:class:`~pipeline.scoring.coordination.BurstDetector` and the bursts of the window ending with
it are judged. The detector holds the last hour of posts in memory; after a restart it is
rebuilt from the warehouse (the hour before the first minute to close), so it judges the next
minute as it would have without the restart.

Cost is bounded: at most ``MAX_POSTS_PER_MINUTE`` original posts of a minute are clustered (a
deterministic sample by event id beyond that, so a burst is seen in proportion; docs/scoring.md
gives the measured cost per post).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime, timedelta

from pipeline.scoring.coordination import Burst, BurstDetector, BurstRule, Post
from pipeline.stream.reader import WarehouseReader, as_utc, utc_literal

log = logging.getLogger("pipeline.jobs.bursts")

MINUTE = timedelta(minutes=1)
MAX_POSTS_PER_MINUTE = 5_000
MAX_MINUTES = 24 * 60

POSTS_SQL = """
SELECT event_id, author_id, author_handle, text, occurred_at, url
FROM buzz.mentions FINAL
WHERE occurred_at >= toDateTime64(%(a)s, 3, 'UTC') AND occurred_at < toDateTime64(%(b)s, 3, 'UTC')
  AND reshare_of IS NULL AND reply_to IS NULL
ORDER BY sipHash64(event_id) LIMIT %(n)s
"""
SUBJECTS_SQL = """
SELECT event_id, groupUniqArray(subject) FROM buzz.mention_scores FINAL
WHERE minute >= toDateTime(%(a)s, 'UTC') AND minute < toDateTime(%(b)s, 'UTC')
  AND reshare_of IS NULL AND reply_to IS NULL
GROUP BY event_id
"""


class BurstWatch:
    """Feeds closed minutes to the detector; the bursts at the end of each."""

    def __init__(self, reader: WarehouseReader, rule: BurstRule | None = None) -> None:
        self.reader = reader
        self.rule = rule or BurstRule()
        self.detector = BurstDetector(self.rule)
        self.fed_until: datetime | None = None  # posts before this time were added

    def reset(self) -> None:
        self.detector = BurstDetector(self.rule)
        self.fed_until = None

    async def read(self, start: datetime, end: datetime) -> list[Post]:
        """Original posts in [start, end) with the subjects they name (raises ReadFailed)."""
        minutes = max(1, int((end - start) / MINUTE))
        a, b = utc_literal(start), utc_literal(end)
        rows = await self.reader.aquery(
            POSTS_SQL, {"a": a, "b": b, "n": MAX_POSTS_PER_MINUTE * minutes}
        )
        named = await self.reader.aquery(SUBJECTS_SQL, {"a": a[:19], "b": b[:19]})
        subjects = {r[0]: tuple(sorted(r[1])) for r in named}
        return [
            Post(event_id=r[0], author_id=r[1], handle=r[2], text=r[3], at=as_utc(r[4]),
                 url=r[5], subjects=subjects.get(r[0], ()))
            for r in rows
        ]  # fmt: skip

    async def judge(self, first: datetime, last: datetime) -> dict[datetime, list[Burst]]:
        """Bursts at the end of each minute from ``first`` to ``last`` (inclusive), in order.

        At most ``MAX_MINUTES`` minutes are judged in one call (the latest ones): a stream that
        was stopped for days is not judged minute by minute when it comes back.
        """
        first = max(first, last - MAX_MINUTES * MINUTE)
        end = last + MINUTE
        start = first - self.rule.history
        if self.fed_until is not None and self.fed_until > first:
            self.reset()  # minutes judged again (a lost progress mark): rebuild
        elif self.fed_until is not None:
            start = max(start, self.fed_until)
        posts = await self.read(start, end) if start < end else []
        by_minute: dict[datetime, list[Post]] = defaultdict(list)
        for p in posts:
            by_minute[p.at.replace(second=0, microsecond=0)].append(p)
        # Clustering is CPU work: in a thread, so the stream's reads and writes go on meanwhile.
        out = await asyncio.to_thread(self._cluster, first, last, by_minute)
        self.fed_until = end
        return out

    def _cluster(
        self, first: datetime, last: datetime, by_minute: dict[datetime, list[Post]]
    ) -> dict[datetime, list[Burst]]:
        # History read back is replayed minute by minute, as it was seen, so the clusters after a
        # restart are the ones the running detector had.
        for minute in sorted(m for m in by_minute if m < first):
            self.detector.add(by_minute[minute])
            self.detector.expire(minute + MINUTE)
        out: dict[datetime, list[Burst]] = {}
        minute = first
        while minute <= last:
            self.detector.add(by_minute.get(minute, ()))
            self.detector.expire(minute + MINUTE)
            found = self.detector.bursts(minute + MINUTE)
            if found:
                out[minute] = found
            minute += MINUTE
        return out
