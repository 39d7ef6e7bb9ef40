"""Exact counts over long windows from sealed minutes (``buzz.sealed_minutes``, migration 0031).

Counting distinct mentions over a day or a week of raw rows takes seconds (FINAL and uniqExact
over millions of rows). The warehouse seals each closed minute once (a refreshable materialised
view) with the fingerprint of the raw rows it was computed from, so a window is summed from one
row per minute instead. A sealed minute is used only while its fingerprint still matches the raw
tables; every other minute of the window is counted from the raw tables as before:

- minutes not sealed yet (the newest ones, and all of them before the first refresh);
- minutes whose raw rows changed since (a replay, late data, a merge, a delete);
- minutes cut by the window (the last, still filling, and the first of a window that does not
  start on a minute).

So the answer is the one the raw tables give, whatever the refresh has done so far. When sealing
is far behind (a warehouse just migrated), callers fall back to their raw query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from clickhouse_connect.driver.client import Client

from dashboard.queries.base import TS, Window, floor

# More live minutes than this and the raw query is cheaper than a long list of minutes.
MAX_LIVE_MINUTES = 240
MINUTE = "DateTime('UTC')"
# Minutes at or after this many minutes before the window's end are always counted live: the
# refresh seals only minutes that closed more than a minute ago.
UNSEALED_MINUTES = 1
_SEALABLE = f"""minute >= {{lo:{MINUTE}}} AND minute < {{until:{MINUTE}}}
    AND minute NOT IN {{partial:Array({MINUTE})}}"""

# Fingerprint of the raw rows per minute: count and summed write time of both tables, read from
# the projections of migration 0031 (the expressions must stay those of the projections).
FINGERPRINTS = f"""
    SELECT minute, sum(sr) AS score_rows, sum(ss) AS score_stamp, sum(mr) AS mention_rows,
           sum(ms) AS mention_stamp
    FROM (
        SELECT minute, count() AS sr, sum(toUnixTimestamp64Milli(scored_at)) AS ss,
               toUInt64(0) AS mr, toInt64(0) AS ms
        FROM buzz.mention_scores
        WHERE {_SEALABLE}
        GROUP BY minute
        UNION ALL
        SELECT toStartOfMinute(occurred_at) AS minute, toUInt64(0), toInt64(0), count(),
               sum(toUnixTimestamp64Milli(sunk_at))
        FROM buzz.mentions
        WHERE {_SEALABLE.replace("minute", "toStartOfMinute(occurred_at)")}
        GROUP BY minute
    )
    GROUP BY minute
"""
SEALED = f"""
    SELECT minute, score_rows, score_stamp, mention_rows, mention_stamp
    FROM buzz.sealed_minutes FINAL
    WHERE {_SEALABLE}
"""
_SUMS = "(sum(score_rows), sum(score_stamp), sum(mention_rows), sum(mention_stamp))"
# Fast path: when the fingerprints of all the minutes add up to the sealed ones, every sealed
# minute holds (a change would have to keep both the row count and the summed write times of
# all minutes as they were).
SAME_SQL = f"SELECT (SELECT {_SUMS} FROM ({FINGERPRINTS})) = (SELECT {_SUMS} FROM ({SEALED}))"
# Slow path: minute by minute, which sealed rows not to use and which minutes to count live.
STATUS_SQL = f"""
    SELECT m, has_rows AND (NOT sealed OR changed) AS live,
           sealed AND (NOT has_rows OR changed) AS drop
    FROM (
        SELECT if(f.minute IS NULL, s.minute, f.minute) AS m, f.minute IS NOT NULL AS has_rows,
               s.minute IS NOT NULL AS sealed,
               ifNull(f.score_rows != s.score_rows OR f.score_stamp != s.score_stamp
                      OR f.mention_rows != s.mention_rows
                      OR f.mention_stamp != s.mention_stamp, 1) AS changed
        FROM ({FINGERPRINTS}) AS f FULL OUTER JOIN ({SEALED}) AS s ON s.minute = f.minute
    )
    WHERE live OR drop
    ORDER BY m
    SETTINGS join_use_nulls = 1
