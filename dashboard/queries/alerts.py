"""Alerts: the feed, and the dashboard's one write, recording what staff did with an alert.

Alerts themselves are never changed: ``buzz.alert_actions`` is an append-only log and
``buzz.alerts_current`` takes ``handled`` from the latest action, so a mistaken click is undone
by another row ("reopened"), and who did what stays on record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

import pandas as pd
from clickhouse_connect.driver.client import Client

from dashboard.queries.base import utc_columns
from dashboard.queries.now import objects, parse_json, urls

KINDS = (
    "attack",
    "coordinated",
    "spike",
    "cascade",
    "validator_first",
    "golden_thread",
    "unanswered_question",
    "signup_surge",
)
Action = Literal["handled", "reopened"]


class UnknownAlert(LookupError):
    """The alert to act on is not in the warehouse (a stale page, or a mistyped id)."""


def alert_feed(
    client: Client,
    kinds: Sequence[str],
    subjects: Sequence[str] | None,
    handled: bool | None,
    limit: int = 100,
    alert_id: str | None = None,
) -> pd.DataFrame:
    """Matching alerts, latest activity first (an alert that updates is one row, its latest
    version), with the latest action's actor and time.

    ``subjects=None`` means every subject and channel; ``handled=None`` both states;
    ``alert_id`` keeps that one alert only (the link in a delivered alert message).
    """
    df = client.query_df(
        """
        SELECT a.alert_id AS alert_id, a.kind AS kind, a.subject AS subject,
               a.severity AS severity, a.title AS title, a.at AS at,
               a.explanation AS explanation, a.example_urls AS example_urls,
               a.created_at AS created_at, a.handled AS handled,
               a.revision AS revision, a.last_at AS last_at,
               x.actor AS actor, x.acted_at AS acted_at
        FROM buzz.alerts_current AS a
        LEFT JOIN (
            SELECT alert_id, argMax(actor, at) AS actor, max(at) AS acted_at
            FROM buzz.alert_actions GROUP BY alert_id
        ) AS x ON x.alert_id = a.alert_id
        WHERE a.kind IN {kinds:Array(String)}
          AND ({all_subjects:Bool} OR a.subject IN {subjects:Array(String)})
          AND ({any_state:Bool} OR a.handled = {handled:UInt8})
          AND ({any_id:Bool} OR a.alert_id = {alert_id:String})
        ORDER BY a.last_at DESC, a.created_at DESC, a.alert_id
        LIMIT {limit:UInt32}
        """,
        parameters={
            "kinds": list(kinds),
            "all_subjects": subjects is None,
            "subjects": list(subjects or []),
            "any_state": handled is None,
            "handled": int(bool(handled)),
            "limit": limit,
            "any_id": alert_id is None,
            "alert_id": alert_id or "",
        },
        settings={"join_use_nulls": 1},
    )
    df = utc_columns(df, "at", "last_at", "created_at", "acted_at")
    if not df.empty:
        df["explanation"] = objects(df["explanation"], parse_json)
        df["example_urls"] = objects(df["example_urls"], urls)
    return df


def record_action(
    client: Client, alert_id: str, action: Action, actor: str, note: str = ""
) -> datetime:
    """Append one row to ``buzz.alert_actions``; return its time. Raises UnknownAlert."""
    found = client.command(
        "SELECT count() FROM buzz.alerts WHERE alert_id = {alert_id:String}",
        {"alert_id": alert_id},
    )
    if not int(str(found)):
        raise UnknownAlert(alert_id)
    at = datetime.now(UTC)
    client.insert(
        "buzz.alert_actions",
        [[alert_id, action, actor, note, at]],
        column_names=["alert_id", "action", "actor", "note", "at"],
    )
    return at
