"""Signups: how many, through which channel and referral, what drove them, and how long after
buzz they tend to come."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, filters, ui
from dashboard import queries as q
from dashboard.filters import WindowChoice
from dashboard.queries import WarehouseUnavailable
from dashboard.summary import best_lag, lag_sentence

WINDOWS = ("1h", "6h", "24h", "7d")


def bucket_minutes(window: WindowChoice) -> int:
    """About a dozen bars per window: signups are far fewer than mentions, so a bar a minute
    would be a comb of ones and zeros."""
    return max(window.bucket_minutes, window.minutes // 12)


def live(url: str, window: WindowChoice) -> None:
    try:
        data = q.load_signups(url, window.minutes, bucket_minutes(window), "all")
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    totals, attribution, lag = data["totals"].iloc[0], data["attribution"], data["lag"]
    count, previous = int(totals["signups"]), int(totals["previous"])
    by_validator = int(attribution.loc[attribution["kind"] == "validator", "signups"].sum())
    best = best_lag(lag)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        f"Signups, last {window.label}",
        f"{count:,}",
        delta=ui.change_text(count, previous),
        delta_description=f"vs previous {window.label}",
        **ui.CARD,
    )
    m2.metric("With a referral code", f"{int(totals['referred']):,}", **ui.CARD)
    m3.metric("Credited to validators", f"{by_validator:,}", **ui.CARD)
    m4.metric(
        "Buzz leads signups by",
        "–" if best is None else f"{best[0]} h",
        help="The delay at which hourly buzz and signups correlate best (14 days)",
        **ui.CARD,
    )
    if count == 0:
        st.info(
            f"No signups in the last {window.label}. Pick a longer window above.",
            icon=":material/hourglass_empty:",
        )
    else:
        chart_col, drivers_col = st.columns([3, 2], gap="large")
        with chart_col:
            st.markdown("**By channel**")
            st.altair_chart(
                charts.signups_chart(data["over_time"], bucket_minutes(window)),
                width="stretch",
                key="signups_chart",
            )
        with drivers_col:
            st.markdown("**What drove them**")
            # Narrow enough that the count and the link stay in view beside the chart.
            ui.drivers_table(attribution, label_width="medium")
        referrals = data["referrals"]
        if not referrals.empty:
            st.markdown("**Referral codes**")
            st.dataframe(
                referrals.assign(
                    credited_kind=referrals["credited_kind"].map(lambda k: ui.KIND_LABELS.get(k, k))
                ),
                hide_index=True,
                width="stretch",
                column_config={
                    "referral_code": st.column_config.TextColumn("Code"),
                    "signups": st.column_config.NumberColumn("Signups"),
                    "credited_kind": st.column_config.TextColumn("Credited to"),
                    "credited_to": st.column_config.TextColumn("Key"),
                },
            )
    st.subheader("Does buzz lead signups?", divider="gray")
    st.markdown(lag_sentence(lag))
    defined = lag.dropna(subset=["r"])
    if not defined.empty:
        st.altair_chart(
            charts.lag_chart(defined, best[0] if best else None), width="stretch", key="signups_lag"
        )
        st.caption(
            "Correlation is not causation: both follow the daily rhythm, so compare lags "
            "with each other rather than reading one on its own (docs/scoring.md §13)."
        )


def render() -> None:
    conf = ui.settings()
    title_col, window_col = st.columns([3, 2], vertical_alignment="bottom")
    title_col.title("Signups")
    window = filters.pick_window(
        window_col.container(horizontal_alignment="right"), "signups", WINDOWS
    )
    st.fragment(run_every=conf.dashboard_refresh_seconds)(live)(conf.warehouse_url, window)


if __name__ == "__main__":
    render()
