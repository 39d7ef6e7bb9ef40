"""What every page shares: settings, the campaign, the viewer's time zone, plain-language errors.

Settings are read fresh on every run (not through the cached ``get_settings()``), so a dashboard
started with a changed environment, or a test that points it at another warehouse, sees it.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any, Literal, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

from dashboard.queries import WarehouseUnavailable
from dashboard.summary import SubjectInfo
from pipeline.campaign import Campaign, load_campaign
from pipeline.settings import ConfigError, Settings, load_settings

# Metric cards: bordered, and as tall as the tallest in their row, so a card with a delta line
# does not stick out below the others.
CARD: dict[str, Any] = {"border": True, "height": "stretch"}


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:  # a SystemExit: Streamlit would show nothing useful
        st.error(f"The dashboard's configuration is wrong: {exc.message}")
        st.info("Fix that environment variable (or `.env`) and reload this page.")
        st.stop()


@st.cache_data(ttl=60, show_spinner=False)
def _campaign(path: str | None) -> Campaign:
    from pathlib import Path

    return load_campaign(Path(path) if path else None)


def campaign(conf: Settings) -> Campaign:
    try:
        return _campaign(str(conf.campaign_file) if conf.campaign_file else None)
    except ConfigError as exc:
        st.error(f"The campaign file cannot be used: {exc.message}")
        st.stop()


def subject_info(camp: Campaign) -> dict[str, SubjectInfo]:
    """Subject id -> name and kind, in the campaign's order (tables store ids, staff read names)."""
    return {s.id: SubjectInfo(s.name, s.kind) for s in camp.subjects}


def subject_names(camp: Campaign) -> dict[str, str]:
    return {s.id: s.name for s in camp.subjects}


def viewer_timezone() -> tzinfo:
    """The browser's time zone (staff think in local time), UTC when it is not known."""
    name = st.context.timezone
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def timezone_label(tz: tzinfo) -> str:
    return "UTC" if tz is UTC else str(tz)


def local(series: pd.Series, tz: tzinfo) -> pd.Series:
    """UTC timestamps shown in the viewer's zone, without the zone suffix cluttering tables."""
    return series.dt.tz_convert(tz).dt.tz_localize(None)


def ago(moment: datetime | pd.Timestamp | None, now: datetime | None = None) -> str:
    """'just now', '42 s ago', '3 min ago', '2 h ago', '4 days ago' or 'never'."""
    if moment is None or pd.isna(moment):
        return "never"
    now = now or datetime.now(UTC)
    seconds = max(0, int((now - pd.Timestamp(moment).to_pydatetime()).total_seconds()))
    if seconds < 5:
        return "just now"
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min ago"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


def clock(moment: datetime | pd.Timestamp, tz: tzinfo) -> str:
    """'14:02' today, 'Nov 26, 14:02' on another day, in the viewer's zone."""
    local_moment = pd.Timestamp(moment).tz_convert(tz)
    today = datetime.now(tz).date()
    fmt = "%H:%M" if local_moment.date() == today else "%b %d, %H:%M"
    return local_moment.strftime(fmt)


def change_text(now: int, before: int) -> str:
    """'+12 (+25%)'; st.metric colours and points it by the leading sign."""
    diff = now - before
    if before == 0:
        return f"{diff:+,}"
    return f"{diff:+,} ({diff / before:+.0%})"


def show_unavailable(exc: WarehouseUnavailable) -> NoReturn:
    """Say what is wrong and what to do, then end this run (a fragment retries on its own)."""
    st.error(exc.message, icon=":material/cloud_off:")
    st.info(exc.hint)
    st.stop()


# What a signup was credited to (signup_attribution.kind), in staff's words.
KIND_LABELS = {
    "validator": "Validator",
    "thread": "Thread",
    "mention": "Post",
    "channel": "Channel only",
}


def drivers_table(
    attribution: pd.DataFrame, label_width: Literal["small", "medium", "large"] = "large"
) -> None:
    """What drove signups (``kind``, ``label``, ``signups``, ``url``), with links to open."""
    st.dataframe(
        attribution.assign(
            kind=attribution["kind"].map(lambda k: KIND_LABELS.get(k, k)),
            url=attribution["url"].astype(object).where(attribution["url"] != "", None),
        ),
        hide_index=True,
        width="stretch",
        column_order=["kind", "label", "signups", "url"],
        column_config={
            "kind": st.column_config.TextColumn("Credited to"),
            "label": st.column_config.TextColumn("Who or what", width=label_width),
            "signups": st.column_config.NumberColumn("Signups"),
            "url": st.column_config.LinkColumn("Link", display_text="open", width="small"),
        },
    )
