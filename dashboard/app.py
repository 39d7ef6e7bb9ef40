"""The dashboard's entry point: ``streamlit run dashboard/app.py`` (``buzz dashboard`` does it).

Navigation is built inside :func:`run` so tests can drive the whole app with AppTest; each page
is its own script under ``views/`` and reads the warehouse only through ``dashboard.queries``.

The folder is deliberately not called ``pages/``: Streamlit treats a ``pages/`` folder beside
the entry point as an old-style multipage app until ``st.navigation`` has run once in the
process, so the first visit after a restart to a bookmarked ``/health`` would run that script
alone, without this navigation or page config.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).resolve().parent / "views"

# (script, title, icon): the order staff use them in, from "what is happening" to plumbing.
PAGES = [
    ("now.py", "Now", ":material/monitoring:"),
    ("alerts.py", "Alerts", ":material/notifications:"),
    ("validators.py", "Validators", ":material/verified:"),
    ("conversations.py", "Conversations", ":material/forum:"),
    ("signups.py", "Signups", ":material/how_to_reg:"),
    ("places.py", "Places", ":material/location_on:"),
    ("explore.py", "Explore", ":material/query_stats:"),
    ("health.py", "Health", ":material/ecg_heart:"),
]


def run() -> None:
    st.set_page_config(
        page_title="Campaign buzz",
        page_icon=":material/campaign:",
        layout="wide",
        initial_sidebar_state="collapsed",
    )
    from dashboard import auth, ui

    auth.require_sign_in(ui.settings())
    pages = [
        st.Page(VIEWS / script, title=title, icon=icon, default=(script == "now.py"))
        for script, title, icon in PAGES
    ]
    # Navigation across the top: the pages are few, and the sidebar would take width from
    # the chart, which is what staff glance at.
    st.navigation(pages, position="top").run()


if __name__ == "__main__":
    run()
