"""Validators: whose word travelled furthest, who is new, and how one post spread."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cascade, filters, ui
from dashboard import queries as q
from dashboard.filters import WindowChoice
from dashboard.queries import WarehouseUnavailable

WINDOWS = ("1h", "6h", "24h", "7d")
SLOW_REFRESH_SECONDS = 30  # validators post a few times a day: no 15-minute view


def leaderboard_table(board: pd.DataFrame) -> None:
    st.dataframe(
        board,
        hide_index=True,
        width="stretch",
        column_order=[
            "name",
            "group_name",
            "posts",
            "trust_weighted_reach",
            "cascade_audience",
            "amplifiers",
            "max_depth",
        ],
        column_config={
            "name": st.column_config.TextColumn("Validator"),
            "group_name": st.column_config.TextColumn("Group"),
            "posts": st.column_config.NumberColumn("Posts"),
            "trust_weighted_reach": st.column_config.ProgressColumn(
                "Trust-weighted reach",
                format="compact",
                min_value=0,
                max_value=float(board["trust_weighted_reach"].max() or 1),
                help="Trust weight × people the post and its reshares could reach",
            ),
            "cascade_audience": st.column_config.NumberColumn(
                "Could reach", format="compact", help="Own audience plus every resharer's"
            ),
            "amplifiers": st.column_config.NumberColumn("Reshared by", help="Distinct people"),
            "max_depth": st.column_config.NumberColumn("Deepest", help="Hops from the validator"),
        },
    )


def cascade_section(url: str, posts: pd.DataFrame) -> None:
    st.subheader("How a post spread", divider="gray")
    if posts.empty:
        st.caption("No validator posts in this window.")
        return
    tz = ui.viewer_timezone()
    labels = {
        r.root_id: f"{r.name} · {ui.clock(r.posted_at, tz)} · "
        f"reach {cascade.compact(int(r.trust_weighted_reach))}"
        for r in posts.itertuples(index=False)
    }
    root = st.selectbox(
        "Post",
        options=list(labels),
        format_func=labels.__getitem__,
        key="validators_post",
        label_visibility="collapsed",
    )
    try:
        tree = q.load_cascade(url, root)
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    chosen = posts[posts["root_id"] == root].iloc[0]
    more = " (first 200 posts shown)" if tree.truncated else ""
    st.caption(
        f"{cascade.summary(tree.nodes)}{more}. Solid arrows are reshares, dashed ones replies. "
        f"[Open the post]({chosen['url']})"
    )
    # Natural size: stretched to the page width, a small cascade becomes giant boxes.
    st.graphviz_chart(cascade.cascade_dot(tree.nodes), width="content")


def live(url: str, window: WindowChoice) -> None:
    try:
        data = q.load_validators(url, window.minutes)
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    board, new = data["leaderboard"], data["new"]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(f"Validators who spoke, last {window.label}", f"{len(board):,}", **ui.CARD)
    m2.metric(
        "Trust-weighted reach",
        cascade.compact(int(board["trust_weighted_reach"].sum())),
        help="Sum over their posts of trust weight × people who could see them",
        **ui.CARD,
    )
    m3.metric("People who reshared them", f"{int(board['amplifiers'].sum()):,}", **ui.CARD)
    m4.metric("New validators", f"{len(new):,}", help="First post ever in this window", **ui.CARD)
    if board.empty:
        st.info(
            f"No validator has posted in the last {window.label}. Validators are listed in the "
            "campaign file; pick a longer window above.",
            icon=":material/hourglass_empty:",
        )
        return
    board_col, new_col = st.columns([3, 1], gap="large")
    with board_col:
        st.markdown("**Leaderboard**")
        leaderboard_table(board)
    with new_col:
        st.markdown("**New to the network**")
        if new.empty:
            st.caption("Nobody new in this window.")
        tz = ui.viewer_timezone()
        for r in new.itertuples(index=False):
            st.markdown(
                f":material/new_releases: **{r.name}** · {r.group_name}  \n"
                f"first post {ui.clock(r.first_post, tz)} · [open]({r.url})"
            )
    cascade_section(url, data["posts"])


def render() -> None:
    conf = ui.settings()
    title_col, window_col = st.columns([3, 2], vertical_alignment="bottom")
    title_col.title("Validators")
    window = filters.pick_window(
        window_col.container(horizontal_alignment="right"), "validators", WINDOWS
    )
    st.caption(
        "Trusted voices from the campaign file: how far their word travelled, counting "
        "every reshare. Trust, not eyeballs, is what moves people."
    )
    # Cascades change over minutes, not seconds, and a picture redrawn every few seconds jumps
    # under the reader's eye: this page refreshes less often than the others.
    every = max(conf.dashboard_refresh_seconds, SLOW_REFRESH_SECONDS)
    st.fragment(run_every=every)(live)(conf.warehouse_url, window)


if __name__ == "__main__":
    render()
