"""Closing seeded minutes as the worker does: ``buzz.buzz_minutes`` and spike/attack alerts.

Per subject and minute, counted from ``buzz.mention_scores FINAL``; the expected level is the
subject's mean for that hour of day (over everything closed so far and the minutes being
closed), none on the first day (warming up); a minute is a spike at z >= 3 with at least 5
mentions, an attack when the spike is on the candidate and at least 35% negative. Closing again
later only adds the minutes after the last closed one, as the worker's minute job does.
"""

from __future__ import annotations

from datetime import datetime

from clickhouse_connect.driver.client import Client

from pipeline.bench_dashboard.shape import Shape, sql_str, sql_strs, sql_time

MINUTE_COLUMNS = (
    "subject", "subject_kind", "minute", "mentions", "unique_authors", "engagement_volume",
    "audience_volume", "sentiment_mean", "negative_share", "share_of_voice", "expected",
    "expected_std", "anomaly_score", "spike", "attack", "computed_at",
)  # fmt: skip


def last_closed(client: Client) -> datetime | None:
    rows = client.query("SELECT count(), max(minute) FROM buzz.buzz_minutes").result_rows
    return rows[0][1] if rows and rows[0][0] else None


def close_minutes(client: Client, shape: Shape, through: datetime) -> None:
    """Close every minute after the last closed one up to ``through``, and raise its alerts."""
    after = last_closed(client)
    since = sql_time(shape.start) if after is None else f"toDateTime({sql_str(str(after))}, 'UTC')"
    sids, kinds = sql_strs(shape.subject_ids), shape.subject_kinds()
    names = sql_strs(s.name for s in shape.campaign.subjects)
    warm_until = f"addDays({sql_time(shape.start)}, 1)"
    client.command(
        f"""INSERT INTO buzz.buzz_minutes ({", ".join(MINUTE_COLUMNS)})
        WITH
            fresh AS (
                SELECT subject, minute, count() AS m, uniqExact(author_id) AS authors,
                       sum(engagement_weight) AS ev, sum(audience_weight) AS av,
                       avg(sentiment) AS tone, avg(negative) AS neg
                FROM buzz.mention_scores FINAL
                WHERE minute > {since} AND minute <= {sql_time(through)}
                GROUP BY subject, minute
            ),
            normal AS (
                SELECT subject, h, avg(n) AS e FROM (
                    SELECT subject, toHour(minute) AS h, mentions AS n FROM buzz.buzz_minutes
                    UNION ALL SELECT subject, toHour(minute) AS h, m AS n FROM fresh
                ) GROUP BY subject, h
            )
        SELECT f.subject, transform(f.subject, {sids}, {kinds}, 'issue') AS kind, f.minute,
               f.m, f.authors, f.ev, f.av, f.tone, f.neg,
               if(kind = 'issue', NULL,
                  f.m / sum(if(kind = 'issue', 0, f.m)) OVER (PARTITION BY f.minute)) AS sov,
               if(f.minute < {warm_until}, NULL, n.e) AS expected,
               if(expected IS NULL, NULL, greatest(sqrt(n.e), 1.0)) AS sd,
               (f.m - expected) / sd AS z,
               ifNull(z >= 3 AND f.m >= 5, 0) AS spike,
               spike AND kind = 'candidate' AND f.neg >= 0.35 AS attack,
               addSeconds(f.minute, 65)
        FROM fresh AS f
        LEFT JOIN normal AS n ON n.subject = f.subject AND n.h = toHour(f.minute)
        SETTINGS join_use_nulls = 0"""
    )
    client.command(
        f"""INSERT INTO buzz.alerts (alert_id, kind, subject, severity, title, at, explanation,
                                    example_urls, created_at)
        SELECT concat('alert:', kind, ':', lower(hex(cityHash64(subject, bucket)))), kind,
               subject, if(kind = 'attack', 'critical', if(peak_z >= 6, 'warning', 'info')),
               concat(if(kind = 'attack', 'Possible attack on ', 'Spike in mentions of '),
                      transform(subject, {sids}, {names}, subject), ': ', toString(top),
                      ' a minute vs ', toString(round(usual, 1)), ' usual'),
               first_minute, explanation, urls, addSeconds(first_minute, 70)
        FROM (
            SELECT subject, toStartOfFifteenMinutes(minute) AS bucket,
                   if(max(attack) = 1, 'attack', 'spike') AS kind, min(minute) AS first_minute,
                   max(mentions) AS top, argMax(expected, mentions) AS usual,
                   max(anomaly_score) AS peak_z, max(negative_share) AS neg,
                   {_explanation("top", "usual", "peak_z", "neg")} AS explanation,
                   arrayMap(k -> concat('https://x.example/user', toString(k), '/status/',
                                        toString(cityHash64(subject, bucket, k) % 100000000)),
                            range(5)) AS urls
            FROM buzz.buzz_minutes FINAL
            WHERE spike = 1 AND minute > {since} AND minute <= {sql_time(through)}
            GROUP BY subject, bucket
        )"""
    )


def _explanation(top: str, usual: str, z: str, neg: str) -> str:
    """An alert explanation shaped like the worker's (spike figures, then why), ~1 KB."""
    drivers = ", ".join(
        f"""concat('"{what}": [', arrayStringConcat(arrayMap(k -> concat(
               '{{"item": "{what[:-1]} ', toString(k), '", "spike_posts": ', toString(30 - k * 4),
               ', "baseline_posts": ', toString(k), '}}'), range(5)), ', '), ']')"""
        for what in ("terms", "hashtags", "links", "authors")
    )
    return f"""concat('{{"spike": {{"mentions": ', toString({top}), ', "expected": ',
        toString(round({usual}, 2)), ', "z": ', toString(round({z}, 2)),
        ', "negative_share": ', toString(round({neg}, 3)), '}}, "why": {{',
        arrayStringConcat([{drivers}], ', '), '}}}}')"""
