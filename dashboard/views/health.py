"""Health: is the pipeline writing, and what input could it not use (dead letters)?

Answers "is the dashboard stale because nothing is happening, or because something broke?"
at a glance; refreshes on its own like the Now page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import charts, queries, ui
from dashboard.queries import WarehouseUnavailable

# The sink writes at least every few seconds while sources run; minutes of silence mean a
# stopped worker or source, not a quiet news day at the demo rate.
STALE_AFTER = timedelta(minutes=5)


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


def live(url: str) -> None:
    try:
        data = queries.load_health(url)
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    fresh = data["freshness"].iloc[0]
    dead = data["dead_counts"].iloc[0]
    written = data["written"]

    status_banner(fresh)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Newest row written", ui.ago(fresh["newest_written"]), **ui.CARD)
    m2.metric("Written, last hour", f"{int(written['rows'].sum()):,}", **ui.CARD)
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

    if written["rows"].sum() == 0:
        st.caption("Nothing was written in the last hour.")
    else:
        st.altair_chart(charts.written_chart(written), width="stretch", key="health_chart")

    st.subheader("Latest dead letters", divider="gray")
    latest = data["dead_latest"]
    if latest.empty:
        st.success("No dead letters: every input so far was usable.", icon=":material/check:")
    else:
        dead_letters_table(latest)


def render() -> None:
    conf = ui.settings()
    st.title("Pipeline health")
    where = queries.display_url(conf.warehouse_url)
    st.caption(
        f"Warehouse `{where}`. Updates every {conf.dashboard_refresh_seconds:g} s; "
        f"times in {ui.timezone_label(ui.viewer_timezone())}."
    )
    st.fragment(run_every=conf.dashboard_refresh_seconds)(live)(conf.warehouse_url)


if __name__ == "__main__":
    render()
