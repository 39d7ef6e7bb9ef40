"""The time window and subject filters, kept in the URL and shared across pages.

The URL is the source of truth (``?window=6h&subject=kim&subject=reyes``), so a bookmarked or
shared link opens on the same view. Moving to another page through the navigation drops the
query string, so the last choice is also kept in the session and written back to the URL of
the page the staffer lands on: the window chosen on Now is still chosen on Alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from pipeline.campaign import Campaign


@dataclass(frozen=True)
class WindowChoice:
    key: str
    label: str  # read in sentences: "last 1 h", "previous 1 h"
    minutes: int
    bucket_minutes: int  # a 24 h chart of 1-minute points is unreadable, so longer windows bin


WINDOWS = {
    w.key: w
    for w in (
        WindowChoice("15m", "15 min", 15, 1),
        WindowChoice("1h", "1 h", 60, 1),
        WindowChoice("6h", "6 h", 360, 5),
        WindowChoice("24h", "24 h", 1440, 15),
        WindowChoice("7d", "7 days", 7 * 1440, 120),
        # Places only: local groups grow over weeks, not minutes.
        WindowChoice("30d", "30 days", 30 * 1440, 1440),
        WindowChoice("90d", "90 days", 90 * 1440, 1440),
    )
}
# The windows Now offers; other pages offer some of them, Places its own longer ones.
STANDARD_WINDOWS = ("15m", "1h", "6h", "24h", "7d")
DEFAULT_WINDOW = "1h"
WINDOW_PARAM = "window"
SUBJECT_PARAM = "subject"
_SESSION = "_shared_filters"


def _remembered() -> dict[str, object]:
    return st.session_state.setdefault(_SESSION, {})  # type: ignore[no-any-return]


def pick_window(
    where: DeltaGenerator,
    page: str,
    choices: Sequence[str] = STANDARD_WINDOWS,
    fallback: str = DEFAULT_WINDOW,
) -> WindowChoice:
    """The window from the URL, else the session, else ``fallback``; offered as a picker."""
    remembered = _remembered()
    current = str(st.query_params.get(WINDOW_PARAM) or remembered.get(WINDOW_PARAM) or fallback)
    if current not in choices:
        current = fallback if fallback in choices else choices[0]
    choice = where.segmented_control(
        "Window",
        options=list(choices),
        format_func=lambda key: WINDOWS[key].label,
        default=current,
        required=True,
        key=f"{page}_window",
        label_visibility="collapsed",
    )
    key = str(choice)
    remembered[WINDOW_PARAM] = key
    if st.query_params.get(WINDOW_PARAM) != key:
        st.query_params[WINDOW_PARAM] = key
    return WINDOWS[key]


def pick_subjects(where: DeltaGenerator, page: str, campaign: Campaign) -> tuple[str, ...] | None:
    """Subject ids chosen (from the URL, else the session); None means all subjects."""
    names = {s.id: s.name for s in campaign.subjects}
    remembered = _remembered()
    from_url = [s for s in st.query_params.get_all(SUBJECT_PARAM) if s in names]
    stored = remembered.get(SUBJECT_PARAM)
    current = from_url or (list(stored) if isinstance(stored, list | tuple) else [])
    chosen = where.multiselect(
        "Subjects",
        options=list(names),
        default=current,
        format_func=lambda sid: names[sid],
        key=f"{page}_subjects",
        placeholder="All subjects",
        label_visibility="collapsed",
    )
    remembered[SUBJECT_PARAM] = list(chosen)
    if st.query_params.get_all(SUBJECT_PARAM) != list(chosen):
        st.query_params[SUBJECT_PARAM] = list(chosen)
    return tuple(chosen) or None


def subject_ids(campaign: Campaign, chosen: tuple[str, ...] | None) -> tuple[str, ...]:
    """The chosen subjects in the campaign's order, or all of them."""
    return tuple(s.id for s in campaign.subjects if chosen is None or s.id in chosen)
