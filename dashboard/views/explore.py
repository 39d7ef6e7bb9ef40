"""Explore: read-only SQL against the warehouse, with a quick chart and a CSV download.

For analysts who want one more number without leaving the dashboard; anything beyond a quick
look belongs in `buzz sql` or a ClickHouse client.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, queries, ui
from dashboard.queries import QueryFailed, QueryRejected, WarehouseUnavailable

RAN_KEY = "explore_ran_sql"


def result(df: pd.DataFrame) -> None:
    cut = len(df) >= queries.EXPLORE_MAX_ROWS
    st.caption(f"{len(df):,} rows" + (" (cut at that many)" if cut else ""))
    chart = charts.quick_chart(df)
    if chart is not None:
        st.altair_chart(chart, width="stretch", key="explore_chart")
    st.dataframe(df, hide_index=True, width="stretch")
    st.download_button(
        "Download CSV",
        df.to_csv(index=False).encode("utf-8"),
        file_name="buzz-query.csv",
        mime="text/csv",
        key="explore_download",
        icon=":material/download:",
        on_click="ignore",  # downloading must not rerun (and so re-query) the page
    )


def render() -> None:
    conf = ui.settings()
    st.title("Explore")
    st.caption(
        "Read-only SQL on the warehouse: SELECT, WITH, SHOW or DESCRIBE. Tables `buzz.mentions` "
        "and `buzz.dead_letters` keep one row per event after merges, so read them with FINAL. "
        "Ctrl+Enter runs the query."
    )
    with st.form("explore_form", border=False):
        sql = st.text_area(
            "SQL",
            value=queries.EXAMPLE_SQL,
            key="explore_sql",
            height=170,
            label_visibility="collapsed",
        )
        if st.form_submit_button("Run query", key="explore_run", type="primary"):
            st.session_state[RAN_KEY] = sql
    # Until something is run, show the example's answer: an empty page teaches nothing.
    ran = st.session_state.get(RAN_KEY, queries.EXAMPLE_SQL)
    try:
        df = queries.load_explore(conf.warehouse_url, ran)
    except QueryRejected as exc:
        st.warning(str(exc), icon=":material/block:")
        return
    except QueryFailed as exc:
        st.error(f"The warehouse could not run this query: {exc}", icon=":material/error:")
        return
    except WarehouseUnavailable as exc:
        ui.show_unavailable(exc)
    result(df)


if __name__ == "__main__":
    render()
