"""Does buzz lead signups? The correlation of hourly buzz with hourly signups, per lag.

Recomputed over the last ``LAG_DAYS`` days whenever new mentions or signups were written since
the last pass, from the hourly rollup of mentions (``buzz.rollup_subject_hour``: distinct mentions
per subject and hour, kept by a materialised view, so the pass never scans the raw mentions) and
the signups table, with the pure ``scoring.signups.lagged_correlation``. Written to
``buzz.buzz_signup_lag`` (latest wins).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pipeline.jobs.base import JobContext
from pipeline.processors.raw import content_token
from pipeline.scoring.signups import lagged_correlation
from pipeline.stream.reader import as_utc, utc_literal
from pipeline.tables import BUZZ_SIGNUP_LAG, LagRow

log = logging.getLogger("pipeline.jobs.lag")

LAG_DAYS = 14
MAX_LAG_HOURS = 24

BUZZ_SQL = """
SELECT subject, hour, uniqExactMerge(mentions) FROM buzz.rollup_subject_hour
WHERE hour >= toDateTime(%(since)s, 'UTC') GROUP BY subject, hour
UNION ALL
SELECT 'all', hour, uniqExactMerge(mentions) FROM buzz.rollup_subject_hour
WHERE hour >= toDateTime(%(since)s, 'UTC') GROUP BY hour
"""
SIGNUPS_SQL = """
SELECT toStartOfHour(occurred_at) AS h, count() FROM buzz.signups FINAL
WHERE occurred_at >= toDateTime64(%(since)s, 3, 'UTC') GROUP BY h
"""
OFFSETS_SQL = (
    "SELECT sum(next_offset) FROM buzz.stream_partitions FINAL"
    " WHERE topic IN ('buzz.mentions', 'buzz.signups')"
)


def lag_rows(
    buzz_hourly: Sequence[tuple[str, datetime, int]], signups_hourly: Sequence[tuple[datetime, int]]
) -> list[LagRow]:
    """``buzz.buzz_signup_lag`` rows per subject (and ``all``) from hourly counts (pure)."""
    signups = {as_utc(h): float(n) for h, n in signups_hourly}
    series: dict[str, dict[datetime, float]] = {}
    for subject, hour, n in buzz_hourly:
        series.setdefault(subject, {})[as_utc(hour)] = float(n)
    rows = []
    for subject, buzz in sorted(series.items()):
        hours = [*buzz, *signups]
        start, end = min(hours), max(hours)
        for lc in lagged_correlation(buzz, signups, max_lag_hours=MAX_LAG_HOURS):
            r = None if lc.r is None else round(lc.r, 9)
            rows.append(LagRow(subject, lc.lag_hours, r, lc.pairs, start, end))
    return rows


class LagCorrelator:
    name = "buzz_signup_lag"
    every = 15.0

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.offsets: int | None = None

    async def load(self) -> None:
        self.offsets = None

    async def run_once(self, now: datetime | None = None) -> list[LagRow]:
        moved = await self.ctx.reader.aquery(OFFSETS_SQL)
        offsets = int(moved[0][0]) if moved and moved[0][0] is not None else 0
        if offsets == self.offsets:
            return []
        now = now or datetime.now(UTC)
        since = {"since": utc_literal(now - timedelta(days=LAG_DAYS))[:19]}
        buzz = await self.ctx.reader.aquery(BUZZ_SQL, since)
        signups = await self.ctx.reader.aquery(SIGNUPS_SQL, since)
        self.offsets = offsets
        if not buzz or not signups:
            return []
        rows = lag_rows(
            [(r[0], r[1], int(r[2])) for r in buzz], [(r[0], int(r[1])) for r in signups]
        )
        await self.ctx.writer.ainsert(BUZZ_SIGNUP_LAG, rows, content_token("lag", rows))
        return rows
