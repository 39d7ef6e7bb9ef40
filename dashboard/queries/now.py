"""The Now page's queries: buzz per subject, spikes with their reasons, headline figures.

Buzz comes from ``buzz.buzz_minutes`` (the worker's closed minutes, with expected level, tone and
spike flags). A minute is closed a minute or more after it ends, so the newest one or two
minutes would always be missing and the chart would look a minute stale. Those *open* minutes
are counted from ``buzz.mention_scores`` (written per batch, seconds after a post arrives) and
flagged ``provisional``: their counts can still grow, and they have no expected level yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from clickhouse_connect.driver.client import Client

from dashboard.queries import sealed
from dashboard.queries.base import COLUMNS_FIRST, TS, Window, utc, utc_columns

SERIES_COLUMNS = [
    "bucket",
    "subject",
    "mentions",
    "expected",
    "negative",
    "sentiment_sum",
    "spike",
    "attack",
    "provisional",
]


def last_closed_minute(client: Client) -> datetime | None:
    """The newest minute the worker has closed (None before the first one)."""
    # No FINAL: a replayed row repeats a (subject, minute) that is there anyway, so neither the
    # count's zero nor the maximum can differ, and this runs on every refresh of the page.
    df = client.query_df("SELECT count() AS n, max(minute) AS last FROM buzz.buzz_minutes")
    if df.empty or int(df["n"].iloc[0]) == 0:
        return None
    return pd.Timestamp(utc(df["last"]).iloc[0]).to_pydatetime()


def buzz_series(client: Client, subjects: Sequence[str], window: Window) -> pd.DataFrame:
    """Per bucket and subject: mentions, summed expected level, tone sums, spike/attack flags.

    ``negative`` and ``sentiment_sum`` are sums over mentions (mean x count), so buckets and
    closed/open minutes add up before dividing. Every bucket of every subject appears (zero
    when nobody spoke), so a quiet minute reads as a dip, not a line drawn across it.
    """
    closed_through = last_closed_minute(client)
    open_from = window.start if closed_through is None else closed_through + timedelta(minutes=1)
    params = window.params() | {
        "subjects": list(subjects),
        "open_from": max(open_from, window.start),
    }
    closed = client.query_df(
        f"""
        SELECT toStartOfInterval(minute, toIntervalMinute({{bucket:UInt32}})) AS bucket,
               subject, sum(mentions) AS mentions, sum(ifNull(expected, 0)) AS expected,
               countIf(expected IS NULL) AS warming, sum(mentions * negative_share) AS negative,
               sum(mentions * sentiment_mean) AS sentiment_sum, max(spike) AS spike,
               max(attack) AS attack
        FROM buzz.buzz_minutes FINAL
        WHERE subject IN {{subjects:Array(String)}}
          AND minute >= {{start:{TS}}} AND minute <= {{end:{TS}}}
        GROUP BY bucket, subject
        """,
        parameters=params,
        settings=COLUMNS_FIRST,
    )
    fresh = client.query_df(
        f"""
        SELECT toStartOfInterval(minute, toIntervalMinute({{bucket:UInt32}})) AS bucket,
               subject, uniqExact(event_id) AS mentions, sum(negative) AS negative,
               sum(sentiment) AS sentiment_sum
        FROM buzz.mention_scores FINAL
        WHERE subject IN {{subjects:Array(String)}}
          AND minute >= {{open_from:{TS}}} AND occurred_at <= {{end:{TS}}}
        GROUP BY bucket, subject
        """,
        parameters=params,
    )
    return _merge_series(closed, fresh, subjects, window)


def _merge_series(
    closed: pd.DataFrame, fresh: pd.DataFrame, subjects: Sequence[str], window: Window
) -> pd.DataFrame:
    grid = pd.MultiIndex.from_product(
        [window.buckets(), list(subjects)], names=["bucket", "subject"]
    )
    out = pd.DataFrame(index=grid)
    parts = []
    for df, provisional in ((closed, 0), (fresh, 1)):
        if df.empty:
            continue
        df = df.assign(bucket=utc(df["bucket"]), provisional=provisional)
        if "expected" not in df:
            df = df.assign(expected=0.0, warming=df["mentions"], spike=0, attack=0)
        parts.append(df)
    if parts:
        both = pd.concat(parts, ignore_index=True)
        summed = both.groupby(["bucket", "subject"]).agg(
            mentions=("mentions", "sum"),
            expected=("expected", "sum"),
            warming=("warming", "sum"),
            negative=("negative", "sum"),
            sentiment_sum=("sentiment_sum", "sum"),
            spike=("spike", "max"),
            attack=("attack", "max"),
            provisional=("provisional", "max"),
        )
        out = out.join(summed)
    out = out.reset_index()
    for col in ("mentions", "spike", "attack", "provisional", "warming"):
        out[col] = out[col].fillna(0).astype(int) if col in out else 0
    for col in ("expected", "negative", "sentiment_sum"):
        out[col] = out[col].fillna(0.0).astype(float) if col in out else 0.0
    # A bucket is "warming up" when none of its closed minutes had an expectation yet.
    out["expected"] = out["expected"].where(out["warming"] == 0)
    return out.drop(columns="warming")


def headline(client: Client, subjects: Sequence[str], window: Window) -> pd.DataFrame:
    """One row: distinct ``mentions`` and ``authors`` in the window, ``previous`` before it.

    Over more than two hours, summed from sealed minutes where they hold
    (``dashboard.queries.sealed``); from the raw table otherwise. Both give the same numbers.
    """
    df = sealed.headline(client, subjects, window) if _long(window, window.previous_start) else None
    if df is None:
        return _headline_raw(client, subjects, window)
    if int(df["unsure"].iloc[0]):
        df["authors"] = _headline_raw(client, subjects, window)["authors"]
    return df.drop(columns="unsure")


# Up to this much, the raw rows are fewer than what checking the sealed minutes reads.
SHORT_SPAN = timedelta(hours=2)


def _long(window: Window, since: datetime) -> bool:
    return window.end - since > SHORT_SPAN


def _headline_raw(client: Client, subjects: Sequence[str], window: Window) -> pd.DataFrame:
    # minute is occurred_at floored: the condition on it adds nothing but lets the primary key
    # (subject, minute, event_id) skip the rest of the table.
    return client.query_df(
        f"""
        SELECT uniqExactIf(event_id, occurred_at >= {{start:{TS}}}) AS mentions,
               uniqExactIf(event_id, occurred_at < {{start:{TS}}}) AS previous,
               uniqExactIf(author_id, occurred_at >= {{start:{TS}}}) AS authors
        FROM buzz.mention_scores FINAL
        WHERE subject IN {{subjects:Array(String)}}
          AND minute >= toStartOfMinute({{previous_start:{TS}}}) AND minute <= {{end:{TS}}}
          AND occurred_at >= {{previous_start:{TS}}} AND occurred_at <= {{end:{TS}}}
        """,
        parameters=window.params() | {"subjects": list(subjects)},
    )


def _in_window(since: str) -> str:
    """Mentions of the subjects posted from ``since`` (a parameter name) to the window's end."""
    return f"""
    event_id IN (
        SELECT event_id FROM buzz.mention_scores
        WHERE subject IN {{subjects:Array(String)}}
          AND minute >= toStartOfMinute({{{since}:{TS}}}) AND minute <= {{end:{TS}}}
          AND occurred_at >= {{{since}:{TS}}} AND occurred_at <= {{end:{TS}}})
    AND occurred_at >= {{{since}:{TS}}} AND occurred_at <= {{end:{TS}}}
"""


