"""The cached, error-translating wrappers pages call: one ``load_*`` per page (or action).

Each takes the warehouse URL and plain hashable arguments (so Streamlit can cache on them),
reads everything the page shows for one and the same moment, and raises
:class:`WarehouseUnavailable` with a plain-language message when the warehouse cannot answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from dashboard.queries import (
    alerts,
    conversations,
    deliveries,
    health,
    now,
    places,
    signups,
    validators,
)
from dashboard.queries.base import (
    CACHE_TTL_SECONDS,
    QueryFailed,
    Window,
    connect,
    first_line,
    translate_errors,
)
from dashboard.queries.consumer_lag import LagReport, read_lag
from dashboard.queries.explore import run_readonly

Frames = dict[str, Any]
# What the summary sentence looks at, whatever window the page shows: "now" is the last
# quarter hour, and an attack stays in the sentence for an hour unless handled.
RECENT_MINUTES = 15
SUMMARY_MINUTES = 60


def _window(minutes: int, bucket_minutes: int) -> Window:
    return Window.now(minutes, bucket_minutes)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def load_now(
    url: str,
    subjects: tuple[str, ...],
    all_subjects: tuple[str, ...],
    minutes: int,
    bucket_minutes: int,
) -> Frames:
    """Everything the Now page shows, read for one and the same window."""
    client = connect(url)
    window = _window(minutes, bucket_minutes)
    with translate_errors(url):
        return {
            "series": now.buzz_series(client, subjects, window),
            "headline": now.headline(client, subjects, window),
            "hashtags": now.top_hashtags(client, subjects, window),
            "newest": now.newest_mentions(client, subjects, window),
            "spikes": now.spikes(client, subjects, window),
            # The summary speaks about the whole campaign, whatever the subject filter.
            "recent": now.buzz_series(client, all_subjects, _window(RECENT_MINUTES, 1)),
            "summary_spikes": now.spikes(client, all_subjects, _window(SUMMARY_MINUTES, 1)),
            "open_alerts": now.open_alert_counts(
                client, all_subjects, datetime.now(UTC) - timedelta(days=1)
            ),
            "alerts": alerts.alert_feed(client, alerts.KINDS, None, None, limit=5),
            "freshness": health.freshness(client),
        }


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def load_alerts(
    url: str,
    kinds: tuple[str, ...],
    subjects: tuple[str, ...] | None,
    handled: bool | None,
    alert_id: str | None = None,
) -> pd.DataFrame:
    client = connect(url)
    with translate_errors(url):
        return alerts.alert_feed(client, kinds, subjects, handled, alert_id=alert_id)


def record_alert_action(url: str, alert_id: str, action: alerts.Action, actor: str) -> datetime:
    """The dashboard's only write; clears the cached reads so the page shows it at once."""
    client = connect(url)
    with translate_errors(url):
        at = alerts.record_action(client, alert_id, action, actor)
    load_alerts.clear()
    load_now.clear()
    return at


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def load_validators(url: str, minutes: int) -> Frames:
    client = connect(url)
    window = _window(minutes, 1)
    with translate_errors(url):
        return {
            "leaderboard": validators.leaderboard(client, window),
            "new": validators.new_validators(client, window),
            "posts": validators.validator_posts(client, window),
        }


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=50)
def load_cascade(url: str, root_id: str) -> validators.Cascade:
    client = connect(url)
    with translate_errors(url):
        return validators.cascade(client, root_id)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def load_conversations(url: str, subjects: tuple[str, ...] | None, minutes: int) -> Frames:
    client = connect(url)
    window = _window(minutes, 1)
    with translate_errors(url):
        return {
            "totals": conversations.thread_totals(client, subjects, window),
            "golden": conversations.golden_threads(client, subjects, window),
            "questions": conversations.unanswered_questions(client, subjects),
        }


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def load_signups(url: str, minutes: int, bucket_minutes: int, lag_subject: str) -> Frames:
    client = connect(url)
    window = _window(minutes, bucket_minutes)
    with translate_errors(url):
        return {
            "totals": signups.signup_totals(client, window),
            "over_time": signups.signups_over_time(client, window),
            "referrals": signups.by_referral(client, window),
            "attribution": signups.attribution(client, window),
            "lag": signups.buzz_signup_lag(client, lag_subject),
        }


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def load_places(url: str, minutes: int, bucket_minutes: int) -> Frames:
    client = connect(url)
    window = _window(minutes, bucket_minutes)
    with translate_errors(url):
        return {
            "window": window,
            "places": places.places(client, window),
            "over_time": places.new_people_over_time(client, window),
            "top_drivers": places.drivers(client, window, per_place=1),
        }


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=50)
def load_place_drivers(
    url: str, minutes: int, bucket_minutes: int, country: str, place: str
) -> pd.DataFrame:
    """What drove signups in one place (the list under the place picked on Places)."""
    client = connect(url)
    with translate_errors(url):
        return places.drivers(client, _window(minutes, bucket_minutes), place=(country, place))


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def load_health(url: str, minutes: int = 60) -> Frames:
    client = connect(url)
    until = datetime.now(UTC)
    with translate_errors(url):
        return {
            "events": health.events_per_minute(client, until - timedelta(minutes=minutes), until),
            "freshness": health.freshness(client),
            "dead_counts": health.dead_letter_counts(client, until - timedelta(days=1)),
            "dead_latest": health.latest_dead_letters(client),
            "sources": health.source_status(client),
        }


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def load_deliveries(url: str) -> Frames:
    """Alert delivery per route (last 24 h) and the newest problems, for the Health page."""
    client = connect(url)
    with translate_errors(url):
        return {
            "routes": deliveries.route_summary(client, datetime.now(UTC) - timedelta(days=1)),
            "problems": deliveries.delivery_problems(client),
        }


# Longer than the page's refresh: an unreachable broker costs a couple of seconds to find out.
@st.cache_data(ttl=10, show_spinner=False)
def load_consumer_lag(bootstrap: str) -> LagReport:
    return read_lag(bootstrap)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=50)
def load_explore(url: str, sql: str) -> pd.DataFrame:
    """An analyst's query; refusals of the query itself become :class:`QueryFailed`."""
    client = connect(url)
    try:
        return run_readonly(client, sql)
    except OperationalError:
        with translate_errors(url):
            raise
    except ClickHouseError as exc:
        raise QueryFailed(first_line(exc)) from exc


ALL_LOADERS = (
    load_now,
    load_alerts,
    load_validators,
    load_cascade,
    load_conversations,
    load_signups,
    load_places,
    load_place_drivers,
    load_health,
    load_deliveries,
    load_consumer_lag,
    load_explore,
)


def clear_caches() -> None:
    for loader in ALL_LOADERS:
        loader.clear()