"""


@dataclass(frozen=True)
class MinuteStatus:
    """How to count the minutes from ``lo`` to ``hi``.

    Sealed rows are used for the minutes from ``lo`` up to (not including) ``until``, except
    ``exclude``; the raw tables are read for the minutes in ``live`` and those from ``until``
    on. Together they count every minute once.
    """

    lo: datetime
    hi: datetime
    until: datetime
    exclude: list[datetime]
    live: list[datetime]

    def params(self) -> dict[str, object]:
        return {
            "lo": self.lo,
            "hi": self.hi,
            "until": self.until,
            "exclude": self.exclude,
            "live": self.live,
        }


def minute_status(
    client: Client,
    lo: datetime,
    hi: datetime,
    now: datetime,
    partial: Sequence[datetime] = (),
) -> MinuteStatus | None:
    """The status of the minutes from ``lo`` to ``hi``; None when too many must be counted live.

    Minutes from one before ``now`` on are always live (not sealed yet, or still filling), and so
    are the ``partial`` minutes the caller's window cuts.
    """
    lo, hi = floor(lo, 1), floor(hi, 1)
    until = max(
        lo, min(hi + timedelta(minutes=1), floor(now, 1) - timedelta(minutes=UNSEALED_MINUTES))
    )
    cut = [floor(p, 1) for p in partial]
    params = {"lo": lo, "until": until, "partial": cut}
    if client.query(SAME_SQL, parameters=params).result_rows[0][0]:
        return MinuteStatus(lo, hi, until, exclude=cut, live=cut)
    rows = client.query(STATUS_SQL, parameters=params).result_rows
    live = [m for m, is_live, _ in rows if is_live]
    if len(live) > MAX_LIVE_MINUTES:
        return None
    drop = [m for m, _, is_drop in rows if is_drop]
    return MinuteStatus(lo, hi, until, exclude=[*drop, *cut], live=[*live, *cut])


# The minutes counted from the raw tables (see MinuteStatus), on mention scores and on mentions.
_LIVE = f"(minute IN {{live:Array({MINUTE})}} OR minute >= {{until:{MINUTE}}})"
_LIVE_POSTS = (
    f"(toStartOfMinute(occurred_at) IN {{live:Array({MINUTE})}}"
    f" OR occurred_at >= {{until:{MINUTE}}})"
)

HEADLINE_SQL = f"""
    SELECT sealed.m + live.m AS mentions, sealed.p + live.p AS previous, who.n AS authors,
           who.unsure AS unsure
    FROM (
        SELECT toUInt64(sumIf(n, minute >= {{start:{TS}}})) AS m,
               toUInt64(sumIf(n, minute < {{start:{TS}}})) AS p
        FROM buzz.sealed_minutes FINAL
        ARRAY JOIN combos AS combo, combo_mentions AS n
        WHERE minute >= {{lo:{MINUTE}}} AND minute < {{until:{MINUTE}}}
          AND minute NOT IN {{exclude:Array({MINUTE})}}
          AND hasAny(combo, {{subjects:Array(String)}})
    ) AS sealed
    CROSS JOIN (
        SELECT uniqExactIf(event_id, occurred_at >= {{start:{TS}}}) AS m,
               uniqExactIf(event_id, occurred_at < {{start:{TS}}}) AS p
        FROM buzz.mention_scores FINAL
        WHERE subject IN {{subjects:Array(String)}} AND {_LIVE}
          AND occurred_at >= {{previous_start:{TS}}} AND occurred_at <= {{end:{TS}}}
    ) AS live
    CROSS JOIN (
        SELECT uniqExact(author_id) AS n,
               (SELECT count() FROM buzz.author_last_seen
                WHERE subject IN {{subjects:Array(String)}} AND last_seen > {{end:{TS}}}) AS unsure
        FROM (
            SELECT author_id FROM buzz.author_last_seen
            WHERE subject IN {{subjects:Array(String)}}
              AND last_seen >= {{start:{TS}}} AND last_seen <= {{end:{TS}}}
            UNION ALL
            SELECT author_id FROM buzz.mention_scores FINAL
            WHERE subject IN {{subjects:Array(String)}} AND {_LIVE}
              AND occurred_at >= {{start:{TS}}} AND occurred_at <= {{end:{TS}}}
        )
    ) AS who