def top_hashtags(
    client: Client, subjects: Sequence[str], window: Window, limit: int = 5
) -> pd.DataFrame:
    """The window's most used hashtags (``hashtag``, ``mentions``), most used first."""
    df = (
        sealed.top_hashtags(client, subjects, window, limit)
        if _long(window, window.start)
        else None
    )
    if df is not None:
        return df
    return client.query_df(
        f"""
        SELECT tag AS hashtag, count() AS mentions
        FROM buzz.mentions FINAL
        ARRAY JOIN hashtags AS tag
        WHERE {_in_window("start")}
        GROUP BY hashtag
        ORDER BY mentions DESC, hashtag
        LIMIT {{limit:UInt32}}
        """,
        parameters=window.params() | {"subjects": list(subjects), "limit": limit},
    )


# How far back newest_mentions looks first; most windows hold enough mentions in the first step.
NEWEST_STEPS = (timedelta(minutes=15), timedelta(hours=2), timedelta(days=1))


def newest_mentions(
    client: Client, subjects: Sequence[str], window: Window, limit: int = 20
) -> pd.DataFrame:
    """The window's newest mentions, newest first, with what a staffer needs to judge them.

    Looked for in the window's last 15 minutes first, then further back: the newest ``limit``
    of a later part of the window, when there are that many, are the window's newest.
    """
    steps = [window.end - step for step in NEWEST_STEPS if window.end - step > window.start]
    for since in [*steps, window.start]:
        df = client.query_df(
            f"""
            SELECT occurred_at, platform, author_handle AS author, author_audience AS audience,
                   text, likes + reshares + replies + quotes AS engagement, url
            FROM buzz.mentions FINAL
            WHERE {_in_window("since")}
            ORDER BY occurred_at DESC, event_id
            LIMIT {{limit:UInt32}}
            """,
            parameters=window.params()
            | {"subjects": list(subjects), "limit": limit, "since": since},
        )
        if len(df) >= limit:
            break
    return utc_columns(df, "occurred_at")


