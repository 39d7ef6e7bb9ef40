"""Every query each dashboard page runs, with the parameters the page passes.

Read from the pages' ``load_*`` wrappers (``dashboard/queries/loaders.py``): the same query
functions, called with the page's default filter and with each other choice its filters offer
(windows, subjects, alert states), each with a window computed at call time as the page does.
A page's queries that do not depend on a filter are listed once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from clickhouse_connect.driver.client import Client

from dashboard.filters import DEFAULT_WINDOW, WINDOWS
from dashboard.queries import (
    alerts,
    conversations,
    deliveries,
    explore,
    health,
    now,
    places,
    signups,
    validators,
)
from dashboard.queries.base import Window
from dashboard.queries.loaders import RECENT_MINUTES, SUMMARY_MINUTES
from dashboard.views import conversations as conversations_page
from dashboard.views import places as places_page
from dashboard.views import signups as signups_page
from dashboard.views import validators as validators_page
from pipeline.campaign import Campaign

Query = Callable[[Client], Any]


@dataclass(frozen=True)
class PageQuery:
    page: str
    query: str  # the query function
    params: str  # the filter it ran with, in words
    run: Query


def windowed(fn: Callable[..., Any], minutes: int, bucket: int, *args: Any) -> Query:
    """``fn(client, *args, window)`` with a window ending when it is called, as pages do."""
    return lambda c: fn(c, *args, Window.now(minutes, bucket))


def _label(key: str, *more: str) -> str:
    return ", ".join([f"{key}{' (default)' if key == DEFAULT_WINDOW else ''}", *more])


def _day_ago() -> datetime:
    return datetime.now(UTC) - timedelta(days=1)


NOW_WINDOWED = (
    ("buzz_series", now.buzz_series),
    ("headline", now.headline),
    ("top_hashtags", now.top_hashtags),
    ("newest_mentions", now.newest_mentions),
    ("spikes", now.spikes),
)


def now_page(campaign: Campaign) -> list[PageQuery]:
    everyone = tuple(s.id for s in campaign.subjects)
    one = (campaign.candidate.id,)
    choices: list[tuple[str, Sequence[str], str]] = [
        (key, everyone, "all subjects") for key in WINDOWS
    ]
    choices.insert(2, (DEFAULT_WINDOW, one, one[0]))  # the subject filter, at the default window
    out = [
        PageQuery("Now", name, _label(key, who), windowed(fn, w.minutes, w.bucket_minutes, subj))
        for key, subj, who in choices
        for w in [WINDOWS[key]]
        for name, fn in NOW_WINDOWED
    ]
    out += [
        PageQuery("Now", "buzz_series", f"summary: last {RECENT_MINUTES} min",
                  windowed(now.buzz_series, RECENT_MINUTES, 1, everyone)),
        PageQuery("Now", "spikes", f"summary: last {SUMMARY_MINUTES} min",
                  windowed(now.spikes, SUMMARY_MINUTES, 1, everyone)),
        PageQuery("Now", "open_alert_counts", "24 h",
                  lambda c: now.open_alert_counts(c, everyone, _day_ago())),
        PageQuery("Now", "alert_feed", "newest 5",
                  lambda c: alerts.alert_feed(c, alerts.KINDS, None, None, limit=5)),
        PageQuery("Now", "freshness", "", health.freshness),
    ]  # fmt: skip
    return out


def alerts_page(campaign: Campaign) -> list[PageQuery]:
    one = (campaign.candidate.id,)
    choices: list[tuple[str, Sequence[str], Sequence[str] | None, bool | None]] = [
        ("open (default)", alerts.KINDS, None, False),
        ("handled", alerts.KINDS, None, True),
        ("all", alerts.KINDS, None, None),
        ("open, attacks", ("attack",), None, False),
        (f"open, {one[0]}", alerts.KINDS, one, False),
    ]
    return [
        PageQuery(
            "Alerts",
            "alert_feed",
            label,
            partial(alerts.alert_feed, kinds=k, subjects=s, handled=h),
        )
        for label, k, s, h in choices
    ]


def validators_page_queries() -> list[PageQuery]:
    out = [
        PageQuery("Validators", name, _label(key), windowed(fn, WINDOWS[key].minutes, 1))
        for key in validators_page.WINDOWS
        for name, fn in (
            ("leaderboard", validators.leaderboard),
            ("new_validators", validators.new_validators),
            ("validator_posts", validators.validator_posts),
        )
    ]

    def first_cascade(c: Client) -> Any:
        # The page draws the cascade of the post picked in its list: the first one by default.
        posts = validators.validator_posts(c, Window.now(WINDOWS["7d"].minutes, 1))
        return validators.cascade(c, str(posts["root_id"].iloc[0])) if len(posts) else None

    out.append(PageQuery("Validators", "cascade", "top post of 7d", first_cascade))
    return out


def conversations_page_queries(campaign: Campaign) -> list[PageQuery]:
    one = (campaign.candidate.id,)
    choices: list[tuple[str, Sequence[str] | None, str]] = [
        (key, None, "all subjects") for key in conversations_page.WINDOWS
    ]
    choices.insert(1, (DEFAULT_WINDOW, one, one[0]))
    out = [
        PageQuery("Conversations", name, _label(key, who), windowed(fn, WINDOWS[key].minutes, 1, s))
        for key, s, who in choices
        for name, fn in (
            ("thread_totals", conversations.thread_totals),
            ("golden_threads", conversations.golden_threads),
        )
    ]
    queue: list[tuple[Sequence[str] | None, str]] = [(None, "all subjects"), (one, one[0])]
    out += [
        PageQuery("Conversations", "unanswered_questions", who,
                  partial(conversations.unanswered_questions, subjects=s))
        for s, who in queue
    ]  # fmt: skip
    return out


def signups_page_queries() -> list[PageQuery]:
    out = [
        PageQuery("Signups", name, _label(key), windowed(fn, w.minutes, bucket))
        for key in signups_page.WINDOWS
        for w in [WINDOWS[key]]
        for bucket in [signups_page.bucket_minutes(w)]
        for name, fn in (
            ("signup_totals", signups.signup_totals),
            ("signups_over_time", signups.signups_over_time),
            ("by_referral", signups.by_referral),
            ("attribution", signups.attribution),
        )
    ]  # fmt: skip
    out.append(
        PageQuery("Signups", "buzz_signup_lag", "all", lambda c: signups.buzz_signup_lag(c, "all"))
    )
    return out


def _place_drivers(minutes: int, bucket: int) -> Query:
    """The list under the place the page picks first: the one that gained most people."""

    def run(c: Client) -> Any:
        window = Window.now(minutes, bucket)
        named = places.places(c, window)
        named = named[~named["place"].isin(["", places.OTHER])]
        if named.empty:
            return None
        top = named.sort_values(["new_people", "people"], ascending=False).iloc[0]
        return places.drivers(c, window, place=(str(top["country"]), str(top["place"])))

    return run


def places_page_queries() -> list[PageQuery]:
    out = []
    for key in places_page.WINDOWS:
        w = WINDOWS[key]
        label = f"{key}{' (default)' if key == places_page.DEFAULT else ''}"
        out += [
            PageQuery("Places", "places", label,
                      windowed(places.places, w.minutes, w.bucket_minutes)),
            PageQuery("Places", "new_people_over_time", label,
                      windowed(places.new_people_over_time, w.minutes, w.bucket_minutes)),
            PageQuery("Places", "drivers", f"{label}, the top one of each place",
                      windowed(partial(places.drivers, per_place=1), w.minutes, w.bucket_minutes)),
            PageQuery("Places", "drivers", f"{label}, the place picked first",
                      _place_drivers(w.minutes, w.bucket_minutes)),
        ]  # fmt: skip
    return out


def explore_page() -> list[PageQuery]:
    # Until the analyst runs something, the page shows the example query's answer.
    return [
        PageQuery("Explore", "run_readonly", "the example query",
                  lambda c: explore.run_readonly(c, explore.EXAMPLE_SQL))
    ]  # fmt: skip


def health_page() -> list[PageQuery]:
    def events(c: Client) -> Any:
        until = datetime.now(UTC)
        return health.events_per_minute(c, until - timedelta(minutes=60), until)

    def dead_counts(c: Client) -> Any:
        return health.dead_letter_counts(c, datetime.now(UTC) - timedelta(days=1))

    return [
        PageQuery("Health", "events_per_minute", "60 min", events),
        PageQuery("Health", "freshness", "", health.freshness),
        PageQuery("Health", "dead_letter_counts", "24 h", dead_counts),
        PageQuery("Health", "latest_dead_letters", "newest 20", health.latest_dead_letters),
        PageQuery("Health", "source_status", "", health.source_status),
        PageQuery("Health", "route_summary", "24 h",
                  lambda c: deliveries.route_summary(c, _day_ago())),
        PageQuery("Health", "delivery_problems", "", deliveries.delivery_problems),
    ]  # fmt: skip


def page_queries(campaign: Campaign) -> list[PageQuery]:
    """Every page's queries, in the navigation's order."""
    return [
        *now_page(campaign),
        *alerts_page(campaign),
        *validators_page_queries(),
        *conversations_page_queries(campaign),
        *signups_page_queries(),
        *places_page_queries(),
        *explore_page(),
        *health_page(),
    ]
