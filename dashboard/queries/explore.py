"""Explore: an analyst's own read-only SQL, guarded and sent with ``readonly=2``."""

from __future__ import annotations

import pandas as pd
from clickhouse_connect.driver.client import Client

from dashboard.sql_guard import check_readonly

EXPLORE_MAX_ROWS = 10_000
EXAMPLE_SQL = """SELECT toStartOfHour(occurred_at) AS hour, platform, count() AS mentions
FROM buzz.mentions FINAL
WHERE occurred_at >= now() - INTERVAL 1 DAY
GROUP BY hour, platform
ORDER BY hour, platform"""


def run_readonly(client: Client, sql: str, max_rows: int = EXPLORE_MAX_ROWS) -> pd.DataFrame:
    """Run an analyst's query after the read-only guard, with ``readonly=2`` as well.

    The guard gives a clear message for the obvious cases; ``readonly=2`` makes the warehouse
    itself refuse writes and DDL whatever the guard missed (2 still lets the driver send its
    own settings). Results are cut at ``max_rows`` so a careless query cannot flood the page.
    """
    statement = check_readonly(sql)
    df = client.query_df(
        statement,
        settings={
            "readonly": 2,
            "max_result_rows": max_rows,
            "result_overflow_mode": "break",
            "max_execution_time": 30,
        },
    )
    return df.head(max_rows)
