"""Health: is the pipeline writing, is the worker keeping up, what could it not use, how is
each source doing, and are alerts reaching the routes of the campaign file?

Answers "is the dashboard stale because nothing is happening, or because something broke?"
at a glance; refreshes on its own like the other pages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import charts, ui
from dashboard import queries as q
from dashboard.queries import WarehouseUnavailable
from dashboard.queries.consumer_lag import WORKER_GROUP, LagReport

# The sink writes at least every few seconds while sources run; minutes of silence mean a
# stopped worker or source, not a quiet news day at the demo rate.
STALE_AFTER = timedelta(minutes=5)
# Words, not emoji: emoji fonts are missing on many servers and kiosk browsers.
STATUS_WORDS = {"running": "running", "stopped": "stopped", "error": "ERROR"}


def status_banner(fresh: pd.Series) -> None:
    if int(fresh["total"]) == 0:
        st.info(
            "Nothing in the warehouse yet — start the pipeline, e.g. `buzz up --demo`.",
            icon=":material/hourglass_empty:",
        )
        return
    newest = pd.Timestamp(fresh["newest_written"]).to_pydatetime()
    if datetime.now(UTC) - newest > STALE_AFTER:
        st.warning(
            f"Nothing written for {ui.ago(newest).removesuffix(' ago')}. Is the worker running? "
            "`buzz up` starts and supervises it; `buzz worker` runs it alone.",
            icon=":material/warning:",
        )
    else:
        st.success(
            f"The pipeline is writing: newest row {ui.ago(newest)}.", icon=":material/check:"
        )


def per_second(events: pd.DataFrame, minutes: int) -> float:
    """Mean events per second over the last ``minutes`` whole minutes, all topics together."""
    last = events["minute"].max()
    recent = events[events["minute"] > last - pd.Timedelta(minutes=minutes)]
    return float(recent["events"].sum()) / (minutes * 60)


def sources_table(sources: pd.DataFrame | None) -> None:
    st.markdown("**Sources**")
    if sources is None:
        st.info(
            "This warehouse has no source reports yet (table `buzz.source_status` is missing). "
            "Run `buzz migrate` after upgrading; sources then report here.",
            icon=":material/info:",
        )
        return
    if sources.empty:
        st.caption("No source has reported yet. Start one with `buzz source run NAME`.")
        return
    for row in sources[sources["status"] == "error"].itertuples(index=False):
        st.error(
            f"**{row.source}/{row.instance}** is failing ({ui.ago(row.last_error_at)}): "
            f"{row.last_error}",
            icon=":material/error:",
        )
    shown = sources.assign(
        status=sources["status"].map(lambda s: STATUS_WORDS.get(s, s)),
        success=sources["last_success_at"].map(ui.ago),
        error_at=sources["last_error_at"].map(lambda t: "" if pd.isna(t) else ui.ago(t)),
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_order=[
            "source",
            "instance",
            "status",
            "success",
            "events_total",
            "dead_letters_total",
            "error_at",
            "last_error",
        ],
        column_config={
            "source": st.column_config.TextColumn("Source"),
            "instance": st.column_config.TextColumn("Instance"),
            "status": st.column_config.TextColumn("Status"),
            "success": st.column_config.TextColumn("Last success"),
            "events_total": st.column_config.NumberColumn("Events", format="compact"),
            "dead_letters_total": st.column_config.NumberColumn("Rejected"),
            "error_at": st.column_config.TextColumn("Last error"),
            "last_error": st.column_config.TextColumn("Error", width="large"),
        },
    )


def lag_table(report: LagReport) -> None:
    st.markdown(f"**Worker lag** (group `{WORKER_GROUP}`)")
    if report.problem:
        st.warning(
            report.problem + " Consumer lag cannot be shown; the rest of this page "
            "comes from the warehouse.",
            icon=":material/cloud_off:",
        )
        return
    st.dataframe(
        report.partitions,
        hide_index=True,
        width="stretch",
        column_config={
            "topic": st.column_config.TextColumn("Topic"),
            "partition": st.column_config.NumberColumn("Partition", width="small"),
            "committed": st.column_config.NumberColumn("Done"),
            "end": st.column_config.NumberColumn("Written"),
            "lag": st.column_config.NumberColumn("Behind", help="Messages not yet processed"),
        },
    )


def dead_letters_table(latest: pd.DataFrame) -> None:
    tz = ui.viewer_timezone()
    st.dataframe(
        latest.assign(received_at=ui.local(latest["received_at"], tz)),
        hide_index=True,
        width="stretch",
        column_config={
            "received_at": st.column_config.DatetimeColumn("Received", format="MMM D, HH:mm:ss"),
            "came_from": st.column_config.TextColumn(
                "Came from", help="Source connector, or Kafka topic #partition @offset"
            ),
            "reason": st.column_config.TextColumn("Reason", width="large"),
            "payload": st.column_config.TextColumn("Input (start)", width="medium"),
        },
    )


DELIVERY_WORDS = {
    "sent": "sent",
    "queued": "waiting",
    "sending": "sending",
    "failed": "FAILED",
    "unknown": "unknown",
}


def deliveries_section(url: str, configured: tuple[tuple[str, str], ...]) -> None:
    """Each route of the campaign file: its last delivery, the last day's counts, problems."""
    st.subheader("Alert delivery", divider="gray")
    if not configured:
        st.caption(
            "No routes in the campaign file: alerts are stored and shown here only. "
            "docs/alerts.md says how to send them to Slack, email or a webhook."
        )
        return
    try:
        data = q.load_deliveries(url)
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    routes, problems = data["routes"], data["problems"]
    if routes is None or problems is None:
        st.info(
            "This warehouse has no delivery record yet (`buzz.alert_deliveries` is missing). "
            "Run `buzz migrate` after upgrading.",
            icon=":material/info:",
        )
        return
    known = pd.DataFrame(list(configured), columns=["route", "channel"])
    shown = known.merge(routes.drop(columns=["channel"]), on="route", how="left")
    for row in shown.itertuples(index=False):
        if isinstance(row.last_status, str) and row.last_status == "failed":
            st.error(
                f"**{row.route}** ({row.channel}): the last delivery failed "
                f"{ui.ago(row.last_error_at)}: {row.last_error}",
                icon=":material/error:",
            )
    table = shown.assign(
        status=shown["last_status"].map(
            lambda s: DELIVERY_WORDS.get(s, s) if isinstance(s, str) else "nothing yet"
        ),
        last=shown["last_at"].map(ui.ago),
    ).fillna({"sent": 0, "failed": 0, "unknown": 0, "waiting": 0})
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_order=["route", "channel", "status", "last", "sent", "failed", "unknown", "waiting"],
        column_config={
            "route": st.column_config.TextColumn("Route"),
            "channel": st.column_config.TextColumn("Channel"),
            "status": st.column_config.TextColumn("Last delivery"),
            "last": st.column_config.TextColumn("When"),
            "sent": st.column_config.NumberColumn("Sent, 24 h"),
            "failed": st.column_config.NumberColumn("Failed, 24 h"),
            "unknown": st.column_config.NumberColumn(
                "Unknown, 24 h", help="Cut off mid-send (a worker stopped): never sent again"
            ),
            "waiting": st.column_config.NumberColumn(
                "Waiting", help="For the next digest, or for a retry"
            ),
        },
    )
    if problems.empty:
        return
    st.markdown("**Delivery problems**")
    tz = ui.viewer_timezone()
    st.dataframe(
        problems.assign(
            updated_at=ui.local(problems["updated_at"], tz),
            status=problems["status"].map(lambda s: DELIVERY_WORDS.get(s, s)),
            retry=problems["next_attempt_at"].map(
                lambda t: "no" if pd.isna(t) else f"at {ui.clock(t, tz)}"
            ),
        ),
        hide_index=True,
        width="stretch",
        column_order=["updated_at", "route", "status", "attempts", "retry", "error", "alert"],
        column_config={
            "updated_at": st.column_config.DatetimeColumn("When", format="MMM D, HH:mm:ss"),
            "route": st.column_config.TextColumn("Route"),
            "status": st.column_config.TextColumn("Status"),
            "attempts": st.column_config.NumberColumn("Attempts", width="small"),
            "retry": st.column_config.TextColumn("Retry"),
            "error": st.column_config.TextColumn("Error", width="large"),
            "alert": st.column_config.TextColumn("Alert", width="medium"),
        },
    )


