"""The dashboard's Now and Explore pages (and the read-only guard), driven by Streamlit's
AppTest against the real embedded warehouse filled with the known scenario of
``tests/test_dashboard_scenario.py``: each test asserts on what a staffer would read (the
summary sentence, metric values, table rows), not only that the page ran.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import queries
from dashboard.queries import QueryRejected, check_readonly
from pipeline.settings import get_settings
from pipeline.warehouse.client import get_client
from tests.conftest import free_port
from tests.test_dashboard_scenario import (
    ALERTS_TOTAL,
    ATTACK_SENTENCE,
    EXPECTED_STORED,
    KIM_1H,
    MENTIONS_1H,
    MENTIONS_PREVIOUS_HOUR,
    REYES_1H,
    TRANSIT_1H,
    alert_rows,
    seed_warehouse,
)

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
TIMEOUT = 60
PAGES = [None, "alerts", "validators", "conversations", "signups", "places", "explore", "health"]


@pytest.fixture(scope="module")
def filled_warehouse(own_warehouse: str) -> str:
    FILLED_AT.append(datetime.now(UTC))
    seed_warehouse(get_client(url=own_warehouse), FILLED_AT[-1])
    return own_warehouse


# When the seed was written: everything in it is placed relative to that moment.
FILLED_AT: list[datetime] = []


@pytest.fixture
def dashboard_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Clean dashboard caches around a test; the test sets BUZZ_CLICKHOUSE_URL itself.

    The broker is pointed at a closed port, so nothing here depends on a broker someone else
    runs on the default one.
    """
    for name in (
        "BUZZ_CLICKHOUSE_URL",
        "BUZZ_CAMPAIGN_FILE",
        "BUZZ_DASHBOARD_REFRESH_SECONDS",
        "BUZZ_DASHBOARD_AUTH",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BUZZ_KAFKA_URL", f"127.0.0.1:{free_port()}")
    queries.clear_caches()
    get_settings.cache_clear()  # the app reads settings fresh; clear it for anything that doesn't
    yield monkeypatch
    queries.clear_caches()
    get_settings.cache_clear()


def open_page(
    url: str, monkeypatch: pytest.MonkeyPatch, page: str | None = None, **params: Any
) -> AppTest:
    monkeypatch.setenv("BUZZ_CLICKHOUSE_URL", url)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> Any:
    found = [m for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return found[0]


def table_with(at: AppTest, column: str) -> Any:
    found = [df.value for df in at.dataframe if column in df.value.columns]
    assert found, f"no table with {column!r}"
    return found[0]


def chart_specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def attack_buckets(now: datetime) -> int:
    """The attack alerts of the scenario: one episode, however many versions it was written in."""
    return len({r[0] for r in alert_rows(now) if r[1] == "attack"})


# --- Now -----------------------------------------------------------------------------------


def test_now_says_what_is_happening(filled_warehouse: str, dashboard_env: Any) -> None:
    at = open_page(filled_warehouse, dashboard_env)

    assert at.title[0].value == "Buzz right now"
    # The one sentence a newcomer reads first, then what to do.
    summary = at.error[0].value
    assert summary.startswith(f"**{ATTACK_SENTENCE}**")
    assert "mark the alert handled on the Alerts page" in summary

    mentions = metric(at, "Mentions, last 1 h")
    assert mentions.value == str(MENTIONS_1H)
    assert mentions.delta == f"+{MENTIONS_1H - MENTIONS_PREVIOUS_HOUR} (+500%)"
    assert metric(at, "Share of voice, Jordan Kim").value == "70%"
    assert metric(at, "Negative, Jordan Kim").value == "25%"
    opened = metric(at, "Open alerts, 24 h")
    # Unhandled: the attack, coordinated posting, the Reyes spike, a question, a validator, a
    # surge (the golden thread was handled).
    assert opened.value == str(ALERTS_TOTAL - 1)
    assert opened.delta == f"{attack_buckets(FILLED_AT[-1])} critical"

    per_subject = table_with(at, "negative_share")
    assert dict(zip(per_subject["name"], per_subject["mentions"].astype(int), strict=True)) == {
        "Jordan Kim": KIM_1H,
        "Dana Reyes": REYES_1H,
        "Riverline transit": TRANSIT_1H,
        "Affordable housing": 0,
    }

    # The buzz chart marks spikes and attacks; share of voice is its own bar chart.
    specs = json.dumps(chart_specs(at))
    assert "Mentions per minute" in specs and "datum.attack == 1" in specs
    assert "Share of voice" in specs
    # Each spike's reasons are one click away, the attack's already open.
    labels = [e.label for e in at.expander]
    assert any("Attack on Jordan Kim · 5× normal volume, 80% negative" in x for x in labels)
    assert any("Spike: Dana Reyes · 8× normal volume, 12% negative" in x for x in labels)
    text = markdown_text(at)
    assert "\\#kimscandal (30 posts, 0 before)" in text
    assert "“debate” (7 posts, 0 before)" in text
    assert "[open](https://x.example/kimfan0/status/83)" in text
    # Newest alerts, newest first, with subject names rather than ids.
    assert "Possible attack on Jordan Kim: 10 a minute vs 2.0 usual" in text
    newest = table_with(at, "text")
    assert len(newest) == 20 and newest["occurred_at"].is_monotonic_decreasing
    assert at.query_params["window"] == "1h"


def test_now_filters_come_from_the_url_and_are_shared(
    filled_warehouse: str, dashboard_env: Any
) -> None:
    at = open_page(filled_warehouse, dashboard_env, window="15m", subject=["reyes"])
    # Dana Reyes, one a minute from 2 to 14 minutes ago: 13, or 12 if a minute has ticked
    # over since the module seeded the warehouse.
    assert metric(at, "Mentions, last 15 min").value in ("13", "12")
    assert list(table_with(at, "negative_share")["name"]) == ["Dana Reyes"]
    # The summary still speaks for the whole campaign.
    assert at.error[0].value.startswith(f"**{ATTACK_SENTENCE}**")

    at.segmented_control(key="now_window").set_value("6h").run()
    assert at.query_params["window"] == "6h"
    assert "Mentions per 5 minutes" in json.dumps(chart_specs(at))
    # Another page opens on the same window.
    at.switch_page("views/signups.py").run()
    assert metric(at, "Signups, last 6 h").value == "11"
    assert at.query_params["window"] == "6h"


def test_now_on_an_empty_warehouse_says_how_to_start(
    own_warehouse: str, dashboard_env: Any
) -> None:
    client = get_client(url=own_warehouse)
    client.command("TRUNCATE TABLE IF EXISTS buzz.mentions")
    try:
        at = open_page(own_warehouse, dashboard_env)
        assert "No mentions yet" in at.info[0].value
        assert "buzz up --demo" in at.info[0].value
        assert not at.error and not at.metric
    finally:
        seed_warehouse(client, FILLED_AT[-1])


# --- Explore -------------------------------------------------------------------------------


def run_sql(at: AppTest, sql: str) -> AppTest:
    at.text_area(key="explore_sql").input(sql)
    return at.button(key="explore_run").click().run()


def test_explore_runs_a_query_and_offers_csv(filled_warehouse: str, dashboard_env: Any) -> None:
    at = open_page(filled_warehouse, dashboard_env, "explore")
    assert at.dataframe, "the example query's answer is shown before anything is run"

    run_sql(at, "SELECT count() AS n FROM buzz.mentions FINAL")
    assert not at.exception
    assert int(at.dataframe[0].value["n"].iloc[0]) == EXPECTED_STORED
    assert not chart_specs(at)  # nothing to chart in one number

    run_sql(
        at,
        "SELECT toStartOfMinute(occurred_at) AS minute, count() AS mentions "
        "FROM buzz.mentions FINAL WHERE occurred_at >= now() - INTERVAL 1 HOUR "
        "GROUP BY minute ORDER BY minute;",
    )
    assert len(at.dataframe[0].value) == 45  # minutes 1 to 45 ago hold mentions
    assert len(chart_specs(at)) == 1
    assert at.get("download_button")


@pytest.mark.parametrize(
    "sql",
    ["DROP TABLE buzz.mentions", "INSERT INTO buzz.mentions (event_id) VALUES ('x')"],
)
def test_explore_refuses_writes(filled_warehouse: str, dashboard_env: Any, sql: str) -> None:
    at = open_page(filled_warehouse, dashboard_env, "explore")
    run_sql(at, sql)
    assert not at.exception
    assert "is not allowed" in at.warning[0].value
    count = get_client(url=filled_warehouse).command("SELECT count() FROM buzz.mentions FINAL")
    assert int(str(count)) == EXPECTED_STORED


def test_explore_explains_a_bad_query(filled_warehouse: str, dashboard_env: Any) -> None:
    at = open_page(filled_warehouse, dashboard_env, "explore")
    run_sql(at, "SELECT no_such_column FROM buzz.mentions")
    assert not at.exception
    assert at.error[0].value.startswith("The warehouse could not run this query:")
    assert "no_such_column" in at.error[0].value


# --- Warehouse down ------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_unreachable_warehouse_is_explained(
    dashboard_env: Any, page: str | None, unused_port: int
) -> None:
    url = f"http://127.0.0.1:{unused_port}"
    at = open_page(url, dashboard_env, page)
    assert at.error[0].value == f"The warehouse at {url} is not answering."
    assert "buzz up" in at.info[0].value
    assert not at.exception


@pytest.fixture
def unused_port() -> int:
    return free_port()


# --- The query module on its own -----------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO buzz.mentions (event_id) VALUES ('x')",
        "DROP TABLE buzz.mentions",
        "  -- looks harmless\n drop database buzz",
        "SELECT 1; DROP TABLE buzz.mentions",
        "/* SELECT */ ALTER TABLE buzz.mentions DELETE WHERE 1",
        "SELECT * FROM buzz.mentions INTO OUTFILE 'stolen.csv'",
        "SELECT $$'$$; INSERT INTO FUNCTION file('/tmp/x.csv') VALUES (1)",
        "SELECT 'unterminated",
        "",
    ],
)
def test_guard_rejects_anything_but_one_read(sql: str) -> None:
    with pytest.raises(QueryRejected):
        check_readonly(sql)


