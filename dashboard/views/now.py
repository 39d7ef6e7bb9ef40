"""Now: what is happening to the campaign, in one sentence, then the buzz behind it.

The filters are outside the auto-refreshing fragment (changing them reruns the page and is
kept in the URL); everything inside the fragment redraws every ``dashboard_refresh_seconds``
without the page flickering.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboard import alert_text, charts, filters, ui
from dashboard import queries as q
from dashboard.filters import WindowChoice
from dashboard.queries import WarehouseUnavailable
from dashboard.summary import SubjectInfo, Summary, multiple, summarise
from pipeline.campaign import Campaign

BANNERS = {
    "attack": (st.error, ":material/crisis_alert:"),
    "spike": (st.warning, ":material/trending_up:"),
    "calming": (st.warning, ":material/history:"),
    "warming": (st.info, ":material/hourglass_top:"),
    "quiet": (st.success, ":material/check_circle:"),
    "silent": (st.success, ":material/check_circle:"),
}


def banner(summary: Summary) -> None:
    show, icon = BANNERS[summary.level]
    show(f"**{summary.sentence}**  \n{summary.advice}", icon=icon)


def per_subject(series: pd.DataFrame, info: dict[str, SubjectInfo]) -> pd.DataFrame:
    """Per subject over the window: mentions, negative share, tone, share of voice, trend."""
    grouped = series.groupby("subject", sort=False)
    table = pd.DataFrame(
        {
            "mentions": grouped["mentions"].sum(),
            "negative": grouped["negative"].sum(),
            "sentiment_sum": grouped["sentiment_sum"].sum(),
            "trend": grouped["mentions"].agg(list),
        }
    ).reindex(list(info))
    table["name"] = [info[s].name for s in table.index]
    table["kind"] = [info[s].kind for s in table.index]
    mentions = table["mentions"].clip(lower=1)
    table["negative_share"] = table["negative"] / mentions
    table["sentiment"] = table["sentiment_sum"] / mentions
    contenders = table["kind"].isin(["candidate", "rival"])
    voice = table.loc[contenders, "mentions"].sum()
    table["share"] = (table["mentions"] / voice).where(contenders & (voice > 0))
    return table


def metrics(data: dict[str, pd.DataFrame], table: pd.DataFrame, window: WindowChoice) -> None:
    top = data["headline"].iloc[0]
    mentions, previous = int(top["mentions"]), int(top["previous"])
    candidate = table[table["kind"] == "candidate"].head(1)
    opened = data["open_alerts"].iloc[0]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        f"Mentions, last {window.label}",
        f"{mentions:,}",
        delta=ui.change_text(mentions, previous),
        delta_description=f"vs previous {window.label}",
        help=f"Distinct posts; {int(top['authors']):,} different authors",
        **ui.CARD,
    )
    if not candidate.empty:
        row = candidate.iloc[0]
        share = "–" if pd.isna(row["share"]) else f"{row['share']:.0%}"
        m2.metric(
            f"Share of voice, {row['name']}",
            share,
            help="Mentions of the candidate among mentions of candidate and rivals",
            **ui.CARD,
        )
        negative = "–" if row["mentions"] == 0 else f"{row['negative_share']:.0%}"
        m3.metric(
            f"Negative, {row['name']}",
            negative,
            help="Share of the candidate's mentions that read negative (docs/scoring.md)",
            **ui.CARD,
        )
    m4.metric(
        "Open alerts, 24 h",
        f"{int(opened['open']):,}",
        delta=f"{int(opened['critical'])} critical" if int(opened["critical"]) else None,
        delta_color="inverse",
        delta_arrow="off",
        help="Alerts nobody has marked handled yet (Alerts page)",
        **ui.CARD,
    )


def buzz_panel(
    series: pd.DataFrame,
    table: pd.DataFrame,
    shown: tuple[str, ...],
    colours: dict[str, str],
    window: WindowChoice,
) -> None:
    names = [table.loc[s, "name"] for s in shown]
    chart_col, side_col = st.columns([3, 1])
    with chart_col:
        data = series[series["subject"].isin(shown)].assign(
            name=lambda d: d["subject"].map(table["name"])
        )
        st.altair_chart(
            charts.buzz_chart(data, window.bucket_minutes, names, [colours[s] for s in shown]),
            width="stretch",
            key="now_chart",
        )
        if int(series["provisional"].max()):
            st.caption("Hollow dots: minutes still being counted.")
    with side_col:
        shares = table.dropna(subset=["share"])
        if not shares.empty:
            st.markdown("**Share of voice**")
            st.altair_chart(
                charts.share_bar(shares, list(shares["name"]), [colours[s] for s in shares.index]),
                width="stretch",
                key="now_share",
            )
        st.dataframe(
            table.loc[list(shown), ["name", "mentions", "negative_share"]],
            hide_index=True,
            width="stretch",
            column_config={
                "name": st.column_config.TextColumn("Subject"),
                "mentions": st.column_config.NumberColumn(
                    "Mentions", help=f"In the last {window.label}"
                ),
                "negative_share": st.column_config.ProgressColumn(
                    "Negative",
                    format="percent",
                    min_value=0,
                    max_value=1,
                    help="Share of mentions with a negative tone",
                ),
            },
        )


def spike_list(spikes: pd.DataFrame, info: dict[str, SubjectInfo]) -> None:
    """Each spike of the window, its reasons one click away."""
    if spikes.empty:
        return
    tz = ui.viewer_timezone()
    st.markdown(f"**Spikes in this window** ({len(spikes)})")
    for i, row in spikes.head(6).iterrows():
        name = info[row["subject"]].name if row["subject"] in info else row["subject"]
        what = "Attack on" if int(row["attack"]) else "Spike:"
        negative = float(row["negative"]) / max(int(row["mentions"]), 1)
        label = (
            f"{ui.clock(row['first_minute'], tz)} · {what} {name} · "
            f"{multiple(float(row['mentions']), float(row['expected']))}, {negative:.0%} negative"
        )
        icon = ":material/crisis_alert:" if int(row["attack"]) else ":material/trending_up:"
        with st.expander(label, icon=icon, expanded=bool(i == 0 and int(row["attack"]))):
            lines = alert_text.spike_lines(row["explanation"]) if row["explanation"] else []
            if not lines:
                st.caption("The worker has not explained this spike (no alert found for it).")
            st.markdown("\n\n".join(lines))


def newest_alerts(alerts: pd.DataFrame, camp: Campaign) -> None:
    head, link = st.columns([3, 1], vertical_alignment="bottom")
    head.markdown("**Newest alerts**")
    link.page_link("views/alerts.py", label="All alerts", icon=":material/arrow_forward:")
    if alerts.empty:
        st.caption("No alerts yet.")
        return
    names = ui.subject_names(camp)
    for row in alerts.itertuples(index=False):
        icon = alert_text.SEVERITY_ICONS.get(str(row.severity), ":material/info:")
        done = " · handled" if int(row.handled) else ""
        kind = alert_text.KIND_LABELS.get(str(row.kind), row.kind)
        title = alert_text.title_text(str(row.title), names)
        st.markdown(f"{icon} **{kind}** · {ui.ago(row.at)}{done}  \n{title}")


def newest_table(newest: pd.DataFrame) -> None:
    tz = ui.viewer_timezone()
    st.dataframe(
        newest.assign(occurred_at=ui.local(newest["occurred_at"], tz)),
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


def live(url: str, camp: Campaign, window: WindowChoice, chosen: tuple[str, ...] | None) -> None:
    info = ui.subject_info(camp)
    shown = filters.subject_ids(camp, chosen)
    try:
        data = q.load_now(url, shown, tuple(info), window.minutes, window.bucket_minutes)
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
    banner(summarise(data["recent"], data["summary_spikes"], info, datetime.now(UTC)))
    # Share of voice needs every contender, so the series covers all subjects and the
    # subject filter only chooses which lines are drawn.
    series = data["series"][data["series"]["subject"].isin(info)]
    table = per_subject(series, info)
    metrics(data, table, window)
    if int(data["headline"]["mentions"].iloc[0]) == 0:
        st.info(
            f"No mentions in the last {window.label}; the newest one was posted "
            f"{ui.ago(fresh['newest_posted'])}. Pick a longer window above.",
            icon=":material/schedule:",
        )
        return
    colours = dict(zip(info, charts.subject_colours([s.kind for s in info.values()]), strict=True))
    buzz_panel(series, table, shown, colours, window)
    spikes_col, alerts_col = st.columns([3, 2], gap="large")
    with spikes_col:
        spike_list(data["spikes"], info)
        hashtags = data["hashtags"]
        if not hashtags.empty:
            st.caption("Top hashtags: " + " · ".join(f"#{t} ({n})" for t, n in hashtags.values))
    with alerts_col:
        newest_alerts(data["alerts"], camp)
    st.subheader("Newest mentions", divider="gray")
    newest_table(data["newest"])


def render() -> None:
    conf = ui.settings()
    camp = ui.campaign(conf)
    title_col, subject_col, window_col = st.columns([3, 2, 2], vertical_alignment="bottom")
    with title_col:
        st.title("Buzz right now")
    chosen = filters.pick_subjects(subject_col, "now", camp)
    window = filters.pick_window(window_col.container(horizontal_alignment="right"), "now")
    tz = ui.timezone_label(ui.viewer_timezone())
    st.caption(f"{camp.name}. Updates every {conf.dashboard_refresh_seconds:g} s; times in {tz}.")
    st.fragment(run_every=conf.dashboard_refresh_seconds)(live)(
        conf.warehouse_url, camp, window, chosen
    )


if __name__ == "__main__":
    render()
