"""Signups: by channel and referral, what drove them, and how long after buzz they follow."""

from __future__ import annotations

import pandas as pd
from clickhouse_connect.driver.client import Client

from dashboard.queries.base import TS, Window, utc_columns


def signups_over_time(client: Client, window: Window) -> pd.DataFrame:
    """Signups per bucket and channel (``bucket``, ``channel``, ``signups``), zero-filled."""
    df = client.query_df(
        f"""
        SELECT toStartOfInterval(occurred_at, toIntervalMinute({{bucket:UInt32}})) AS bucket,
               channel, count() AS signups
        FROM buzz.signups FINAL
        WHERE occurred_at >= {{start:{TS}}} AND occurred_at <= {{end:{TS}}}
        GROUP BY bucket, channel
        """,
        parameters=window.params(),
    )
    if df.empty:
        return pd.DataFrame(
            {"bucket": pd.Series(dtype="datetime64[ns, UTC]"), "channel": [], "signups": []}
        )
    df = utc_columns(df, "bucket")
    grid = pd.MultiIndex.from_product(
        [window.buckets(), sorted(df["channel"].unique())], names=["bucket", "channel"]
    )
    counts = df.set_index(["bucket", "channel"])["signups"].reindex(grid, fill_value=0)
    return counts.astype(int).reset_index()


def signup_totals(client: Client, window: Window) -> pd.DataFrame:
    """One row: signups in the window and before it, and how many came with a referral code."""
    return client.query_df(
        f"""
        SELECT countIf(occurred_at >= {{start:{TS}}}) AS signups,
               countIf(occurred_at < {{start:{TS}}}) AS previous,
               countIf(occurred_at >= {{start:{TS}}} AND referral_code != '') AS referred
        FROM buzz.signups FINAL
        WHERE occurred_at >= {{previous_start:{TS}}} AND occurred_at <= {{end:{TS}}}
        """,
        parameters=window.params(),
    )


def by_referral(client: Client, window: Window, limit: int = 20) -> pd.DataFrame:
    """Referral codes used in the window, most used first, with what they were credited to."""
    return client.query_df(
        f"""
        SELECT upper(s.referral_code) AS referral_code, count() AS signups,
               anyHeavy(a.kind) AS credited_kind, anyHeavy(a.target_id) AS credited_to
        FROM buzz.signups AS s FINAL
        LEFT JOIN (SELECT event_id, kind, target_id FROM buzz.signup_attribution FINAL) AS a
            ON a.event_id = s.event_id
        WHERE s.referral_code != ''
          AND s.occurred_at >= {{start:{TS}}} AND s.occurred_at <= {{end:{TS}}}
        GROUP BY upper(s.referral_code)
        ORDER BY signups DESC, referral_code
        LIMIT {{limit:UInt32}}
        """,
        parameters=window.params() | {"limit": limit},
    )


# What a signup was credited to, in words (validator name, thread title, the start of the post)
# and with a link where there is something to open: columns (and ``target_joins``) for a query
# over attribution rows aliased ``a`` (with ``kind`` and ``target_id``), grouped by those two.
TARGET_LABEL = """
       multiIf(a.kind = 'validator', if(any(v.name) = '', a.target_id, any(v.name)),
               a.kind = 'thread', if(any(t.thread_title) = '', a.target_id, any(t.thread_title)),
               a.kind = 'mention', if(any(m.text) = '', a.target_id,
                                      concat('@', any(m.author_handle), ': ',
                                             substring(any(m.text), 1, 80))),
               a.target_id) AS label,
       multiIf(a.kind = 'thread', any(t.url), a.kind = 'mention', any(m.url), '') AS url"""


def target_joins(ids: str) -> str:
    """The joins for ``TARGET_LABEL``, each reading only the targets ``ids`` (a subquery) names:
    at millions of mentions a join over all of them costs seconds."""
    return f"""
        LEFT JOIN (SELECT validator, name FROM buzz.validators FINAL) AS v
            ON v.validator = a.target_id
        LEFT JOIN (
            SELECT thread_id, thread_title, url FROM buzz.thread_scores FINAL
            WHERE thread_id IN ({ids})
        ) AS t ON t.thread_id = a.target_id
        LEFT JOIN (
            SELECT event_id, author_handle, text, url FROM buzz.mentions FINAL
            WHERE event_id IN ({ids})
        ) AS m ON m.event_id = a.target_id"""


def attribution(client: Client, window: Window, limit: int = 30) -> pd.DataFrame:
    """What drove the window's signups: one row per attributed target, most signups first.

    ``label`` names the target in words (validator name, thread title, the start of the post)
    and ``url`` links to it where there is something to open. The targets are ranked first, so
    only the shown ones are looked up (a post among millions, by the event_id bloom index).
    """
    return client.query_df(
        f"""
        WITH top AS (
            SELECT kind, target_id, count() AS signups
            FROM buzz.signup_attribution FINAL
            WHERE occurred_at >= {{start:{TS}}} AND occurred_at <= {{end:{TS}}}
            GROUP BY kind, target_id
            ORDER BY signups DESC, kind, target_id
            LIMIT {{limit:UInt32}}
        )
        SELECT a.kind AS kind, a.target_id AS target_id, any(a.signups) AS signups, {TARGET_LABEL}
        FROM top AS a {target_joins("SELECT target_id FROM top")}
        GROUP BY a.kind, a.target_id
        ORDER BY signups DESC, kind, target_id
        """,
        parameters=window.params() | {"limit": limit},
    )


def buzz_signup_lag(client: Client, subject: str = "all") -> pd.DataFrame:
    """Correlation of hourly buzz with signups ``lag_hours`` later (``r`` NULL if undefined)."""
    df = client.query_df(
        """
        SELECT lag_hours, r, pairs, window_start, window_end
        FROM buzz.buzz_signup_lag FINAL
        WHERE subject = {subject:String}
        ORDER BY lag_hours
        """,
        parameters={"subject": subject},
    )
    return utc_columns(df, "window_start", "window_end")
