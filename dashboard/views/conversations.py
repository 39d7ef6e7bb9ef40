"""Conversations: questions waiting for an answer (oldest first) and threads worth joining.

A real exchange counts more than a page view: staff should answer the people who asked, longest
waiting first, and join the threads where people are actually arguing things through.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboard import filters, ui
from dashboard import queries as q
from dashboard.filters import WindowChoice
from dashboard.queries import WarehouseUnavailable
from pipeline.campaign import Campaign

WINDOWS = ("1h", "6h", "24h", "7d")


def waited(asked: pd.Series, now: datetime) -> list[str]:
    """'45 min', '3 h', '2 days': how long each question has waited."""
    out = []
    for moment in asked:
        minutes = max(0, int((now - pd.Timestamp(moment).to_pydatetime()).total_seconds() // 60))
        out.append(
            f"{minutes} min"
            if minutes < 90
            else f"{round(minutes / 60)} h"
            if minutes < 36 * 60
            else f"{round(minutes / 1440)} days"
        )
    return out


def questions_table(questions: pd.DataFrame, names: dict[str, str], overdue_minutes: int) -> None:
    now = datetime.now(UTC)
    age = (now - questions["asked_at"]).dt.total_seconds() / 60
    shown = questions.assign(
        waiting=waited(questions["asked_at"], now),
        overdue=age >= overdue_minutes,
        about=questions["subject"].map(lambda s: names.get(s, s)),
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_order=[
            "waiting",
            "overdue",
            "question",
            "author_handle",
            "thread_title",
            "about",
            "url",
        ],
        column_config={
            "waiting": st.column_config.TextColumn("Waiting", width="small"),
            "overdue": st.column_config.CheckboxColumn(
                "Overdue",
                help=f"Waiting longer than {overdue_minutes} min (campaign threshold)",
                width="small",
            ),
            "question": st.column_config.TextColumn("Question", width="large"),
            "author_handle": st.column_config.TextColumn("Asked by"),
            "thread_title": st.column_config.TextColumn("Thread"),
            "about": st.column_config.TextColumn("About", width="small"),
            "url": st.column_config.LinkColumn("Reply", display_text="reply", width="small"),
        },
    )


def golden_table(golden: pd.DataFrame, names: dict[str, str]) -> None:
    tz = ui.viewer_timezone()
    st.dataframe(
        golden.assign(
            last_post_at=ui.local(golden["last_post_at"], tz),
            about=golden["subject"].map(lambda s: names.get(s, s)),
        ),
        hide_index=True,
        width="stretch",
        column_order=[
            "thread_title",
            "about",
            "transactions",
            "participants",
            "quality",
            "last_post_at",
            "url",
        ],
        column_config={
            "thread_title": st.column_config.TextColumn("Thread", width="large"),
            "about": st.column_config.TextColumn("About", width="small"),
            "transactions": st.column_config.NumberColumn(
                "Exchanges", help="Substantive replies between different people"
            ),
            "participants": st.column_config.NumberColumn("People"),
            "quality": st.column_config.ProgressColumn(
                "Quality", min_value=0, max_value=1, format="%.2f"
            ),
            "last_post_at": st.column_config.DatetimeColumn("Last post", format="HH:mm"),
            "url": st.column_config.LinkColumn("Join", display_text="join", width="small"),
        },
    )


def live(url: str, camp: Campaign, window: WindowChoice, subjects: tuple[str, ...] | None) -> None:
    try:
        data = q.load_conversations(url, subjects, window.minutes)
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    totals, golden, questions = data["totals"].iloc[0], data["golden"], data["questions"]
    names = ui.subject_names(camp)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        "Questions waiting",
        f"{len(questions):,}",
        help="No substantive answer from someone else yet",
        **ui.CARD,
    )
    oldest = (
        waited(questions["asked_at"].head(1), datetime.now(UTC))[0] if not questions.empty else "–"
    )
    m2.metric("Oldest waiting", oldest, **ui.CARD)
    m3.metric(f"Golden threads, last {window.label}", f"{int(totals['golden']):,}", **ui.CARD)
    m4.metric(
        f"Real exchanges, last {window.label}",
        f"{int(totals['transactions']):,}",
        help="Substantive replies between different people, in threads active in the window",
        **ui.CARD,
    )

    st.subheader("Questions waiting for an answer", divider="gray")
    if questions.empty:
        st.success("Every question has an answer.", icon=":material/done_all:")
    else:
        st.caption(
            "Oldest first: reply from the campaign's account, then the question leaves this list."
        )
        questions_table(questions, names, camp.thresholds.unanswered_question_minutes)

    st.subheader("Threads worth joining", divider="gray")
    if golden.empty:
        st.caption(
            f"No golden thread active in the last {window.label}: quality ≥ 0.5 and at least "
            "3 real exchanges (docs/scoring.md)."
        )
    else:
        st.caption(
            "Real conversations (quality ≥ 0.5, at least 3 exchanges), most recently active first."
        )
        golden_table(golden, names)


def render() -> None:
    conf = ui.settings()
    camp = ui.campaign(conf)
    title_col, subject_col, window_col = st.columns([3, 2, 2], vertical_alignment="bottom")
    title_col.title("Conversations")
    subjects = filters.pick_subjects(subject_col, "conversations", camp)
    window = filters.pick_window(
        window_col.container(horizontal_alignment="right"), "conversations", WINDOWS
    )
    st.fragment(run_every=conf.dashboard_refresh_seconds)(live)(
        conf.warehouse_url, camp, window, subjects
    )


if __name__ == "__main__":
    render()
