"""Alerts: urgent ones first, then the opportunity queue, each with its reasons and links.

Urgent alerts (spikes, attacks, coordinated posting, signup surges) are what staff act on now;
opportunities (golden threads, validator posts taking off, new validators, unanswered
questions) wait in a queue below. An alert that updates (the same attack still going) is one
card showing its latest version and how long it has gone on. "Mark as handled" appends one row to
``buzz.alert_actions`` (the dashboard's only write); the alert itself never changes. The feed
refreshes on its own; filters live in the URL.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import alert_text, auth, filters, ui
from dashboard import queries as q
from dashboard.queries import WarehouseUnavailable
from dashboard.queries.alerts import KINDS, UnknownAlert
from pipeline.campaign import Campaign
from pipeline.scoring.alerts import URGENT

STATES = {"open": "Open", "handled": "Handled", "all": "All"}
KIND_PARAM, STATE_PARAM = "kind", "state"
ALERT_PARAM = "alert"  # one alert: the link in a delivered alert message
NOTICE = "alerts_notice"


def pick_kinds(where: st.delta_generator.DeltaGenerator) -> tuple[str, ...]:
    from_url = [k for k in st.query_params.get_all(KIND_PARAM) if k in KINDS]
    chosen = where.multiselect(
        "Kinds",
        options=list(KINDS),
        default=from_url,
        format_func=lambda k: alert_text.KIND_LABELS[k],
        key="alerts_kinds",
        placeholder="All kinds",
        label_visibility="collapsed",
    )
    if st.query_params.get_all(KIND_PARAM) != list(chosen):
        st.query_params[KIND_PARAM] = list(chosen)
    return tuple(chosen) or KINDS


def pick_state(where: st.delta_generator.DeltaGenerator) -> str:
    current = st.query_params.get(STATE_PARAM, "open")
    state = where.segmented_control(
        "State",
        options=list(STATES),
        format_func=STATES.__getitem__,
        default=current if current in STATES else "open",
        required=True,
        key="alerts_state",
        label_visibility="collapsed",
    )
    if st.query_params.get(STATE_PARAM) != state:
        st.query_params[STATE_PARAM] = state
    return str(state)


def act(url: str, alert_id: str, action: str) -> None:
    """Button callback: record the action, leave a message for the next run to show."""
    try:
        q.record_alert_action(
            url, alert_id, "handled" if action == "handled" else "reopened", auth.actor()
        )
        st.session_state[NOTICE] = (
            "ok",
            "Marked as handled." if action == "handled" else "Reopened.",
        )
    except UnknownAlert:
        st.session_state[NOTICE] = ("error", "That alert is no longer in the warehouse.")
    except WarehouseUnavailable as exc:
        st.session_state[NOTICE] = ("error", f"Not saved: {exc.message}")


def alert_card(row: pd.Series, url: str, names: dict[str, str]) -> None:
    kind = str(row["kind"])
    handled = bool(int(row["handled"]))
    with st.container(border=True, key=f"alert_{row['alert_id']}"):
        text_col, button_col = st.columns([5, 1], vertical_alignment="center")
        with text_col:
            icon = alert_text.SEVERITY_ICONS.get(str(row["severity"]), ":material/info:")
            subject = names.get(str(row["subject"]), str(row["subject"]))
            tz = ui.viewer_timezone()
            when = f"{ui.clock(row['at'], tz)} ({ui.ago(row['at'])})"
            ongoing = alert_text.episode_line(row["explanation"])
            if ongoing:  # an alert that updated: from its first minute to its latest
                when = f"{ui.clock(row['at'], tz)}–{ui.clock(row['last_at'], tz)} "
                when += f"({ui.ago(row['last_at'])})"
            st.markdown(
                f"{icon} **{alert_text.KIND_LABELS.get(kind, kind)}** · {subject} · {when}  \n"
                f"{alert_text.title_text(str(row['title']), names)}"
                + (f"  \n:material/update: {ongoing}" if ongoing else "")
            )
            if handled:
                who = row["actor"] if isinstance(row["actor"], str) and row["actor"] else "someone"
                st.caption(f":material/check: Handled by {who}, {ui.ago(row['acted_at'])}")
        with button_col:
            if handled:
                st.button(
                    "Reopen",
                    key=f"reopen_{row['alert_id']}",
                    on_click=act,
                    args=(url, row["alert_id"], "reopened"),
                    width="stretch",
                )
            else:
                st.button(
                    "Mark as handled",
                    key=f"handle_{row['alert_id']}",
                    on_click=act,
                    args=(url, row["alert_id"], "handled"),
                    # Only what is critical shouts: five blue buttons would all look urgent.
                    type="primary" if row["severity"] == "critical" else "secondary",
                    icon=":material/done:",
                    width="stretch",
                )
        lines = alert_text.explanation_lines(kind, row["explanation"])
        links = [f"[{alert_text.link_label(u)}]({u})" for u in row["example_urls"]]
        if lines or links:
            expand = kind in ("attack", "coordinated") and not handled
            with st.expander("Why, and the posts", expanded=expand):
                if lines:
                    st.markdown("\n\n".join(lines))
                if links:
                    st.markdown("**Posts:** " + " · ".join(links))


def show_all() -> None:
    del st.query_params[ALERT_PARAM]


def one_alert(url: str, alert_id: str, camp: Campaign) -> None:
    """The alert a delivered message links to, whatever the filters say."""
    try:
        feed = q.load_alerts(url, KINDS, None, None, alert_id)
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    if feed.empty:
        st.warning("That alert is not in the warehouse.", icon=":material/search_off:")
    names = ui.subject_names(camp)
    for _, row in feed.iterrows():
        alert_card(row, url, names)
    st.button("Show all alerts", on_click=show_all, key="alerts_show_all")


def live(
    url: str, kinds: tuple[str, ...], subjects: tuple[str, ...] | None, state: str, camp: Campaign
) -> None:
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        (st.success if notice[0] == "ok" else st.error)(notice[1])
    alert_id = st.query_params.get(ALERT_PARAM)
    if alert_id:
        one_alert(url, alert_id, camp)
        return
    handled = {"open": False, "handled": True, "all": None}[state]
    try:
        feed = q.load_alerts(url, kinds, subjects, handled)
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    if feed.empty:
        what = {"open": "No open alerts", "handled": "No handled alerts", "all": "No alerts"}[state]
        st.success(f"{what} for these filters.", icon=":material/done_all:")
        return
    shown = f"the newest {len(feed)}" if len(feed) >= 100 else str(len(feed))
    st.caption(
        f"{shown} {STATES[state].lower() if state != 'all' else ''} alerts, latest first: "
        "urgent ones, then the opportunity queue."
    )
    names = ui.subject_names(camp)
    urgent = feed[feed["kind"].isin(URGENT)]
    queue = feed[~feed["kind"].isin(URGENT)]
    st.subheader(f":material/notifications_active: Urgent ({len(urgent)})", anchor="urgent")
    if urgent.empty:
        st.markdown("Nothing urgent for these filters.")
    for _, row in urgent.iterrows():
        alert_card(row, url, names)
    st.subheader(f":material/inbox: Opportunity queue ({len(queue)})", anchor="opportunities")
    if queue.empty:
        st.markdown("No opportunities waiting for these filters.")
    for _, row in queue.iterrows():
        alert_card(row, url, names)


def render() -> None:
    conf = ui.settings()
    camp = ui.campaign(conf)
    st.title("Alerts")
    kinds_col, subject_col, state_col = st.columns([3, 2, 2], vertical_alignment="bottom")
    kinds = pick_kinds(kinds_col)
    subjects = filters.pick_subjects(subject_col, "alerts", camp)
    state = pick_state(state_col.container(horizontal_alignment="right"))
    st.fragment(run_every=conf.dashboard_refresh_seconds)(live)(
        conf.warehouse_url, kinds, subjects, state, camp
    )


if __name__ == "__main__":
    render()