@pytest.mark.parametrize(
    ("sql", "statement"),
    [
        ("select 1", "select 1"),
        ("SELECT ';' AS semi, 'DROP TABLE x' AS s;", "SELECT ';' AS semi, 'DROP TABLE x' AS s"),
        (
            "WITH t AS (SELECT 1 AS x) SELECT x FROM t;\n-- done",
            "WITH t AS (SELECT 1 AS x) SELECT x FROM t",
        ),
        ("SHOW TABLES FROM buzz", "SHOW TABLES FROM buzz"),
        ("SELECT $$;$$ AS semi;", "SELECT $$;$$ AS semi"),
        ("DESCRIBE TABLE buzz.mentions", "DESCRIBE TABLE buzz.mentions"),
    ],
)
def test_guard_passes_reads(sql: str, statement: str) -> None:
    assert check_readonly(sql) == statement


def test_explore_queries_are_sent_readonly() -> None:
    class Recorder:
        def query_df(self, sql: str, settings: dict[str, Any]) -> Any:
            import pandas as pd

            self.sql, self.settings = sql, settings
            return pd.DataFrame({"x": range(5)})

    client = Recorder()
    df = queries.run_readonly(client, "SELECT x FROM t;", max_rows=3)  # type: ignore[arg-type]
    assert client.settings["readonly"] == 2
    assert client.sql == "SELECT x FROM t"
    assert len(df) == 3


def test_launch_refuses_a_taken_port(capsys: pytest.CaptureFixture[str]) -> None:
    from dashboard.launch import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(port=port) == 1
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err