"""


def headline(client: Client, subjects: Sequence[str], window: Window) -> pd.DataFrame | None:
    """``now.headline`` from sealed minutes: mentions, previous, authors, and ``unsure``.

    Authors of the window are those whose latest sealed post (``buzz.author_last_seen``) is in
    it, and those of the minutes counted live. A latest sealed post after the window's end
    (only when the dashboard's clock is behind the warehouse's) would hide whether an earlier
    one is in the window: ``unsure`` counts such authors, and the caller counts authors from the
    raw table then.
    """
    status = minute_status(
        client, window.previous_start, window.end, window.end, partial=[window.previous_start]
    )
    if status is None:
        return None
    return client.query_df(
        HEADLINE_SQL,
        parameters=window.params() | status.params() | {"subjects": list(subjects)},
    )


HASHTAGS_SQL = f"""
    SELECT hashtag, sum(n) AS mentions
    FROM (
        SELECT tag AS hashtag, toUInt64(uses) AS n
        FROM buzz.sealed_minutes FINAL
        ARRAY JOIN tag_combos AS combo, tag_names AS tag, tag_counts AS uses
        WHERE minute >= {{lo:{MINUTE}}} AND minute < {{until:{MINUTE}}}
          AND minute NOT IN {{exclude:Array({MINUTE})}}
          AND hasAny(combo, {{subjects:Array(String)}})
        UNION ALL
        SELECT tag AS hashtag, toUInt64(1) AS n
        FROM buzz.mentions FINAL
        ARRAY JOIN hashtags AS tag
        WHERE {_LIVE_POSTS}
          AND event_id IN (
            SELECT event_id FROM buzz.mention_scores
            WHERE subject IN {{subjects:Array(String)}} AND {_LIVE}
              AND occurred_at >= {{start:{TS}}} AND occurred_at <= {{end:{TS}}})
          AND occurred_at >= {{start:{TS}}} AND occurred_at <= {{end:{TS}}}
    )
    GROUP BY hashtag
    ORDER BY mentions DESC, hashtag
    LIMIT {{limit:UInt32}}
"""


def top_hashtags(
    client: Client, subjects: Sequence[str], window: Window, limit: int
) -> pd.DataFrame | None:
    """``now.top_hashtags`` from sealed minutes."""
    status = minute_status(client, window.start, window.end, window.end)
    if status is None:
        return None
    return client.query_df(
        HASHTAGS_SQL,
        parameters=window.params() | status.params() | {"subjects": list(subjects), "limit": limit},
    )


# Every minute a mention can have: event time may run up to a day ahead of the clock.
EARLIEST, LATEST = datetime(1970, 1, 2, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
TOTAL_SQL = f"""
    SELECT sealed.n + live.n AS total
    FROM (
        SELECT toUInt64(sum(mentions)) AS n FROM buzz.sealed_minutes FINAL
        WHERE minute < {{until:{MINUTE}}} AND minute NOT IN {{exclude:Array({MINUTE})}}
    ) AS sealed
    CROSS JOIN (
        SELECT count() AS n FROM buzz.mentions FINAL WHERE {_LIVE_POSTS}
    ) AS live
"""


def mention_total(client: Client, now: datetime) -> int | None:
    """Distinct mentions stored (``count()`` of ``buzz.mentions FINAL``) from sealed minutes."""
    status = minute_status(client, EARLIEST, LATEST, now)
    if status is None:
        return None
    return int(client.query(TOTAL_SQL, parameters=status.params()).result_rows[0][0])
