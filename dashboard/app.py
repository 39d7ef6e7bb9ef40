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

VIEWS = Path(__file__).parent / "views"


def run() -> None:
    st.set_page_config(
        page_title="Campaign buzz",
        page_icon=":material/campaign:",
        layout="wide",
        initial_sidebar_state="collapsed",
    )
    pages = [
        st.Page(VIEWS / "now.py", title="Now", icon=":material/monitoring:", default=True),
        st.Page(VIEWS / "health.py", title="Health", icon=":material/ecg_heart:"),
        st.Page(VIEWS / "explore.py", title="Explore", icon=":material/query_stats:"),
    ]
    # Navigation across the top: the pages are few, and the sidebar would take width from
    # the chart, which is what staff glance at.
    st.navigation(pages, position="top").run()


if __name__ == "__main__":
    run()
