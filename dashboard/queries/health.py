"""Health: what the pipeline wrote per topic, dead letters, and each source's own report."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from clickhouse_connect.driver.client import Client

from dashboard.queries import sealed
from dashboard.queries.base import TS, floor, table_exists, utc, utc_columns

EPOCH = pd.Timestamp("1970-01-02", tz="UTC")
NEWEST_WRITE_LOOKS = (60, 3600)  # seconds before the newest write
# Which table holds what each topic carried, and the column saying when it was written. Ingest
# time (when the worker wrote it), not event time: a backlog replayed today is today's load.
TOPIC_TABLES = {
    "buzz.mentions": ("mentions", "sunk_at"),
    "buzz.threads": ("thread_posts", "sunk_at"),
    "buzz.signups": ("signups", "sunk_at"),
    "buzz.dead_letters": ("dead_letters", "received_at"),
    "buzz.alerts": ("alerts", "created_at"),
}


def events_per_minute(client: Client, since: datetime, until: datetime) -> pd.DataFrame:
    """Rows written per minute per topic (``topic``, ``minute``, ``events``), zero-filled.

    Empty minutes are kept so the chart always spans the whole period: a gap in writes is
    exactly what this chart is for.
    """
    # Table and column names come from the constant above, never from input.
    union = " UNION ALL ".join(
        f"""SELECT '{topic}' AS topic, toStartOfMinute({col}) AS minute, count() AS events
            FROM buzz.{table} FINAL
            WHERE {col} >= {{since:{TS}}} AND {col} <= {{until:{TS}}} GROUP BY minute"""
        for topic, (table, col) in TOPIC_TABLES.items()
    )
    df = client.query_df(union, parameters={"since": since, "until": until})
    minutes = pd.date_range(floor(since, 1), floor(until, 1), freq="1min", name="minute")
    grid = pd.MultiIndex.from_product([list(TOPIC_TABLES), minutes], names=["topic", "minute"])
    if df.empty:
        counts = pd.Series(0, index=grid, name="events")
    else:
        df["minute"] = utc(df["minute"])
        counts = df.groupby(["topic", "minute"])["events"].sum().reindex(grid, fill_value=0)
    return counts.astype(int).rename("events").reset_index()


def freshness(client: Client) -> pd.DataFrame:
    """One row: ``total`` mentions, ``newest_written`` (sunk_at), ``newest_posted``.

    ``total`` is ``count()`` of ``buzz.mentions FINAL``, summed from sealed minutes where they
    hold (``dashboard.queries.sealed``). The newest write is looked for among the rows written
    in the minute, then the hour, before the newest row (a minmax index skips the rest): FINAL
    keeps the latest version of a row, which can be older than a replayed copy written later,
    hence FINAL and the wider looks when nothing written then survives it. No FINAL for the
    newest post: FINAL never drops every row of an (occurred_at, event_id), so the maximum is
    the same.
    """
    total = sealed.mention_total(client, datetime.now(UTC))
    if total is None:
        return _freshness_raw(client)
    for looking_back in NEWEST_WRITE_LOOKS:
        df = client.query_df(
            """
            SELECT (SELECT max(sunk_at) FROM buzz.mentions FINAL
                    WHERE sunk_at >= (SELECT max(sunk_at) FROM buzz.mentions)
                                     - toIntervalSecond({back:UInt32})) AS newest_written,
                   (SELECT max(occurred_at) FROM buzz.mentions) AS newest_posted
            """,
            parameters={"back": looking_back},
        )
        if not total or utc(df["newest_written"]).iloc[0] > EPOCH:
            df.insert(0, "total", pd.Series([total], dtype="uint64"))
            return utc_columns(df, "newest_written", "newest_posted")
    return _freshness_raw(client)


def _freshness_raw(client: Client) -> pd.DataFrame:
    df = client.query_df(
        """
        SELECT count() AS total, max(sunk_at) AS newest_written, max(occurred_at) AS newest_posted
        FROM buzz.mentions FINAL
        """
    )
    return utc_columns(df, "newest_written", "newest_posted")


def dead_letter_counts(client: Client, since: datetime) -> pd.DataFrame:
    """One row: ``total`` dead letters ever and ``recent`` ones received since ``since``."""
    return client.query_df(
        f"""
        SELECT count() AS total, countIf(received_at >= {{since:{TS}}}) AS recent
        FROM buzz.dead_letters FINAL
        """,
        parameters={"since": since},
    )


def latest_dead_letters(client: Client, limit: int = 20) -> pd.DataFrame:
    """The newest dead letters with where they came from, why, and the start of the input."""
    df = client.query_df(
        """
        SELECT received_at,
               if(source != '', source, concat(source_topic, ' #', toString(partition), ' @',
                  toString(offset))) AS came_from,
               reason,
               substring(payload, 1, 300) AS payload
        FROM buzz.dead_letters FINAL
        ORDER BY received_at DESC, event_id
        LIMIT {limit:UInt32}
        """,
        parameters={"limit": limit},
    )
    return utc_columns(df, "received_at")


def source_status(client: Client) -> pd.DataFrame | None:
    """Each source instance's latest report, or None where ``buzz.source_status`` is missing.

    The table arrives with migration 0006; a warehouse migrated before it simply has no
    reports yet, which the page says rather than failing.
    """
    if not table_exists(client, "source_status"):
        return None
    df = client.query_df(
        """
        SELECT source, instance, status, updated_at, started_at, events_total,
               dead_letters_total, last_success_at, last_error_at, last_error
        FROM buzz.source_status FINAL
        ORDER BY source, instance
        """
    )
    return utc_columns(df, "updated_at", "started_at", "last_success_at", "last_error_at")
