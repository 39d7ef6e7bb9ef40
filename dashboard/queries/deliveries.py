"""Alert delivery, for the Health page: how each route is doing, and what failed and why.

Read from ``buzz.alert_delivery_status`` (each alert and route once, with its latest state). A
warehouse migrated before the table existed (0021) has no deliveries yet: the functions return
None and the page says so.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from clickhouse_connect.driver.client import Client

from dashboard.queries.base import TS, table_exists, utc_columns


def route_summary(client: Client, since: datetime) -> pd.DataFrame | None:
    """Per route: its channel, latest delivery, counts since ``since``, what waits, last error."""
    if not table_exists(client, "alert_delivery_status"):
        return None
    df = client.query_df(
        f"""
        SELECT route, any(channel) AS channel,
               argMax(status, updated_at) AS last_status, max(updated_at) AS last_at,
               countIf(status = 'sent' AND updated_at >= {{since:{TS}}}) AS sent,
               countIf(status = 'failed' AND next_attempt_at IS NULL
                       AND updated_at >= {{since:{TS}}}) AS failed,
               countIf(status = 'unknown' AND updated_at >= {{since:{TS}}}) AS unknown,
               countIf(status IN ('queued', 'sending')
                       OR (status = 'failed' AND next_attempt_at IS NOT NULL)) AS waiting,
               argMaxIf(error, updated_at, error != '') AS last_error,
               maxIf(updated_at, error != '') AS last_error_at
        FROM buzz.alert_delivery_status
        GROUP BY route
        ORDER BY route
        """,
        parameters={"since": since},
    )
    df = utc_columns(df, "last_at", "last_error_at")
    if not df.empty:  # maxIf over no error gives 1970: no error at all
        df.loc[df["last_error"] == "", "last_error_at"] = pd.NaT
    return df


def delivery_problems(client: Client, limit: int = 20) -> pd.DataFrame | None:
    """The newest deliveries that failed, are being retried, or ended unknown, with the error."""
    if not table_exists(client, "alert_delivery_status"):
        return None
    df = client.query_df(
        """
        SELECT d.updated_at AS updated_at, d.route AS route, d.status AS status,
               d.attempts AS attempts, d.next_attempt_at AS next_attempt_at, d.error AS error,
               ifNull(a.title, d.alert_id) AS alert
        FROM buzz.alert_delivery_status AS d
        LEFT JOIN (SELECT alert_id, any(title) AS title FROM buzz.alerts GROUP BY alert_id) AS a
            ON a.alert_id = d.alert_id
        WHERE d.error != ''
        ORDER BY d.updated_at DESC, d.route, d.alert_id
        LIMIT {limit:UInt32}
        """,
        parameters={"limit": limit},
        settings={"join_use_nulls": 1},
    )
    return utc_columns(df, "updated_at", "next_attempt_at")