def live(url: str, bootstrap: str, routes: tuple[tuple[str, str], ...] = ()) -> None:
    try:
        data = q.load_health(url)
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    lag = q.load_consumer_lag(bootstrap)
    fresh, dead, events = data["freshness"].iloc[0], data["dead_counts"].iloc[0], data["events"]

    status_banner(fresh)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        "Events per second",
        f"{per_second(events, 5):.1f}",
        help="Rows written per second over the last 5 minutes, all topics",
        **ui.CARD,
    )
    m2.metric(
        "Worker behind by",
        "unknown" if lag.problem else f"{lag.total:,} messages",
        help="Messages on the topics not yet processed by the worker",
        **ui.CARD,
    )
    m3.metric("Mentions stored", f"{int(fresh['total']):,}", **ui.CARD)
    m4.metric(
        "Dead letters, last 24 h",
        f"{int(dead['recent']):,}",
        delta=f"{int(dead['total']):,} in all",
        delta_color="off",
        delta_arrow="off",
        help="Input that could not be used; nothing bad is dropped silently",
        **ui.CARD,
    )
    if events["events"].sum() == 0:
        st.caption("Nothing was written in the last hour.")
    else:
        chart = events.assign(per_second=events["events"] / 60)
        st.altair_chart(charts.events_chart(chart), width="stretch", key="health_chart")

    sources_col, lag_col = st.columns([3, 2], gap="large")
    with sources_col:
        sources_table(data["sources"])
    with lag_col:
        lag_table(lag)

    deliveries_section(url, routes)

    st.subheader("Latest dead letters", divider="gray")
    latest = data["dead_latest"]
    if latest.empty:
        st.success("No dead letters: every input so far was usable.", icon=":material/check:")
    else:
        dead_letters_table(latest)


def render() -> None:
    conf = ui.settings()
    st.title("Pipeline health")
    st.caption(
        f"Warehouse `{q.display_url(conf.warehouse_url)}`, broker `{conf.bootstrap_servers}`. "
        f"Updates every {conf.dashboard_refresh_seconds:g} s; times in "
        f"{ui.timezone_label(ui.viewer_timezone())}."
    )
    routes = tuple((r.name, r.type) for r in ui.campaign(conf).routes)
    st.fragment(run_every=conf.dashboard_refresh_seconds)(live)(
        conf.warehouse_url, conf.bootstrap_servers, routes
    )


if __name__ == "__main__":
    render()
