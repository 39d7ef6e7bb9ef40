"""Places: where the movement grows, where to start a local group, where one should split.

A place is the first three characters of a signup's postal code (a US ZIP3); places with
fewer than 5 people are never shown on their own (the warehouse merges them into "Other
places" before the page sees them).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from dashboard import charts, filters, local_groups, place_map, postal, ui
from dashboard import queries as q
from dashboard.filters import WindowChoice
from dashboard.local_groups import MIN_PEOPLE, SPLIT_AT, START_AT
from dashboard.queries import WarehouseUnavailable

WINDOWS = ("24h", "7d", "30d", "90d")
DEFAULT = "7d"
SLOW_REFRESH_SECONDS = 30  # places change over days: no need to redraw the map every 5 s


def metrics(named: pd.DataFrame, places: pd.DataFrame, window: WindowChoice) -> None:
    new_now = int(places["new_people"].sum())
    new_before = int(places["previous_new"].sum())
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        f"Places with {MIN_PEOPLE}+ people",
        f"{len(named):,}",
        delta=f"{int(named['is_new'].sum()):+,} new" if named["is_new"].any() else None,
        delta_description=f"first signup in the last {window.label}",
        **ui.CARD,
    )
    m2.metric(
        f"New people, last {window.label}",
        f"{new_now:,}",
        delta=ui.change_text(new_now, new_before),
        delta_description=f"vs previous {window.label}",
        help="People signing up in a place for the first time, everywhere: other places and "
        "signups without a postal code too",
        **ui.CARD,
    )
    m3.metric(
        "Ready for a local group",
        f"{int((named['stage'] == 'start').sum()):,}",
        help=f"Places with {START_AT} to {SPLIT_AT - 1} people",
        **ui.CARD,
    )
    m4.metric(
        "Big enough to split",
        f"{int((named['stage'] == 'split').sum()):,}",
        help=f"Places with {SPLIT_AT} people or more",
        **ui.CARD,
    )


def map_section(named: pd.DataFrame) -> None:
    on_map = named[named["on_map"]]
    off_map = len(named) - len(on_map)
    if on_map.empty:
        st.info(
            "None of these places can be drawn on the map, which knows US ZIP codes only: "
            "they are all in the table below.",
            icon=":material/map:",
        )
        return
    st.altair_chart(
        place_map.places_map(on_map, postal.us_outline()), width="stretch", key="places_map"
    )
    where = (
        f" {off_map} {'place is' if off_map == 1 else 'places are'} outside the map's US ZIP "
        "codes: see the table below."
        if off_map
        else ""
    )
    st.caption(
        "Circles are sized by people and placed at the middle of the ZIP codes that start with "
        "the place's three digits, never more precisely; the name is the city with the most of "
        f"them. Grey dots are other ZIP areas.{where} ZIP data: zipcodes package (GeoNames, "
        "CC BY 4.0)."
    )


def places_table(
    named: pd.DataFrame, places: pd.DataFrame, drivers: pd.DataFrame, window: WindowChoice
) -> None:
    table = local_groups.place_table(named, places, drivers)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_order=[
            "label",
            "stage_label",
            "people",
            "new_people",
            "previous_new",
            "signups",
            "driver",
            "on_map",
        ],
        column_config={
            "label": st.column_config.TextColumn("Place", width="medium"),
            "stage_label": st.column_config.TextColumn("Stage"),
            "people": st.column_config.NumberColumn("People so far"),
            "new_people": st.column_config.NumberColumn(
                f"New, last {window.label}", help="People signing up there for the first time"
            ),
            "previous_new": st.column_config.NumberColumn(f"New, {window.label} before"),
            "signups": st.column_config.NumberColumn(
                f"Signups, last {window.label}", help="Every form, RSVP and attendance, repeats too"
            ),
            "driver": st.column_config.TextColumn(
                "Driven most by", help="The validator, thread or post most signups came through"
            ),
            "on_map": st.column_config.CheckboxColumn("On the map", width="small"),
        },
    )


def growth_section(
    named: pd.DataFrame, over_time: pd.DataFrame, buckets: pd.DatetimeIndex, window: WindowChoice
) -> None:
    st.subheader("People over time", divider="gray")
    series = local_groups.growth_series(named, over_time, buckets)
    st.altair_chart(
        charts.people_chart(
            series,
            window.bucket_minutes,
            {"ready for a group": START_AT, "big enough to split": SPLIT_AT},
        ),
        width="stretch",
        key="places_people",
    )
    st.caption(
        f"The biggest places, up to six. Dashed lines: {START_AT} people, enough to start a "
        f"local group; {SPLIT_AT}, big enough to split."
    )


def drivers_section(url: str, named: pd.DataFrame, window: WindowChoice) -> None:
    st.subheader("What drove signups there", divider="gray")
    # The place that grew most first: that is where a thank-you or a follow-up counts most.
    ordered = named.sort_values(["new_people", "people", "label"], ascending=[False, False, True])
    labels = {f"{r.country}:{r.place}": str(r.label) for r in ordered.itertuples()}
    key = st.selectbox(
        "Place",
        options=list(labels),
        format_func=labels.__getitem__,
        key="places_place",
        label_visibility="collapsed",
    )
    country, place = str(key).split(":", 1)
    try:
        mine = q.load_place_drivers(url, window.minutes, window.bucket_minutes, country, place)
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    st.markdown(local_groups.drivers_sentence(labels[str(key)], mine, window.label))
    if not mine.empty:
        ui.drivers_table(mine)


def live(url: str, window: WindowChoice) -> None:
    try:
        data = q.load_places(url, window.minutes, window.bucket_minutes)
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    places = data["places"]
    if places.empty:
        st.info(
            "No signups yet — start a source, e.g. `buzz up --demo` for the simulated campaign, "
            "or the webhook source for your forms. This page fills in on its own.",
            icon=":material/hourglass_empty:",
        )
        return
    start: datetime = data["window"].start
    named = local_groups.named_places(places, start)
    other_people, no_postal_code = local_groups.merged_people(places)
    st.info("\n\n".join(local_groups.summary_lines(named, window.label)), icon=":material/groups:")
    st.caption(local_groups.privacy_note(other_people, no_postal_code))
    metrics(named, places, window)
    if named.empty:
        return
    map_col, growth_col = st.columns(2, gap="large")
    with map_col:
        st.subheader("Where", divider="gray")
        map_section(named)
    with growth_col:
        growth_section(named, data["over_time"], data["window"].buckets(), window)
    st.subheader("Every place", divider="gray")
    places_table(named, places, data["top_drivers"], window)
    drivers_section(url, named, window)


def render() -> None:
    title_col, window_col = st.columns([3, 2], vertical_alignment="bottom")
    title_col.title("Places")
    window = filters.pick_window(
        window_col.container(horizontal_alignment="right"), "places", WINDOWS, fallback=DEFAULT
    )
    st.caption(
        "Where supporters sign up, by the first three characters of their postal code: where "
        "to start a local group, and where one has grown big enough to split."
    )
    url = ui.settings().warehouse_url
    st.fragment(run_every=SLOW_REFRESH_SECONDS)(live)(url, window)


if __name__ == "__main__":
    render()
