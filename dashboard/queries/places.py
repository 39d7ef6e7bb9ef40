"""Places: where supporters sign up, how fast each place grows, and what drove it there.

Everything reads ``buzz.signup_places`` (migration 0020), which already applies the privacy
rule: a place (the first three characters of the postal prefix) is named only once 5 people
have signed up there; smaller ones come back merged as place ``other`` with no country or
region, and signups without a postal code as place ``''``. Nothing here can undo that.
"""

from __future__ import annotations

import pandas as pd
from clickhouse_connect.driver.client import Client

from dashboard.queries.base import TS, Window, utc_columns
from dashboard.queries.signups import TARGET_LABEL, target_joins

OTHER = "other"  # the view's name for every place under 5 people, merged
# Attribution kinds that name something staff can thank or join (channel-only and pending do
# not say who or what drove a signup).
DRIVER_KINDS = ("validator", "thread", "mention")
DRIVERS_PER_PLACE = 20  # what drove a place, most signups first; the page lists them


def _columns(df: pd.DataFrame, *names: str) -> pd.DataFrame:
    # An empty answer comes back without columns; the page filters on them all the same.
    return df if len(df.columns) else pd.DataFrame(columns=list(names))


def places(client: Client, window: Window) -> pd.DataFrame:
    """One row per place: people so far, new people in the window and in the one before,
    signups in the window (every form, RSVP and attendance) and when the first one came."""
    df = client.query_df(
        f"""
        SELECT country, place, any(region) AS region,
               countIf(first_in_place = 1) AS people,
               countIf(first_in_place = 1 AND occurred_at >= {{start:{TS}}}) AS new_people,
               countIf(first_in_place = 1 AND occurred_at >= {{previous_start:{TS}}}
                       AND occurred_at < {{start:{TS}}}) AS previous_new,
               countIf(occurred_at >= {{start:{TS}}}) AS signups,
               min(occurred_at) AS first_signup_at
        FROM buzz.signup_places
        WHERE occurred_at <= {{end:{TS}}}
        GROUP BY country, place
        ORDER BY people DESC, country, place
        """,
        parameters=window.params(),
    )
    df = _columns(df, "country", "place", "region", "people", "new_people", "previous_new",
                  "signups", "first_signup_at")  # fmt: skip
    return utc_columns(df, "first_signup_at")


def new_people_over_time(client: Client, window: Window) -> pd.DataFrame:
    """New people per bucket and named place in the window (``bucket``, ``country``,
    ``place``, ``new_people``); buckets without any are absent."""
    df = client.query_df(
        f"""
        SELECT toStartOfInterval(occurred_at, toIntervalMinute({{bucket:UInt32}})) AS bucket,
               country, place, countIf(first_in_place = 1) AS new_people
        FROM buzz.signup_places
        WHERE occurred_at >= {{start:{TS}}} AND occurred_at <= {{end:{TS}}}
          AND place NOT IN ('', {{other:String}})
        GROUP BY bucket, country, place
        """,
        parameters=window.params() | {"other": OTHER},
    )
    return utc_columns(_columns(df, "bucket", "country", "place", "new_people"), "bucket")


def drivers(
    client: Client,
    window: Window,
    per_place: int = DRIVERS_PER_PLACE,
    place: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """Per named place, the validators, threads and posts its signups in the window were
    credited to (``label`` in words, ``url`` to open), most signups first, at most
    ``per_place`` of them: they are ranked first, so only those shown are looked up (a post
    among millions costs a read of its granule: the page asks for the top one of every place,
    and for the list of the one place it shows). ``place`` = (country, place) keeps that one."""
    df = client.query_df(
        f"""
        WITH top AS (
            SELECT country, place, kind, target_id, count() AS signups
            FROM buzz.signup_places
            WHERE occurred_at >= {{start:{TS}}} AND occurred_at <= {{end:{TS}}}
              AND has({{kinds:Array(String)}}, kind) AND place NOT IN ('', {{other:String}})
              AND ({{any_place:Bool}} OR (country, place) = ({{country:String}}, {{place:String}}))
            GROUP BY country, place, kind, target_id
            ORDER BY signups DESC, country, place, kind, target_id
            LIMIT {{per_place:UInt32}} BY country, place
        )
        SELECT a.country AS country, a.place AS place, a.kind AS kind,
               a.target_id AS target_id, any(a.signups) AS signups, {TARGET_LABEL}
        FROM top AS a {target_joins("SELECT target_id FROM top")}
        GROUP BY a.country, a.place, a.kind, a.target_id
        ORDER BY signups DESC, country, place, kind, target_id
        """,
        parameters=window.params()
        | {"kinds": list(DRIVER_KINDS), "other": OTHER}
        | {"per_place": per_place, "any_place": place is None}
        | dict(zip(("country", "place"), place or ("", ""), strict=True)),
    )
    return _columns(df, "country", "place", "kind", "target_id", "signups", "label", "url")