def spikes(client: Client, subjects: Sequence[str], window: Window) -> pd.DataFrame:
    """Spikes in the window, one row per subject and alert bucket (15 min), newest first.

    A spike lasting several minutes is one alert (the worker keys spike alerts by subject and
    15-minute bucket), so minutes are grouped the same way and joined with their alert for the
    title and the reasons (``why``: terms, hashtags, links, authors, example posts).
    """
    params = window.params() | {"subjects": list(subjects)}
    minutes = client.query_df(
        f"""
        SELECT subject, toStartOfFifteenMinutes(minute) AS alert_bucket,
               min(minute) AS first_minute, max(minute) AS last_minute,
               sum(mentions) AS mentions, sum(ifNull(expected, 0)) AS expected,
               sum(mentions * negative_share) AS negative, max(attack) AS attack,
               max(ifNull(anomaly_score, 0)) AS peak_z
        FROM buzz.buzz_minutes FINAL
        WHERE spike = 1 AND subject IN {{subjects:Array(String)}}
          AND minute >= {{start:{TS}}} AND minute <= {{end:{TS}}}
        GROUP BY subject, alert_bucket
        """,
        parameters=params,
        settings=COLUMNS_FIRST,
    )
    if minutes.empty:
        return pd.DataFrame(
            columns=[
                *minutes.columns,
                "alert_id",
                "title",
                "severity",
                "explanation",
                "example_urls",
                "handled",
            ]
        )
    # An alert covers its episode (``at`` to ``last_at``), which may run across several of
    # these 15-minute rows: each row gets the alert whose episode overlaps it.
    alerts = client.query_df(
        f"""
        SELECT subject, at AS alert_at, last_at AS alert_last_at, alert_id, title,
               severity, explanation, example_urls, handled
        FROM buzz.alerts_current
        WHERE kind IN ('spike', 'attack') AND subject IN {{subjects:Array(String)}}
          AND last_at >= {{start:{TS}}} - INTERVAL 15 MINUTE AND at <= {{end:{TS}}}
        ORDER BY created_at
        """,
        parameters=params,
    )
    minutes = utc_columns(minutes, "alert_bucket", "first_minute", "last_minute")
    alerts = utc_columns(alerts, "alert_at", "alert_last_at")
    pairs = minutes[["subject", "alert_bucket", "first_minute", "last_minute"]].merge(
        alerts, on="subject"
    )
    overlapping = pairs[
        (pairs["alert_at"] <= pairs["last_minute"])
        & (pairs["alert_last_at"] >= pairs["first_minute"])
    ]
    chosen = overlapping.drop_duplicates(["subject", "alert_bucket"], keep="last")[
        ["subject", "alert_bucket", "alert_id", "title", "severity", "explanation",
         "example_urls", "handled"]
    ]  # fmt: skip
    df = minutes.merge(chosen, on=["subject", "alert_bucket"], how="left")
    df["explanation"] = objects(df["explanation"], parse_json)
    df["example_urls"] = objects(df["example_urls"], urls)
    df["handled"] = df["handled"].fillna(0).astype(int)
    return df.sort_values("last_minute", ascending=False, ignore_index=True)


def objects(column: pd.Series, convert: Callable[[Any], Any]) -> pd.Series:
    """A column of Python objects (dicts, lists) kept as such: pandas would otherwise turn
    dicts into Arrow structs, whose nested lists come back as arrays."""
    return pd.Series([convert(v) for v in column], index=column.index, dtype=object)


def urls(value: Any) -> list[str]:
    if value is None or isinstance(value, float):  # NaN where no alert matched
        return []
    return [str(u) for u in value]


def parse_json(text: Any) -> dict[str, Any]:
    """An alert explanation as a dict; anything unreadable becomes {} rather than an error."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def open_alert_counts(client: Client, subjects: Sequence[str], since: datetime) -> pd.DataFrame:
    """One row: unhandled alerts since ``since`` in all, and how many are critical."""
    return client.query_df(
        f"""
        SELECT count() AS open, countIf(severity = 'critical') AS critical
        FROM buzz.alerts_current
        WHERE handled = 0 AND at >= {{since:{TS}}}
          AND (subject IN {{subjects:Array(String)}} OR kind = 'signup_surge')
        """,
        parameters={"since": since, "subjects": list(subjects)},
    )
