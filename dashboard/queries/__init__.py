"""Every query the dashboard runs, and nothing else: no SQL lives in page code.

One module per page (``now``, ``alerts``, ``validators``, ``conversations``, ``signups``,
``places``, ``health`` with ``deliveries``, ``explore``) holds plain query functions over a
clickhouse-connect client;
``loaders`` wraps them for the pages (cached, errors in plain language); ``consumer_lag`` asks
the broker how far the worker is behind. The one write, recording what staff did with an
alert, is ``record_alert_action``.
"""

from __future__ import annotations

from dashboard.queries.base import (
    QueryFailed,
    WarehouseUnavailable,
    Window,
    display_url,
)
from dashboard.queries.explore import EXAMPLE_SQL, EXPLORE_MAX_ROWS, run_readonly
from dashboard.queries.loaders import (
    clear_caches,
    load_alerts,
    load_cascade,
    load_consumer_lag,
    load_conversations,
    load_deliveries,
    load_explore,
    load_health,
    load_now,
    load_place_drivers,
    load_places,
    load_signups,
    load_validators,
    record_alert_action,
)
from dashboard.sql_guard import QueryRejected, check_readonly

__all__ = [
    "EXAMPLE_SQL",
    "EXPLORE_MAX_ROWS",
    "QueryFailed",
    "QueryRejected",
    "WarehouseUnavailable",
    "Window",
    "check_readonly",
    "clear_caches",
    "display_url",
    "load_alerts",
    "load_cascade",
    "load_consumer_lag",
    "load_conversations",
    "load_deliveries",
    "load_explore",
    "load_health",
    "load_now",
    "load_place_drivers",
    "load_places",
    "load_signups",
    "load_validators",
    "record_alert_action",
    "run_readonly",
]
