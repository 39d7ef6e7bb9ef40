"""Now: how much each tracked subject is being talked about, minute by minute.

The window picker is outside the auto-refreshing fragment (changing it reruns the page and is
kept in the URL, so a bookmarked or shared link opens on the same window); everything inside
the fragment redraws every ``dashboard_refresh_seconds`` without the page flickering.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import charts, queries, ui
from dashboard.queries import SubjectTerms, WarehouseUnavailable


@dataclass(frozen=True)
class WindowChoice:
    label: str  # read in sentences: "last 1 h", "previous 1 h"
    minutes: int
    bucket_minutes: int  # a 24 h chart of 1-minute points is unreadable, so longer windows bin


WINDOWS = {
    "15m": WindowChoice("15 min", 15, 1),
    "1h": WindowChoice("1 h", 60, 1),
    "6h": WindowChoice("6 h", 360, 5),
    "24h": WindowChoice("24 h", 1440, 15),
}
DEFAULT_WINDOW = "1h"
QUERY_PARAM = "window"


def pick_window(where: st.delta_generator.DeltaGenerator) -> str:
    """The window from the URL (``?window=6h``), offered as a picker that writes back to it."""
    current = st.query_params.get(QUERY_PARAM, DEFAULT_WINDOW)
    if current not in WINDOWS:
        current = DEFAULT_WINDOW
    choice = where.segmented_control(
        "Window",
        options=list(WINDOWS),
        format_func=lambda key: WINDOWS[key].label,
        default=current,
        required=True,
        key="now_window",
        label_visibility="collapsed",
    )
    if st.query_params.get(QUERY_PARAM) != choice:
        st.query_params[QUERY_PARAM] = choice
    return choice


def change_text(now: int, before: int) -> str:
    """'+12 (+25%)'; st.metric colours and points it by the leading sign."""
    diff = now - before
    if before == 0:
        return f"{diff:+,}"
    return f"{diff:+,} ({diff / before:+.0%})"


def subject_table(volume: pd.DataFrame, subjects: list[str]) -> pd.DataFrame:
    per_subject = volume.groupby("subject", sort=False)["mentions"]
    return pd.DataFrame(
        {
            "Subject": subjects,
            "Mentions": [int(per_subject.get_group(s).sum()) for s in subjects],
            "Trend": [per_subject.get_group(s).tolist() for s in subjects],
        }
    )


def newest_table(newest: pd.DataFrame) -> None:
    tz = ui.viewer_timezone()
    shown = newest.assign(occurred_at=ui.local(newest["occurred_at"], tz))
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_order=["occurred_at", "author", "text", "platform", "audience", "engagement", "url"],
        column_config={
            "occurred_at": st.column_config.DatetimeColumn("Posted", format="HH:mm:ss"),
            "author": st.column_config.TextColumn("Author"),
            "text": st.column_config.TextColumn("Text", width="large"),
            "platform": st.column_config.TextColumn("Platform", width="small"),
            "audience": st.column_config.NumberColumn("Audience", format="compact"),
            "engagement": st.column_config.NumberColumn(
                "Engagement", help="Likes + reshares + replies + quotes", format="compact"
            ),
            "url": st.column_config.LinkColumn("Link", display_text="open", width="small"),
        },
    )


def live(url: str, subjects: tuple[SubjectTerms, ...], colours: list[str], key: str) -> None:
    window = WINDOWS[key]
    try:
        data = queries.load_now(url, subjects, window.minutes, window.bucket_minutes)
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    fresh = data["freshness"].iloc[0]
    if int(fresh["total"]) == 0:
        st.info(
            "No mentions yet — start a source, e.g. `buzz up --demo` for the simulated "
            "campaign, or `buzz source run NAME`. This page fills in on its own.",
            icon=":material/hourglass_empty:",
        )
        return
    top = data["headline"].iloc[0]
    mentions, previous, authors = int(top["mentions"]), int(top["previous"]), int(top["authors"])
    hashtags = data["hashtags"]
    names = [s.name for s in subjects]

    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        f"Mentions, last {window.label}",
        f"{mentions:,}",
        delta=change_text(mentions, previous),
        delta_description=f"vs previous {window.label}",
        **ui.CARD,
    )
    m2.metric(f"Unique authors, last {window.label}", f"{authors:,}", **ui.CARD)
    m3.metric(
        "Top hashtag",
        f"#{hashtags['hashtag'].iloc[0]}" if not hashtags.empty else "none",
        delta=f"{int(hashtags['mentions'].iloc[0]):,} uses" if not hashtags.empty else None,
        delta_color="off",
        delta_arrow="off",
        help="Most used hashtags in the window: "
        + (", ".join(f"#{t} ({n})" for t, n in hashtags.itertuples(index=False)) or "none"),
        **ui.CARD,
    )
    m4.metric("Newest mention", ui.ago(fresh["newest_posted"]), **ui.CARD)

    if mentions == 0:
        st.info(
            f"No mentions in the last {window.label}; the newest one was posted "
            f"{ui.ago(fresh['newest_posted'])}. Pick a longer window above.",
            icon=":material/schedule:",
        )
        return

    chart_col, table_col = st.columns([3, 1])
    with chart_col:
        st.altair_chart(
            charts.volume_chart(data["volume"], window.bucket_minutes, names, colours),
            width="stretch",
            key="now_chart",
        )
    with table_col:
        st.dataframe(
            subject_table(data["volume"], names),
            hide_index=True,
            width="stretch",
            column_config={
                "Mentions": st.column_config.NumberColumn(help=f"In the last {window.label}"),
                "Trend": st.column_config.LineChartColumn(y_min=0),
            },
        )
        if len(hashtags) > 1:
            st.caption("Top hashtags: " + " · ".join(f"#{t} ({n})" for t, n in hashtags.values))

    st.subheader("Newest mentions", divider="gray")
    newest_table(data["newest"])


def render() -> None:
    conf = ui.settings()
    camp = ui.campaign(conf)
    title_col, window_col = st.columns([3, 2], vertical_alignment="bottom")
    with title_col:
        st.title("Buzz right now")
    key = pick_window(window_col.container(horizontal_alignment="right"))
    tz = ui.timezone_label(ui.viewer_timezone())
    st.caption(
        f"{camp.name}: mentions of each tracked subject. Updates every "
        f"{conf.dashboard_refresh_seconds:g} s; times in {tz}."
    )
    st.fragment(run_every=conf.dashboard_refresh_seconds)(live)(
        conf.warehouse_url,
        ui.subject_terms(camp),
        charts.subject_colours([s.kind for s in camp.subjects]),
        key,
    )


if __name__ == "__main__":
    render()
